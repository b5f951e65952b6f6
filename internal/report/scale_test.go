package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

// scaleID is a synthetic integration id as long as real ones.
func scaleID(i int) string {
	return fmt.Sprintf("synthetic_%05d_node_18_%010x_%d", i, uint64(i)*0x9e3779b97f, 1725000000+i)
}

// scalePlan is the rollout of issue 16: n integrations with the same two changes each (a new
// API key from ${VT_KEY}, locked; maxResults to 100 from one of two old values), one of them
// not running; then two integrations with a change of their own, and five already as asked.
func scalePlan(n int) bulk.Plan {
	var p bulk.Plan
	line := 2
	next := func() int { line++; return line - 1 }
	target := func(i int, status string, opts ...opt) {
		t := bulk.Target{ID: scaleID(i), Name: fmt.Sprintf("Synthetic %05d", i), Status: status, Running: status == "running",
			Fingerprint: fmt.Sprintf("sha256:%064x", i)}
		for _, o := range opts {
			t.Changes = append(t.Changes, o.change())
		}
		p.Targets = append(p.Targets, t)
	}
	for i := 1; i <= n; i++ {
		status := "running"
		if i == 7 {
			status = "stopped"
		}
		old := []int{10, 50}[i%2]
		target(i, status,
			opt{line: next(), key: "apiKey", kind: bulk.KindPassword, cell: "${VT_KEY}", env: "VT_KEY", envVal: "S3CRET-scale-Vt1", want: "S3CRET-scale-Vt1",
				before: bulk.UnreadableText, after: bulk.SensitiveText, from: userProvides, to: flags(lockHide), perm: "lock-hide"},
			opt{line: next(), key: "maxResults", kind: bulk.KindNumber, cell: "100", current: old, want: 100, before: fmt.Sprint(old), after: "100", from: lockHide})
	}
	target(n+1, "running", opt{line: next(), key: "maxResults", kind: bulk.KindNumber, cell: "5", current: 10, want: 5, before: "10", after: "5", from: lockHide})
	target(n+2, "running", opt{line: next(), key: "url", kind: bulk.KindText, cell: "https://vt.example", current: "https://old.example", want: "https://vt.example",
		before: `"https://old.example"`, after: `"https://vt.example"`, from: lockHide})
	for i := n + 3; i <= n+7; i++ {
		target(i, "running", opt{line: next(), key: "maxResults", kind: bulk.KindNumber, cell: "100", current: 100, want: 100, before: "100", after: "100", from: lockHide})
	}
	return p
}

// TestPlanAtScale: the plan of 300 integrations with two identical changes each fits on one
// screen by default (issue 16), and still says every change and every integration it skips.
func TestPlanAtScale(t *testing.T) {
	f := NewPlanFile(planMeta(), scalePlan(300))
	out := render(t, func(w io.Writer) error { return PlanText(w, f, TextOptions{}) })
	testkit.Golden(t, filepath.Join("testdata", "plan-300.txt"), []byte(out))
	if n := strings.Count(out, "\n"); n > 40 {
		t.Errorf("the plan of 300 integrations takes %d lines, want at most 40:\n%s", n, out)
	}
	for _, want := range []string{
		"Plan: 302 integrations to update, 5 unchanged; 602 options to update, 5 unchanged.",
		"~ the same 2 changes on 300 integrations",
		"~ apiKey      (sensitive) will be set (current value unreadable); permission user-provides → lock-hide  [300 lines from 2 to 600]",
		"~ maxResults  10 or 50 → 100  [300 lines from 3 to 601]",
		"Synthetic 00007 (not running)",
		"… and 2", " more (--expand lists each)",
		"~ " + scaleID(301) + " (Synthetic 00301)", "~ " + scaleID(302) + " (Synthetic 00302)",
		"= 5 integrations with nothing to change, not listed (--show-unchanged lists them)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan lacks %q:\n%s", want, out)
		}
	}

	// --expand gives every integration its block, as before grouping; --show-unchanged lists
	// the five already as asked.
	out = render(t, func(w io.Writer) error { return PlanText(w, f, TextOptions{Expand: true, ShowUnchanged: true}) })
	for i := 1; i <= 307; i++ {
		head := "~ " + scaleID(i) + " (Synthetic " + fmt.Sprintf("%05d", i) + ")"
		if i > 302 {
			head = "= " + scaleID(i) + " (Synthetic " + fmt.Sprintf("%05d", i) + "): 1 option unchanged"
		}
		if strings.Count(out, head) != 1 {
			t.Fatalf("--expand shows %q %d times, want once", head, strings.Count(out, head))
		}
	}
	if strings.Contains(out, "the same") {
		t.Error("--expand still groups")
	}
}

// TestPlanMarkdownAtScale: plan.md of 1,000 such integrations fits a pull-request comment and
// still names every change, grouped, with every integration listed.
func TestPlanMarkdownAtScale(t *testing.T) {
	f := NewPlanFile(planMeta(), scalePlan(1000))
	out := render(t, func(w io.Writer) error { return PlanMarkdown(w, f, false) })
	testkit.Golden(t, filepath.Join("testdata", "plan-1000.md"), []byte(out))
	if len(out) >= 60000 {
		t.Errorf("plan.md of 1,000 integrations is %d bytes, want under 60 kB", len(out))
	}
	for _, want := range []string{
		"| **1000 integrations**: Synthetic 00001, Synthetic 00002, Synthetic 00003 and 997 more | `apiKey` | (sensitive) will be set (current value unreadable); permission user-provides → lock-hide | 1000 lines from 2 to 2000 |",
		"|  | `maxResults` | `10` or `50` → `100` | 1000 lines from 3 to 2001 |",
		"`maxResults` | `10` → `5` |", "`url` | `\"https://old.example\"` → `\"https://vt.example\"` |",
		"<details><summary>The 1000 integrations of `apiKey`, `maxResults`</summary>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan.md lacks %q", want)
		}
	}
	for i := 1; i <= 1000; i++ {
		if !strings.Contains(out, fmt.Sprintf("Synthetic %05d", i)) {
			t.Fatalf("plan.md does not list integration %d", i)
		}
	}
	if strings.Contains(out, "cut to fit") {
		t.Error("plan.md of 1,000 integrations was cut")
	}
}

// TestSameChange: which updates on three integrations are "the same change", shown once. What
// an update leaves alone (the value of a permission-only change, the permission of a value
// change) does not count; a masked value is the same only from the same ${NAME} or line.
func TestSameChange(t *testing.T) {
	upd := func(line int, o PlanOption) PlanOption {
		o.Line, o.Key, o.Action = line, "apiKey", string(bulk.ActionUpdate)
		return o
	}
	perm := func(line int, before, permBefore string) PlanOption {
		return upd(line, PlanOption{PermissionChanges: true, Before: before, After: before, PermissionBefore: permBefore, PermissionAfter: "lock-hide"})
	}
	val := func(line int, after, permKept string) PlanOption {
		return upd(line, PlanOption{ValueChanges: true, Before: "1", After: after, PermissionBefore: permKept, PermissionAfter: permKept})
	}
	secret := func(line int, source string) PlanOption {
		return upd(line, PlanOption{ValueChanges: true, Sensitive: true, Before: bulk.SensitiveText, After: bulk.SensitiveText, ValueSource: source,
			PermissionBefore: "user-provides", PermissionAfter: "user-provides"})
	}
	for _, tc := range []struct {
		name    string
		opts    [3]PlanOption
		grouped bool
	}{
		{"permission only, values differ", [3]PlanOption{perm(2, `"a"`, "user-provides"), perm(3, `"b"`, "lock-show"), perm(4, `"c"`, "user-provides")}, true},
		{"value, permissions kept differ", [3]PlanOption{val(2, "9", "user-provides"), val(3, "9", "lock-hide"), val(4, "9", "lock-show")}, true},
		{"value, one differs", [3]PlanOption{val(2, "9", "user-provides"), val(3, "8", "user-provides"), val(4, "9", "user-provides")}, false},
		{"secret from one ${NAME}", [3]PlanOption{secret(2, "${KEY}"), secret(3, "${KEY}"), secret(4, "${KEY}")}, true},
		{"secrets from two ${NAME}s", [3]PlanOption{secret(2, "${KEY}"), secret(3, "${OTHER}"), secret(4, "${KEY}")}, false},
		{"literal secrets on their own lines", [3]PlanOption{secret(2, "line 2"), secret(3, "line 3"), secret(4, "line 4")}, false},
		{"a literal secret from one selector row", [3]PlanOption{secret(2, "line 2"), secret(2, "line 2"), secret(2, "line 2")}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var its []PlanIntegration
			for i, o := range tc.opts {
				its = append(its, PlanIntegration{ID: scaleID(i), Name: fmt.Sprint("I", i), Running: true, Options: []PlanOption{o}})
			}
			items := planItems(its, false, false)
			if got := len(items) == 1 && items[0].group != nil; got != tc.grouped {
				t.Errorf("grouped = %v, want %v (%d items)", got, tc.grouped, len(items))
			}
		})
	}
}

// TestSummaryGroupsMaskedValuesBySource: summary.md's Applied section groups as the plan
// does; three different literal secrets (one per line) are three changes, one ${NAME} on
// three lines is one.
func TestSummaryGroupsMaskedValuesBySource(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     string
		grouped bool
	}{
		{"literal secrets", "", false},
		{"one ${NAME}", "ROTATED", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p bulk.Plan
			var results []bulk.Result
			for i := range 3 {
				o := opt{line: 2 + i, key: "apiKey", kind: bulk.KindPassword, cell: fmt.Sprint("literal-secret-", i), want: fmt.Sprint("literal-secret-", i),
					before: bulk.UnreadableText, after: bulk.SensitiveText, from: userProvides}
				if tc.env != "" {
					o.cell, o.env, o.envVal = "${"+tc.env+"}", tc.env, "rotated-secret"
				}
				c := o.change()
				tg := bulk.Target{ID: scaleID(i), Name: fmt.Sprint("Synthetic ", i), Status: "running", Running: true, Changes: []bulk.Change{c}}
				p.Targets = append(p.Targets, tg)
				results = append(results, bulk.Result{ID: tg.ID, Name: tg.Name, Status: bulk.StatusApplied, HTTPStatus: 200, Attempts: 1,
					Options: []bulk.OptionResult{{Change: c, Status: bulk.StatusApplied, Verified: bulk.VerifyUnknown}}})
			}
			out := render(t, func(w io.Writer) error { return SummaryMarkdown(w, NewResults(Run{Plan: p, Results: results})) })
			if got := strings.Contains(out, "**3 integrations**"); got != tc.grouped {
				t.Errorf("grouped = %v, want %v:\n%s", got, tc.grouped, out)
			}
			if strings.Contains(out, "literal-secret") || strings.Contains(out, "rotated-secret") {
				t.Errorf("a secret in summary.md:\n%s", out)
			}
		})
	}
}

// TestMoved: a stale plan names each thing that moved on the server, at plan time and now,
// secrets as "(sensitive)" (issue 16).
func TestMoved(t *testing.T) {
	opt := func(key, kind, before, perm string) PlanOption {
		return PlanOption{Key: key, Kind: kind, Before: before, PermissionBefore: perm, Action: "update"}
	}
	then := PlanIntegration{ID: "a", Status: "running", Options: []PlanOption{
		opt("maxAge", "number", "365", "lock-hide"),
		opt("url", "text", `"https://a.example"`, "user-provides"),
		opt("apiKey", "password", bulk.SensitiveText, "user-provides"),
		opt("gone", "text", `"x"`, "user-provides"),
		opt("same", "text", `"s"`, "user-provides"),
	}}
	now := PlanIntegration{ID: "a", Status: "stopped", Options: []PlanOption{
		opt("maxAge", "number", "100", "lock-hide"),
		opt("url", "select", `"https://a.example"`, "lock-show"),
		opt("apiKey", "password", bulk.SensitiveText, "lock-hide"),
		opt("same", "text", `"s"`, "user-provides"),
	}}
	want := []string{
		"status running at plan time, stopped now",
		"option maxAge: 365 at plan time, 100 now",
		"option url: kind text at plan time, select now",
		"option url: permission user-provides at plan time, lock-show now",
		"option apiKey: permission user-provides at plan time, lock-hide now",
		"option gone: in the plan then, not now",
	}
	if got := Moved(then, now); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// What the plan masks: a value that became unreadable, and the current value of an option
	// whose new value is a ${NAME} (the fingerprint covers it; the plan shows "(sensitive)").
	env := PlanOption{Key: "url", Kind: "text", Before: bulk.SensitiveText, Sensitive: true, Action: "update"}
	gone := env
	gone.CurrentUnreadable = true
	for _, tc := range []struct {
		then, now []PlanOption
		want      string
	}{
		{[]PlanOption{env}, []PlanOption{gone}, "option url: value readable at plan time, unreadable now"},
		{[]PlanOption{env}, []PlanOption{env}, "option url: its current value changed (not shown: the row's value is sensitive)"},
		{[]PlanOption{env, opt("apiKey", "password", bulk.SensitiveText, "lock-hide")}, []PlanOption{env, opt("apiKey", "password", bulk.SensitiveText, "lock-hide")},
			"option url: its current value changed (not shown: the row's value is sensitive)"},
	} {
		got := Moved(PlanIntegration{ID: "a", Options: tc.then}, PlanIntegration{ID: "a", Options: tc.now})
		if strings.Join(got, "\n") != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
