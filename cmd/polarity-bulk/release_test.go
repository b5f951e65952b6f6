package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/rogpeppe/go-internal/testscript"
)

// releasePlatforms are the platforms .goreleaser.yaml builds.
var releasePlatforms = [][2]string{
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"linux", "amd64"}, {"linux", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// cmdRelease stands in for GoReleaser and GitHub's release downloads, so that the
// setup-polarity-bulk action's install.sh can be run against a release without either:
//
//	release build DIR TAG [tampered|nohost]   write the release TAG into DIR/TAG
//	release serve DIR                         serve DIR on 127.0.0.1; sets RELEASE_URL
//	release requests N                        the server got exactly N requests
//
// build writes what .goreleaser.yaml makes: polarity-bulk_<version>_<os>_<arch>.tar.gz (.zip
// on Windows) for its six platforms and checksums.txt, "<sha256>  <file>" per line, sorted by
// name. The archive for this machine's platform holds this test binary as polarity-bulk (it
// runs as the tool, see TestMain) and README.md; the others hold a placeholder, since they are
// only listed and never run. "tampered" then replaces this platform's archive with another
// valid one whose polarity-bulk is a shell script, keeping the checksum of the genuine one;
// "nohost" leaves this platform out.
//
// serve answers GET RELEASE_URL/TAG/FILE as GitHub does: a redirect to where the file is
// stored, then the file, or 404.
func cmdRelease(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! release")
	}
	if len(args) == 0 {
		ts.Fatalf("usage: release build|serve|requests ...")
	}
	switch args[0] {
	case "build":
		if len(args) < 3 || len(args) > 4 {
			ts.Fatalf("usage: release build DIR TAG [tampered|nohost]")
		}
		mode := ""
		if len(args) == 4 {
			mode = args[3]
		}
		ts.Check(buildRelease(ts.MkAbs(args[1]), args[2], mode))
	case "serve":
		if len(args) != 2 {
			ts.Fatalf("usage: release serve DIR")
		}
		root := ts.MkAbs(args[1])
		n := &ts.Value("release").(*releaseServer).requests
		mux := http.NewServeMux()
		mux.HandleFunc("GET /download/{tag}/{file}", func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			http.Redirect(w, r, "/assets/"+r.PathValue("tag")+"/"+r.PathValue("file"), http.StatusFound)
		})
		mux.HandleFunc("GET /assets/{tag}/{file}", func(w http.ResponseWriter, r *http.Request) {
			p := filepath.Join(root, filepath.Base(r.PathValue("tag")), filepath.Base(r.PathValue("file")))
			if _, err := os.Stat(p); err != nil {
				http.NotFound(w, r)
				return
			}
			http.ServeFile(w, r, p)
		})
		hs := httptest.NewUnstartedServer(mux)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		ts.Check(err)
		hs.Listener = ln
		hs.Start()
		ts.Defer(hs.Close)
		ts.Setenv("RELEASE_URL", hs.URL+"/download")
	case "requests":
		if len(args) != 2 {
			ts.Fatalf("usage: release requests N")
		}
		want, err := strconv.Atoi(args[1])
		ts.Check(err)
		n := &ts.Value("release").(*releaseServer).requests
		if got := n.Swap(0); got != int64(want) {
			ts.Fatalf("the release server got %d requests, want %d", got, want)
		}
	default:
		ts.Fatalf("unknown release command %s", args[0])
	}
}

// releaseServer is a script's release server state (Setup makes one per script).
type releaseServer struct {
	requests atomic.Int64 // requests since the last "release requests" check
}

func buildRelease(dir, tag, mode string) error {
	if !strings.HasPrefix(tag, "v") {
		return fmt.Errorf("release build: tag %q does not start with v", tag)
	}
	if mode != "" && mode != "tampered" && mode != "nohost" {
		return fmt.Errorf("release build: unknown mode %q", mode)
	}
	out := filepath.Join(dir, tag)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	self, err := exec.LookPath("polarity-bulk")
	if err != nil {
		return fmt.Errorf("release build: polarity-bulk is not in PATH (testscript.Main installs it): %w", err)
	}
	tool, err := os.ReadFile(self)
	if err != nil {
		return err
	}
	readme := []byte("# polarity-bulk\n\nA release built by cmd/polarity-bulk/release_test.go.\n")
	var sums []string
	for _, p := range releasePlatforms {
		goos, goarch := p[0], p[1]
		host := goos == runtime.GOOS && goarch == runtime.GOARCH
		if host && mode == "nohost" {
			continue
		}
		bin := []byte("placeholder: this test runs only the archive for " + runtime.GOOS + "/" + runtime.GOARCH + "\n")
		if host {
			bin = tool
		}
		name, data, err := releaseArchive(tag, goos, goarch, bin, readme)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		sums = append(sums, hex.EncodeToString(sum[:])+"  "+name+"\n")
		if host && mode == "tampered" {
			// A valid archive, so only the checksum can tell: its binary is not the release's.
			_, data, err = releaseArchive(tag, goos, goarch, []byte("#!/bin/sh\necho 'polarity-bulk "+tag+" (tampered)'\n"), readme)
			if err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
			return err
		}
	}
	// GoReleaser sorts checksums.txt by file name; so do the platforms above.
	return os.WriteFile(filepath.Join(out, "checksums.txt"), []byte(strings.Join(sums, "")), 0o644)
}

// releaseArchive is one archive as .goreleaser.yaml names and fills it: the binary and
// README.md at the top, tar.gz, or zip on Windows.
func releaseArchive(tag, goos, goarch string, bin, readme []byte) (string, []byte, error) {
	base := fmt.Sprintf("polarity-bulk_%s_%s_%s", strings.TrimPrefix(tag, "v"), goos, goarch)
	exe := "polarity-bulk"
	var b bytes.Buffer
	if goos == "windows" {
		exe += ".exe"
		zw := zip.NewWriter(&b)
		for _, f := range []struct {
			name string
			data []byte
		}{{exe, bin}, {"README.md", readme}} {
			w, err := zw.Create(f.name)
			if err != nil {
				return "", nil, err
			}
			if _, err := w.Write(f.data); err != nil {
				return "", nil, err
			}
		}
		if err := zw.Close(); err != nil {
			return "", nil, err
		}
		return base + ".zip", b.Bytes(), nil
	}
	gz, err := gzip.NewWriterLevel(&b, gzip.BestSpeed) // the test binary is tens of MB
	if err != nil {
		return "", nil, err
	}
	tw := tar.NewWriter(gz)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{exe, 0o755, bin}, {"README.md", 0o644, readme}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			return "", nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return "", nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return "", nil, err
	}
	if err := gz.Close(); err != nil {
		return "", nil, err
	}
	return base + ".tar.gz", b.Bytes(), nil
}
