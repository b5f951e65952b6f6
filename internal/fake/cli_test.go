package fake

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/testkit"
)

func TestMainHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"--help"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	help := out.String()
	for _, s := range []string{"polarity-fake-password", "polarity-fake-api-key", `"admin"`, "/_fake/drift"} {
		if !strings.Contains(help, s) {
			t.Errorf("help lacks %q", s)
		}
	}
	// Every flag is listed with an example.
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	n := 0
	for _, line := range strings.Split(help, "\n") {
		if name, ok := strings.CutPrefix(line, "  --"); ok {
			n++
			name, _, _ = strings.Cut(name, " ")
			fs.Bool(name, false, "")
		}
	}
	for _, want := range []string{"addr", "fixture", "synthetic", "seed", "user", "password", "api-key", "token-lifetime",
		"options-in", "option-resource-type", "kind-attr", "passwords", "patch-status", "latency", "rate-limit",
		"rate-burst", "rate-limit-headers", "retry-after-date", "fail-rate", "fail-status", "drop-rate", "hang-rate", "faults-on", "quiet"} {
		if fs.Lookup(want) == nil {
			t.Errorf("help does not list --%s", want)
		}
	}
	if c := strings.Count(help, "e.g."); c < n {
		t.Errorf("%d flags but %d examples", n, c)
	}
}

func TestMainUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--nope"}, 2, "flag provided but not defined"},
		{[]string{}, 2, "no integrations"},
		{[]string{"--synthetic", "-1"}, 2, "negative"},
		{[]string{"--fixture", tinyFixture, "extra"}, 2, "unexpected argument"},
		{[]string{"--fixture", tinyFixture, "--passwords", "weird", "--fail-rate", "2"}, 2, "fail rate"},
		{[]string{"--fixture", "no/such/file.json"}, 1, "no such file"},
		{[]string{"--fixture", tinyFixture, "--addr", "256.0.0.1:0"}, 1, "listen"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := Main(context.Background(), tt.args, &out, &errb)
		if code != tt.code || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, errb.String(), tt.code, tt.want)
		}
		if tt.code == 2 && !strings.Contains(errb.String(), "hint: run polarity-fake --help") {
			t.Errorf("%v: no hint", tt.args)
		}
		if out.Len() != 0 {
			t.Errorf("%v: stdout %q", tt.args, out.String())
		}
	}
}

// TestMainServes starts the command, uses it over HTTP, and stops it while a request hangs.
func TestMainServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	var errb testkit.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- Main(ctx, []string{"--addr", "127.0.0.1:0", "--fixture", tinyFixture, "--synthetic", "3",
			"--hang-rate", "1", "--faults-on", "patch", "--passwords", "clear", "--api-key", "k1", "--api-key", "k2"}, outW, &errb)
		outW.Close()
	}()
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatalf("first stdout line: %v (stderr %s)", err, errb.String())
	}
	base := strings.TrimSpace(line)
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("first line %q", line)
	}
	go io.Copy(io.Discard, outR)

	c := &http.Client{Timeout: 10 * time.Second}
	r, err := send(t, c, "GET", base+"/api/integrations", "k2", "")
	if err != nil || r.status != 200 || get(t, r.doc, "meta", "page", "total") != float64(6) {
		t.Fatalf("list: %v %d %s", err, r.status, r.raw)
	}
	if r, _ := send(t, c, "GET", base+"/api/integrations", tinyKey, ""); r.status != 401 {
		t.Errorf("fixture key not replaced by --api-key: %d", r.status)
	}
	r, _ = send(t, c, "GET", base+"/api/integration-options/"+alpha+"-apiKey", "k1", "")
	if get(t, r.doc, "data", "attributes", "value") != "alpha-secret" {
		t.Errorf("--passwords clear not applied: %s", r.raw)
	}

	hung := make(chan error, 1)
	go func() {
		_, err := send(t, c, "PATCH", base+"/api/integration-options", "k1", patchBody([2]string{alpha + "-url", `{"value":"x"}`}))
		hung <- err
	}()
	waitFor(t, "the PATCH to arrive", func() bool {
		r, err := send(t, c, "GET", base+"/_fake/stats", "", "")
		return err == nil && get(t, r.doc, "in-flight") == float64(1)
	})
	cancel()
	if code := <-exit; code != 0 {
		t.Errorf("exit %d: %s", code, errb.String())
	}
	<-hung // answered 503 or cut off; either way it did not keep the server up
	if !strings.Contains(errb.String(), "serving 6 integrations") || !strings.Contains(errb.String(), "GET /api/integrations 200 auth=api-key") {
		t.Errorf("stderr %q", errb.String())
	}
}

// TestSetFlag: a running fake's settings change as its flags set them; what is no setting of
// a running server, and a bad value, are refused.
func TestSetFlag(t *testing.T) {
	cfg := Config{Passwords: PasswordsMasked, OptionsIn: OptionsIncluded, PatchStatus: 200, KindAttr: KindAttrOption}
	for _, st := range []struct{ name, value string }{
		{"passwords", "clear"}, {"options-in", "attributes"}, {"patch-status", "204"}, {"token-lifetime", "2s"},
		{"kind-attr", "type"}, {"option-resource-type", TypePlural}, {"openapi", OpenAPIOff}, {"latency", "5ms"},
	} {
		var err error
		if cfg, err = SetFlag(cfg, st.name, st.value); err != nil {
			t.Fatalf("%s %s: %v", st.name, st.value, err)
		}
	}
	want := Config{Passwords: PasswordsClear, OptionsIn: OptionsAttributes, PatchStatus: 204, TokenLifetime: 2 * time.Second,
		KindAttr: "type", OptionResourceType: TypePlural, OpenAPI: OpenAPIOff, Faults: Faults{Latency: 5 * time.Millisecond}}
	if cfg.Passwords != want.Passwords || cfg.OptionsIn != want.OptionsIn || cfg.PatchStatus != want.PatchStatus ||
		cfg.TokenLifetime != want.TokenLifetime || cfg.KindAttr != want.KindAttr || cfg.OptionResourceType != want.OptionResourceType ||
		cfg.OpenAPI != want.OpenAPI || cfg.Faults.Latency != want.Faults.Latency {
		t.Errorf("config %+v\nwant %+v", cfg, want)
	}
	for _, bad := range [][2]string{{"fixture", "x.json"}, {"api-key", "k"}, {"patch-status", "two hundred"}, {"nope", "1"}} {
		if _, err := SetFlag(cfg, bad[0], bad[1]); err == nil {
			t.Errorf("%s %s accepted", bad[0], bad[1])
		}
	}
}
