package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// console is stderr, the stream for people. In text mode it passes writes through. With
// --log-format json every line written to it becomes one JSON object, so that CI can parse
// stderr whole: lines that already are JSON objects (the slog JSON handler's) pass through;
// problems, errors, hints and progress lines are written with their own fields by the methods
// below; any other line (a notice such as "plan written to plan.json", a multi-line message
// of another writer) becomes {"time","level","kind","msg"}, its kind and level read from the
// prefixes the text form uses ("hint: ", "polarity-bulk: warning: ", "polarity-bulk: ",
// "progress: ").
type console struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
	now  func() time.Time
}

// newConsole wraps w; asJSON selects the JSON form.
func newConsole(w io.Writer, asJSON bool) *console {
	return &console{w: w, json: asJSON, now: time.Now}
}

// consoleOf returns the console stdio writes to people through: the one Main installed, or a
// text one over stdio.Err for callers that built their own Stdio.
func consoleOf(stdio Stdio) *console {
	if c, ok := stdio.Err.(*console); ok {
		return c
	}
	return newConsole(stdio.Err, false)
}

// jsonLogRequested reports whether the command line asks for --log-format json, so that even
// the errors of parsing the rest of it come out as JSON.
func jsonLogRequested(args []string) bool {
	for i, a := range args {
		switch a {
		case "--":
			return false
		case "--log-format", "-log-format":
			if i+1 < len(args) && args[i+1] == "json" {
				return true
			}
		case "--log-format=json", "-log-format=json":
			return true
		}
	}
	return false
}

func (c *console) Write(p []byte) (int, error) {
	if !c.json {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.w.Write(p)
	}
	// A write that does not end a line (the confirmation prompt) is a line of its own: the
	// reader must see it before it answers.
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.TrimSpace(line) == "":
		case isJSONObject(line):
			c.writeLine([]byte(line))
		default:
			c.emit(classify(line))
		}
	}
	return len(p), nil
}

// entry is one JSON line: the slog JSON handler's time, level and msg, then the fields.
type entry struct {
	Time   string `json:"time"`
	Level  string `json:"level"`
	Kind   string `json:"kind"`
	Msg    string `json:"msg"`
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column string `json:"column,omitempty"`
	Hint   string `json:"hint,omitempty"`
	// Progress lines.
	Wave   string   `json:"wave,omitempty"`
	Done   *int     `json:"done,omitempty"`
	Total  *int     `json:"total,omitempty"`
	Failed *int     `json:"failed,omitempty"`
	Rate   *float64 `json:"rate,omitempty"`
	ETA    string   `json:"eta,omitempty"`
	Status string   `json:"status,omitempty"` // what the run waits for
	// Problems is the count in the closing "N problems in the input" line.
	Problems *int `json:"problems,omitempty"`
}

// classify reads a text line's kind and level from the prefixes the text form uses.
func classify(line string) entry {
	e := entry{Level: "INFO", Kind: "notice", Msg: line}
	switch {
	case strings.HasPrefix(line, "hint: "):
		e.Kind, e.Msg = "hint", strings.TrimPrefix(line, "hint: ")
	case strings.HasPrefix(line, "polarity-bulk: rate-bound: "):
		// A notice, not a failure: the run went well, slower than it could have.
		e.Kind, e.Msg = "notice", strings.TrimPrefix(line, "polarity-bulk: ")
	case strings.HasPrefix(line, "polarity-bulk: warning: "):
		e.Level, e.Kind, e.Msg = "WARN", "warning", strings.TrimPrefix(line, "polarity-bulk: warning: ")
	case strings.HasPrefix(line, "polarity-bulk: "):
		e.Level, e.Kind, e.Msg = "ERROR", "error", strings.TrimPrefix(line, "polarity-bulk: ")
	case strings.HasPrefix(line, "progress: "):
		e.Kind = "progress"
	}
	return e
}

func isJSONObject(line string) bool {
	return strings.HasPrefix(line, "{") && json.Valid([]byte(line))
}

func (c *console) emit(e entry) {
	e.Time = c.now().Format(time.RFC3339Nano)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(e) // an entry always encodes
	c.writeLine(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

func (c *console) writeLine(line []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _ = c.w.Write(append(line, '\n')) // c.w is a peopleStream: it never fails
}

// problem writes one problem of the input: FILE:LINE: column: message, or an object with
// file, line, column and msg.
func (c *console) problem(p bulk.Problem) {
	if !c.json {
		fmt.Fprintln(c, p.Error())
		return
	}
	e := entry{Level: "ERROR", Kind: "problem", Msg: p.Msg, File: p.File, Line: p.Line, Column: p.Column}
	if p.Warning {
		e.Level, e.Kind = "WARN", "warning"
	}
	c.emit(e)
}

// problems writes every problem of the input, then the closing count.
func (c *console) problems(ps bulk.Problems) {
	for _, p := range ps {
		c.problem(p)
	}
	n := ps.Count()
	msg := fmt.Sprintf("%d %s in the input; nothing was sent to the server", n, bulk.Plural(n, "problem", "problems"))
	if !c.json {
		fmt.Fprintf(c, "polarity-bulk: %s\n", msg)
		return
	}
	c.emit(entry{Level: "ERROR", Kind: "error", Msg: msg, Problems: &n})
}

// fail writes a command's error and the hint that goes with it.
func (c *console) fail(err error, hint string) {
	if !c.json {
		fmt.Fprintf(c, "polarity-bulk: %v\n", err)
		if hint != "" {
			fmt.Fprintf(c, "hint: %s\n", hint)
		}
		return
	}
	c.emit(entry{Level: "ERROR", Kind: "error", Msg: err.Error(), Hint: hint})
}

// progressLine writes apply's progress line.
// wave is "wave 2/4" in a staged run, else empty. rate is negative while it is not known
// yet (no rate is made up from the first instants). status says what the run waits for
// ("waiting 12s: Retry-After", "retrying X 2/5"), if anything.
func (c *console) progressLine(wave string, done, total, failed int, rate float64, eta, status string) {
	prefix := ""
	if wave != "" {
		prefix = wave + ": "
	}
	rateText, ratePtr := "rate not known yet", (*float64)(nil)
	if rate >= 0 {
		rateText, ratePtr = fmt.Sprintf("%.1f/s", rate), &rate
	}
	msg := fmt.Sprintf("progress: %s%d/%d integrations done, %d failed, %s, ETA %s", prefix, done, total, failed, rateText, eta)
	if status != "" {
		msg += "; " + status
	}
	if !c.json {
		fmt.Fprintln(c, msg)
		return
	}
	c.emit(entry{Level: "INFO", Kind: "progress", Msg: msg, Wave: wave, Done: &done, Total: &total, Failed: &failed, Rate: ratePtr, ETA: eta, Status: status})
}
