// Package testkit holds what the tests of several packages share: a polarity-fake served on
// 127.0.0.1 for one test, a buffer that is safe to read while other goroutines write it,
// golden files with -update, and hostile secret values with the search for them in outputs
// and files.
//
// It imports only the standard library, so that the tests inside every package can use it,
// internal/fake's and internal/secret's included (a helper that imported the fake could not
// serve the fake's own tests). Callers build the fake; StartFake serves it.
package testkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Buffer is a bytes.Buffer that a test may read while other goroutines write to it: a
// server's log, a progress line, a child process's output.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Fake is a handler that may hold requests (a hang, added latency, a held PATCH) until it is
// closed, as polarity-fake's *fake.Server does.
type Fake interface {
	http.Handler
	Close()
}

// ServeFake serves f on a fresh port of 127.0.0.1, behind wrap when wrap is not nil (a proxy
// or a hostile server in front of the fake). stop closes f first, which releases the requests
// it holds (httptest.Server.Close waits for them), then cuts the clients' connections and
// closes the server.
func ServeFake(f Fake, wrap func(http.Handler) http.Handler) (srv *httptest.Server, stop func(), err error) {
	if f == nil {
		return nil, nil, errors.New("testkit: no fake to serve")
	}
	var h http.Handler = f
	if wrap != nil {
		h = wrap(f)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv = httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	stop = func() {
		f.Close()
		srv.CloseClientConnections()
		srv.Close()
	}
	return srv, stop, nil
}

// StartFake is ServeFake for one test: the server stops when the test ends, and a failure to
// listen fails the test.
func StartFake(t testing.TB, f Fake, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	srv, stop, err := ServeFake(f, wrap)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return srv
}

// SameJSON reports whether a and b are JSON texts of the same value, whatever their spacing
// and key order. Invalid JSON is the same as nothing.
func SameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
