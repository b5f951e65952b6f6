package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
)

// server is a polarity-fake on 127.0.0.1 in this process, behind a meter.
type server struct {
	fake   *fake.Server
	ts     *httptest.Server
	meter  *meter
	url    string
	caFile string // the test certificate, with --tls
}

// startServer serves fix with fc on a loopback port. With cfg.tls it serves HTTPS and writes
// the certificate to a file children can pass as --ca-cert.
func startServer(cfg config, fix *fake.Fixture, fc fake.Config) (*server, error) {
	return startServerAt(cfg, fix, fc, "")
}

// startServerAt is startServer on the given address ("": any free loopback port), so that a
// second server can take the place of a first one under the same origin.
func startServerAt(cfg config, fix *fake.Fixture, fc fake.Config, addr string) (*server, error) {
	fs, err := fake.New(fix, fc)
	if err != nil {
		return nil, err
	}
	m := &meter{h: fs}
	ts := httptest.NewUnstartedServer(m)
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen again on %s: %w", addr, err)
		}
		ts.Listener.Close()
		ts.Listener = ln
	}
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			m.conns.Add(1)
		}
	}
	s := &server{fake: fs, ts: ts, meter: m}
	if cfg.tls {
		ts.StartTLS()
		s.caFile = filepath.Join(cfg.tmp, "ca.pem")
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
		if err := os.WriteFile(s.caFile, pemBytes, 0o644); err != nil {
			ts.Close()
			return nil, err
		}
	} else {
		ts.Start()
	}
	s.url = ts.URL
	return s, nil
}

func (s *server) close() {
	s.fake.Close() // releases latency waits so that Close does not wait for them
	s.ts.Close()
}

// connArgs are the flags a child needs to reach the server.
func (s *server) connArgs() []string {
	if s.caFile != "" {
		return []string{"--ca-cert", s.caFile}
	}
	return nil
}

// meter records, around the fake, when the first PATCH arrived and the last one was answered,
// and how many connections clients opened.
type meter struct {
	h       http.Handler
	conns   atomic.Int64
	mu      sync.Mutex
	first   time.Time
	last    time.Time
	patches int
}

func (m *meter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	m.h.ServeHTTP(w, r)
	if r.Method != http.MethodPatch {
		return
	}
	end := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.first.IsZero() || start.Before(m.first) {
		m.first = start
	}
	if end.After(m.last) {
		m.last = end
	}
	m.patches++
}

// patchSpan is the time from the first PATCH's arrival to the last PATCH's answer.
func (m *meter) patchSpan() (time.Duration, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last.Sub(m.first), m.patches
}

// child is one finished child process.
type child struct {
	wall   time.Duration
	cpu    time.Duration // user + system, from rusage
	maxRSS int64         // bytes
	stdout []byte
}

// runChild runs bin with args in a clean environment (PATH, HOME, TMPDIR and env) and fails
// unless it exits with one of the codes in ok (default 0).
//
// bin is started by a fresh copy of this program (the measure mode), not by this process:
// on Linux a child's peak RSS counts the memory of the process that started it (the kernel
// carries the parent's high-water mark over the fork and exec), and this process holds the
// fake servers. The measurer is small, so the figures are the child's own.
func runChild(ctx context.Context, bin string, args, env []string, ok ...int) (child, error) {
	if len(ok) == 0 {
		ok = []int{0}
	}
	me, err := self()
	if err != nil {
		return child{}, err
	}
	resultFile, err := os.CreateTemp("", "polarity-bench-measure-*.json")
	if err != nil {
		return child{}, err
	}
	resultFile.Close()
	defer os.Remove(resultFile.Name())

	cmd := exec.CommandContext(ctx, me, append([]string{modeMeasure, resultFile.Name(), bin}, args...)...)
	cmd.Env = []string{"NO_COLOR=1"}
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, set := os.LookupEnv(k); set {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout bytes.Buffer
	stderr := &tail{max: 4 << 10}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return child{}, fmt.Errorf("%s: %w", filepath.Base(bin), err)
	}
	var m measured
	b, err := os.ReadFile(resultFile.Name())
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		return child{}, fmt.Errorf("%s %v: no measurement (%v):\n%s", filepath.Base(bin), args, err, stderr.String())
	}
	c := child{wall: m.Wall, cpu: m.CPU, maxRSS: m.MaxRSS, stdout: stdout.Bytes()}
	for _, o := range ok {
		if m.Exit == o {
			return c, nil
		}
	}
	return c, fmt.Errorf("%s %v: exit %d:\n%s", filepath.Base(bin), args, m.Exit, stderr.String())
}

// measured is what the measure mode reports about the program it ran.
type measured struct {
	Wall   time.Duration `json:"wall"`
	CPU    time.Duration `json:"cpu"`
	MaxRSS int64         `json:"max_rss"`
	Exit   int           `json:"exit"`
}

// measureChild runs a program with this process's environment and standard streams, and writes
// its wall time, CPU time, peak RSS and exit code as JSON to a file.
// Usage: polarity-bench internal-measure RESULT-FILE PROGRAM [ARG...]
func measureChild(ctx context.Context, args []string, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprintln(stderr, "usage: polarity-bench "+modeMeasure+" RESULT-FILE PROGRAM [ARG...]")
		return 2
	}
	cmd := exec.CommandContext(ctx, args[1], args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(stderr, err)
		return 1
	}
	m := measured{Wall: wall, Exit: cmd.ProcessState.ExitCode()}
	m.CPU, m.MaxRSS = usageOf(cmd.ProcessState)
	b, _ := json.Marshal(m)
	if err := os.WriteFile(args[0], b, 0o600); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// tail keeps the last max bytes written to it.
type tail struct {
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.buf) }

var _ io.Writer = (*tail)(nil)

// self is this binary, re-run for the baselines.
func self() (string, error) { return os.Executable() }
