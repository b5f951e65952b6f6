package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// TestConsoleJSON: with --log-format json every line written to stderr is one JSON object:
// problems with their fields, errors with their hint, progress lines with their counts, slog
// lines as they are, and any other text as a notice, warning, error or hint by its prefix.
func TestConsoleJSON(t *testing.T) {
	var b bytes.Buffer
	c := newConsole(&b, true)
	c.problem(bulk.Problem{File: "f.csv", Line: 3, Column: "permission", Msg: `unknown permission "lock"`})
	c.problem(bulk.Problem{File: "f.csv", Line: 4, Msg: "duplicate of line 2: merged", Warning: true})
	c.problems(bulk.Problems{{File: "f.csv", Line: 5, Msg: "x"}})
	c.fail(errors.New("no server URL"), "pass --url")
	c.progressLine("wave 1/2", 2, 10, 1, 0.4, "20s", "")
	c.Write([]byte(`{"time":"t","level":"INFO","msg":"read input"}` + "\n"))
	c.Write([]byte("plan written to plan.json\nhint: apply it\npolarity-bulk: warning: careful\npolarity-bulk: 2 failed\n"))
	c.Write([]byte("Type yes to apply: ")) // a prompt, without a line end
	c.Write([]byte("\n"))
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 12 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	var kinds []string
	for _, l := range lines {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		k, _ := e["kind"].(string)
		kinds = append(kinds, k+"/"+e["level"].(string))
	}
	want := "problem/ERROR warning/WARN problem/ERROR error/ERROR error/ERROR progress/INFO /INFO notice/INFO hint/INFO warning/WARN error/ERROR notice/INFO"
	if got := strings.Join(kinds[:12], " "); got != want {
		t.Errorf("kinds %s\nwant  %s", got, want)
	}
	var first struct {
		File, Column, Msg string
		Line              int
	}
	json.Unmarshal([]byte(lines[0]), &first)
	if first.File != "f.csv" || first.Line != 3 || first.Column != "permission" || first.Msg != `unknown permission "lock"` {
		t.Errorf("problem fields %+v", first)
	}
	if !strings.Contains(lines[4], `"hint":"pass --url"`) || !strings.Contains(lines[5], `"done":2`) || !strings.Contains(lines[5], `"wave":"wave 1/2"`) {
		t.Errorf("error or progress fields:\n%s\n%s", lines[4], lines[5])
	}
}

// TestConsoleText: without JSON the console writes what it is given, and problems as
// FILE:LINE: column: message.
func TestConsoleText(t *testing.T) {
	var b bytes.Buffer
	c := newConsole(&b, false)
	c.problems(bulk.Problems{{File: "f.csv", Line: 3, Column: "permission", Msg: "bad"}})
	c.fail(errors.New("boom"), "do this")
	want := "f.csv:3: permission: bad\npolarity-bulk: 1 problem in the input; nothing was sent to the server\npolarity-bulk: boom\nhint: do this\n"
	if b.String() != want {
		t.Errorf("got %q\nwant %q", b.String(), want)
	}
}

func TestJSONLogRequested(t *testing.T) {
	for args, want := range map[string]bool{
		"plan f.csv --log-format json": true,
		"plan --log-format=json f.csv": true,
		"plan -log-format json":        true,
		"plan --log-format text":       false,
		"plan -- --log-format json":    false,
		"plan --log-format":            false,
	} {
		if got := jsonLogRequested(strings.Fields(args)); got != want {
			t.Errorf("%q: %v, want %v", args, got, want)
		}
	}
}
