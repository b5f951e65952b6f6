package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/polarity-bulk/polarity-bulk/internal/fake"
)

// maxErrOutput bounds what a hostile input may make the tool print: a clear error, not the
// input echoed back.
const maxErrOutput = 256 << 10

// TestHostileCSV feeds files that real spreadsheets, scripts and accidents produce. Each must
// end in exit 3 with a FILE:LINE error at the right line, no crash, no hang, bounded output,
// and nothing sent to the server (plan and apply only read it, for the rows that passed). The big files are generated here, never committed.
func TestHostileCSV(t *testing.T) {
	t.Parallel()
	const vt = "virustotal_node_18_1725278818"
	header := "integration_id,option_key,value,permission\n"
	good := vt + ",blocklist,9.9.9.9,\n"
	cases := []struct {
		name string
		data func() []byte
		want string // a regexp the error output must match
		big  bool   // only validate and plan: each run reads the whole file, slowly under -race
	}{
		{"50MB-cell", func() []byte {
			var b bytes.Buffer
			b.WriteString(header + good + vt + ",blocklist,")
			b.Write(bytes.Repeat([]byte("A"), 50<<20))
			b.WriteString(",\n" + good)
			return b.Bytes()
		}, `(?m)^in\.csv:3: value: .*(bytes|MiB)`, true},
		{"50MB-quoted-cell-with-newlines", func() []byte {
			var b bytes.Buffer
			b.WriteString(header + vt + `,blocklist,"`)
			b.Write(bytes.Repeat([]byte("line\n"), 10<<20))
			b.WriteString("\",\n" + good)
			return b.Bytes()
		}, `(?m)^in\.csv:2: value: .*(bytes|MiB)`, true},
		{"invalid-utf8", func() []byte {
			return []byte(header + good + vt + ",blocklist,caf\xe9 \xff\xfe,\n")
		}, `(?m)^in\.csv:3: value: .*UTF-8`, false},
		{"invalid-utf8-header", func() []byte {
			return []byte("integration_id,option_key,val\xffue\n" + good)
		}, `(?m)^in\.csv:1: .*UTF-8`, false},
		{"nul-bytes", func() []byte {
			return []byte(header + good + good[:len(good)-1] + "\x00\x00\n" + vt + ",apiKey,ab\x00cd,\n")
		}, `(?m)^in\.csv:3: .*(NUL|control|0x00|\\x00)`, false},
		{"binary-file", func() []byte {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = byte(i*7 + i>>8)
			}
			return b
		}, `(?m)^in\.csv(:1)?: `, false},
		{"10000-columns-header", func() []byte {
			cols := []string{"integration_id", "option_key", "value"}
			for i := range 10000 {
				cols = append(cols, fmt.Sprintf("extra_%d", i))
			}
			return []byte(strings.Join(cols, ",") + "\n" + good)
		}, `(?m)^in\.csv:1: .*extra_0`, false},
		{"10000-columns-row", func() []byte {
			return []byte(header + good + good[:len(good)-1] + strings.Repeat(",x", 10000) + "\n")
		}, `(?m)^in\.csv:3: `, false},
		{"quote-never-closed", func() []byte {
			var b bytes.Buffer
			b.WriteString(header + good + vt + `,blocklist,"1.1.1.1,` + "\n")
			for range 1000 {
				b.WriteString(good)
			}
			return b.Bytes()
		}, `(?m)^in\.csv:3: .*(quote|")`, false},
		{"header-repeated-as-row", func() []byte {
			return []byte(header + good + header + good)
		}, `(?m)^in\.csv:3: `, false},
		{"column-repeated", func() []byte {
			return []byte("integration_id,option_key,value,option_key\n" + vt + ",blocklist,1.1.1.1,blocklist\n")
		}, `(?m)^in\.csv:1: .*option_key`, false},
		{"header-only", func() []byte { return []byte(header) }, `(?m)^in\.csv(:\d+)?: `, false},
		{"empty-file", func() []byte { return nil }, `(?m)^in\.csv(:\d+)?: `, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fe := startFake(t, loadFixture(t), fake.Config{}, nil)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "in.csv"), tc.data(), 0o644); err != nil {
				t.Fatal(err)
			}
			runs := [][]string{
				{"validate", "in.csv"},
				{"plan", "in.csv", "--out", "plan.json"},
				{"apply", "in.csv", "--yes", "--report-dir", "rep"},
			}
			if tc.big {
				runs = runs[1:2]
			}
			var first string
			for _, args := range runs {
				o := run(t, dir, fe.env(dir, apiKeyEnv...), args...)
				what := args[0] + " " + tc.name
				mustCode(t, o, 3, what)
				if !regexp.MustCompile(tc.want).MatchString(o.stderr) {
					t.Errorf("%s: stderr does not match %s:\n%s", what, tc.want, tail(o.stderr))
				}
				if len(o.stdout)+len(o.stderr) > maxErrOutput {
					t.Errorf("%s: %d bytes of output", what, len(o.stdout)+len(o.stderr))
				}
				if args[0] != "validate" && !strings.Contains(o.stderr, "nothing was sent") {
					t.Errorf("%s: stderr does not say nothing was sent:\n%s", what, tail(o.stderr))
				}
				if first == "" {
					first = firstLine(o.stderr)
				}
			}
			// Nothing is sent: the only requests are the reads of one round (SPEC.md section
			// 2), which check the rows that passed against the server.
			for _, r := range fe.srv.Requests() {
				if r.Method != http.MethodGet {
					t.Errorf("a %s %s reached the server", r.Method, r.Path)
				}
			}
			for _, f := range []string{"plan.json", "rep"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
					t.Errorf("%s was written for an invalid input", f)
				}
			}
			t.Logf("%s: %s", tc.name, first)
		})
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// hostileServer answers some requests of the fake itself, the way a broken server, a proxy
// or a login portal in front of it would.
func hostileServer(match func(*http.Request) bool, answer http.HandlerFunc) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if match(r) {
				answer(w, r)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

func isList(r *http.Request) bool {
	return r.Method == http.MethodGet && r.URL != nil && r.URL.Path == "/api/integrations"
}
func isPatch(r *http.Request) bool { return r.Method == http.MethodPatch }

// huge writes a JSON-looking body of n bytes, streamed, never held in memory.
func huge(n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", fake.MediaType)
		w.WriteHeader(http.StatusOK)
		const head = `{"data":[{"id":"x","type":"integrations","attributes":{"name":"`
		_, _ = w.Write([]byte(head))
		chunk := bytes.Repeat([]byte("a"), 1<<20)
		for written := len(head); written < n; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return // the client gave up, as it should
			}
		}
		_, _ = w.Write([]byte(`"}}]}`))
	}
}

func fixed(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// gzipBomb answers with n zero bytes, gzip-compressed (about n/1000 bytes on the wire).
func gzipBomb(n int) http.HandlerFunc {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for written := 0; written < n; written += len(zero) {
		_, _ = zw.Write(zero)
	}
	_ = zw.Close()
	body := b.Bytes()
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", fake.MediaType)
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(body)
	}
}

const loginPortal = `<!DOCTYPE html><html><head><title>Sign in</title></head><body><form action="/sso">Single sign-on</form></body></html>`

// TestHostileServer: answers no client should trust. Reading the state (plan, apply) must
// fail with exit 1 and a clear error, and send nothing; a PATCH answered with garbage is a
// failed integration (exit 1) that the report lists, and the server state is untouched.
func TestHostileServer(t *testing.T) {
	t.Parallel()
	const vt = "virustotal_node_18_1725278818"
	const abuse = "abuseipdb_3_3_4_node_18_71ff23754e_1725342515"
	cases := []struct {
		name   string
		match  func(*http.Request) bool
		answer http.HandlerFunc
		want   string
	}{
		{"list-100MB-body", isList, huge(100 << 20), `list integrations: bad response: response too large \(over \d+ bytes\)`},
		{"list-malformed-json", isList, fixed(200, fake.MediaType, `{"data":[{"id":"virustotal_node_18_1725278818","type":"integrations","attributes":{"name":"Virus`), `list integrations: bad response: malformed JSON`},
		{"list-wrong-json", isList, fixed(200, fake.MediaType, `{"data":"integrations"}`), `list integrations: bad response`},
		{"list-200-html", isList, fixed(200, "text/html; charset=utf-8", loginPortal), `list integrations: bad response: content type "text/html; charset=utf-8" is not JSON, body starts "<!DOCTYPE html>`},
		{"list-200-html-as-json", isList, fixed(200, "application/json", loginPortal), `list integrations: bad response: malformed JSON .*body starts "<!DOCTYPE html>`},
		{"list-200-empty", isList, fixed(200, fake.MediaType, ""), `list integrations: bad response: empty body`},
		{"list-500-html", isList, fixed(500, "text/html", loginPortal), `list integrations: 500 internal server error`},
		{"patch-100MB-body", isPatch, huge(100 << 20), `too large`},
		{"patch-malformed-json", isPatch, fixed(200, fake.MediaType, `{"data":[`), `malformed JSON`},
		{"patch-200-html", isPatch, fixed(200, "text/html", loginPortal), `content type "text/html" is not JSON`},
		{"patch-422-html", isPatch, fixed(422, "text/html", loginPortal), `422 unprocessable entity`},
		// Polarity's own answer for a stopped integration, under a 200: a refusal all the same.
		{"patch-200-errors", isPatch, fixed(200, fake.MediaType, `{"errors":[{"title":"Failed to update integration options","detail":"Integration is not running"}]}`),
			`the server reported errors in a 200 ok answer: Failed to update integration options: Integration is not running`},
		{"list-200-errors", isList, fixed(200, fake.MediaType, `{"data":[],"errors":[{"title":"Database unavailable"}]}`),
			`list integrations: the server reported errors in a 200 ok answer: Database unavailable`},
		// 100 MB of zeros in 100 kB: the answer is cut at 1 MiB after decompression.
		{"patch-gzip-bomb", isPatch, gzipBomb(100 << 20), `response too large \(over 1048576 bytes\)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fix := loadFixture(t)
			fe := startFake(t, fix, fake.Config{}, hostileServer(tc.match, tc.answer))
			dir := t.TempDir()
			rows := []intent{
				{id: vt, key: "blocklist", cell: "9.9.9.9", want: mustRaw("9.9.9.9")},
				{id: abuse, key: "maxAge", cell: "90", want: mustRaw(90)},
			}
			writeCSV(t, filepath.Join(dir, "in.csv"), rows)
			env := fe.env(dir, apiKeyEnv...)
			patch := tc.match(&http.Request{Method: http.MethodPatch})
			if !patch {
				o := run(t, dir, env, "plan", "in.csv")
				mustCode(t, o, 1, "plan "+tc.name)
				if !regexp.MustCompile(tc.want).MatchString(o.stderr) || !strings.Contains(o.stderr, "hint: ") {
					t.Errorf("plan: stderr does not match %s or has no hint:\n%s", tc.want, tail(o.stderr))
				}
				if len(o.stderr) > 4096 {
					t.Errorf("plan: %d bytes on stderr", len(o.stderr))
				}
			}
			o := run(t, dir, env, "apply", "in.csv", "--yes", "--report-dir", "rep")
			mustCode(t, o, 1, "apply "+tc.name)
			if len(o.stderr) > 4096 {
				t.Errorf("apply: %d bytes on stderr", len(o.stderr))
			}
			checkState(t, fe.srv, expect(t, fix, nil, nil))
			if patch {
				// The PATCHes failed, each with the reason in the report.
				checkStatuses(t, filepath.Join(dir, "rep"), rows, func(int, intent) string { return "failed" })
				for _, rec := range readCSVFile(t, filepath.Join(dir, "rep", "results.csv"))[1:] {
					if !regexp.MustCompile(tc.want).MatchString(rec[4]) {
						t.Errorf("results.csv line %s does not give the reason %s: %q", rec[0], tc.want, rec[4])
					}
				}
			} else {
				if !regexp.MustCompile(tc.want).MatchString(o.stderr) {
					t.Errorf("apply: stderr does not match %s:\n%s", tc.want, tail(o.stderr))
				}
				for _, r := range fe.srv.Requests() {
					if r.Method == http.MethodPatch {
						t.Fatalf("a PATCH was sent although the state could not be read")
					}
				}
			}
			t.Logf("%s: %s", tc.name, firstLine(o.stderr))
		})
	}
}

// TestHostileOutputPaths: outputs named on the command line that are not regular files, as
// CI scripts write them: --out /dev/stdout, --markdown /dev/null. The tool must write through
// them, not rename a temporary file over them, which replaces the link (and, run as root on
// /dev/null itself, the system's device). The links live in the test's directory, so a failure
// never touches /dev.
func TestHostileOutputPaths(t *testing.T) {
	t.Parallel()
	fe := startFake(t, loadFixture(t), fake.Config{}, nil)
	dir := t.TempDir()
	writeCSV(t, filepath.Join(dir, "in.csv"), []intent{{id: "virustotal_node_18_1725278818", key: "blocklist", cell: "9.9.9.9"}})
	for name, target := range map[string]string{"stdout": "/proc/self/fd/1", "null": "/dev/null", "null2": "/dev/null"} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	env := fe.env(dir, apiKeyEnv...)
	check := func(what string) {
		t.Helper()
		for _, name := range []string{"stdout", "null", "null2"} {
			fi, err := os.Lstat(filepath.Join(dir, name))
			if err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("%s: %s is no longer the link it was (%v, %v): the output replaced it", what, name, fi.Mode(), err)
			}
		}
		if fi, err := os.Stat("/dev/null"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("%s: /dev/null is no longer a device: %v %v", what, fi.Mode(), err)
		}
	}
	o := run(t, dir, env, "plan", "in.csv", "--out", "stdout", "--markdown", "null")
	mustCode(t, o, 0, "plan --out stdout --markdown null")
	check("plan")
	if !strings.Contains(o.stdout, `"integrations"`) {
		t.Errorf("plan --out to a link to stdout: plan.json did not reach stdout:\n%s", tail(o.stdout))
	}
	o = run(t, dir, env, "export", "--out", "null2")
	mustCode(t, o, 0, "export --out null2")
	check("export")
}
