package testkit

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update is -update on the test command line of every package that imports testkit.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Updating reports whether the tests run with -update: other kinds of expected output (the
// scripts' cmp files) are rewritten then too.
func Updating() bool { return *update }

// Golden compares got with the file at path, or writes got there (creating its directory)
// when the test runs with -update. A difference fails the test, naming the first line that
// differs and the command that accepts the change.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	rerun := updateCommand(t)
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run %s to create it)", err, rerun)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("%s differs from the golden file at line %d:\n got: %q\nwant: %q\n(run %s if the change is intended)", path, i+1, g, w, rerun)
		}
	}
	t.Fatalf("%s differs from the golden file", path)
}

// updateCommand is the go test command that rewrites the golden files of the running test,
// from the module's root: "go test ./internal/report -run '^TestGolden$' -update".
func updateCommand(t testing.TB) string {
	top, _, _ := strings.Cut(t.Name(), "/")
	pkg := "."
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				if rel, err := filepath.Rel(dir, wd); err == nil && rel != "." {
					pkg = "./" + filepath.ToSlash(rel)
				}
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "go test " + pkg + " -run '^" + top + "$' -update"
}
