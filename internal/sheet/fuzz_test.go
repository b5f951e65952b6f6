package sheet

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// fuzzSecret is the value of $FUZZ_KEY: it must never show in a problem unless the input
// itself holds it (in a cell that may be quoted).
const fuzzSecret = "Zq9-fuzz-secret"

func fuzzEnv(name string) (string, bool) {
	switch name {
	case "FUZZ_KEY":
		return fuzzSecret, true
	case "FUZZ_EMPTY":
		return "", true
	}
	return "", false
}

// FuzzRead checks that Read never panics or fails on content, and that what it returns keeps
// its promises: problems have the file and a line, in line order, capped; rows are valid.
// Seeds are in testdata/fuzz/FuzzRead.
func FuzzRead(f *testing.F) {
	f.Add([]byte("integration_id,option_key,value,permission\na,k,v,lock-hide\n"))
	f.Add([]byte("\ufeffIntegration Name,Option-Key,value,admin_only,user_can_edit\r\nVT,k,${FUZZ_KEY},yes,no\r\n"))
	f.Add([]byte("integration_id,option_key,value\na,k,\"x\ny\"\na,k,\"x\ny\"\na,k,json:[1,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, ps, err := Read("fuzz.csv", strings.NewReader(string(data)), fuzzEnv)
		if err != nil {
			t.Fatalf("error on content: %v", err)
		}
		if len(ps) > MaxProblems+1 {
			t.Fatalf("%d problems", len(ps))
		}
		fatal := false
		for i, p := range ps {
			if p.File != "fuzz.csv" || p.Line < 0 || p.Msg == "" {
				t.Fatalf("bad problem %+v", p)
			}
			if i > 0 && i < MaxProblems && p.Line < ps[i-1].Line {
				t.Fatalf("problems out of line order: %v then %v", ps[i-1], p)
			}
			if strings.Contains(p.Msg, fuzzSecret) && !strings.Contains(string(data), fuzzSecret) {
				t.Fatalf("problem leaks a value: %v", p)
			}
			fatal = fatal || !p.Warning
		}
		if !fatal && len(rows) == 0 {
			t.Fatalf("no rows and no problem says why")
		}
		for i, r := range rows {
			if !validRow(r) {
				t.Fatalf("invalid row %s", showRow(r))
			}
			if i > 0 && r.Line <= rows[i-1].Line {
				t.Fatalf("rows out of order: %d then %d", rows[i-1].Line, r.Line)
			}
			checkValue(t, r)
		}
	})
}

func checkValue(t *testing.T, r bulk.Row) {
	t.Helper()
	v := r.Value
	switch {
	case v.Form == bulk.ValueKeep:
		if r.Cell != "" || v.Text != "" || v.Env != "" {
			t.Fatalf("keep with text: %s", showRow(r))
		}
	case v.Env != "":
		if r.Cell != "${"+v.Env+"}" || v.Form != bulk.ValueLiteral {
			t.Fatalf("env value: %s", showRow(r))
		}
		if want, _ := fuzzEnv(v.Env); v.Text != want || want == "" {
			t.Fatalf("env value: %s", showRow(r))
		}
	case v.Form == bulk.ValueJSON:
		if !json.Valid([]byte(v.Text)) || r.Cell != "json:"+v.Text {
			t.Fatalf("json value: %s", showRow(r))
		}
	case v.Form == bulk.ValueLiteral:
		if v.Text != r.Cell || v.Text == "" {
			t.Fatalf("literal value: %s", showRow(r))
		}
	default:
		t.Fatalf("form %d: %s", v.Form, showRow(r))
	}
}
