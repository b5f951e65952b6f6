package cli

import (
	"io"
	"sync"
)

// peopleStream is a stream written for people (stderr; apply's stdout) that outlives its
// reader. Once a write fails, because the pipe was closed (`apply ... 2>&1 | head -1`) or the
// terminal hung up, it stops writing and reports success from then on, the failed write
// included: a run must not stop half-way, with PATCHes sent and no report, because nobody
// reads its messages any more. Data streams (plan --out -, export's stdout) are not wrapped:
// their reader must learn that output was lost.
type peopleStream struct {
	mu   sync.Mutex
	w    io.Writer
	dead bool
}

// forPeople wraps w, once.
func forPeople(w io.Writer) io.Writer {
	if _, ok := w.(*peopleStream); ok || w == nil {
		return w
	}
	return &peopleStream{w: w}
}

func (s *peopleStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dead {
		if _, err := s.w.Write(p); err != nil {
			s.dead = true
		}
	}
	return len(p), nil
}

// underlying returns the stream a console or a peopleStream wraps, for terminal checks.
func underlying(s any) any {
	if c, ok := s.(*console); ok {
		s = c.w
	}
	if p, ok := s.(*peopleStream); ok {
		return p.w
	}
	return s
}
