package pace

import (
	"net/http"
	"testing"
	"time"
)

func TestParseQuota(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		header map[string][]string
		want   Quota
	}{
		{"nothing", nil, NoQuota},
		{"draft policy and limit",
			map[string][]string{"RateLimit-Policy": {`"default";q=100;w=10`}, "RateLimit": {`"default";r=50;t=30`}},
			Quota{PolicyRate: 10, Remaining: 50, Window: 30 * time.Second}},
		{"tightest of two policies, over two field lines",
			map[string][]string{"RateLimit-Policy": {`"permin";q=50;w=60`, `"perhr";q=1000;w=3600`}},
			Quota{PolicyRate: 1000.0 / 3600, Remaining: -1}},
		{"token policy name (draft-11), partition key ignored",
			map[string][]string{"RateLimit-Policy": {`burst;q=20;w=1;pk=:cHsdsRa894==:`}},
			Quota{PolicyRate: 20, Remaining: -1}},
		{"bytes quota is no request rate",
			map[string][]string{"RateLimit-Policy": {`"peruser";q=65535;qu="content-bytes";w=10`}},
			NoQuota},
		{"concurrency quota",
			map[string][]string{"RateLimit-Policy": {`"conc";q=3;qu="concurrent-requests"`, `"rate";q=30;w=1`}},
			Quota{PolicyRate: 30, PolicyConcurrency: 3, Remaining: -1}},
		{"policy without window is no rate",
			map[string][]string{"RateLimit-Policy": {`"daily";q=1000`}},
			NoQuota},
		{"draft-07 policy and dictionary",
			map[string][]string{"RateLimit-Policy": {`100;w=60`}, "RateLimit": {`limit=100, remaining=25, reset=5`}},
			Quota{PolicyRate: 100.0 / 60, Remaining: 25, Window: 5 * time.Second}},
		{"no quota left",
			map[string][]string{"RateLimit": {`"default";r=0;t=2`}},
			Quota{Remaining: 0, Window: 2 * time.Second}},
		{"remaining without window",
			map[string][]string{"RateLimit": {`"polarity-fake";r=12`}},
			Quota{Remaining: 12}},
		{"the service limit that binds soonest",
			map[string][]string{"RateLimit": {`"a";r=50;t=10, "b";r=3;t=1`}},
			Quota{Remaining: 3, Window: time.Second}},
		{"legacy trio",
			map[string][]string{"RateLimit-Limit": {"10"}, "RateLimit-Remaining": {"4"}, "RateLimit-Reset": {"3"}},
			Quota{Remaining: 4, Window: 3 * time.Second}},
		{"x- prefix, reset as a unix time",
			map[string][]string{"X-RateLimit-Remaining": {"0"}, "X-RateLimit-Reset": {"1767268807"}},
			Quota{Remaining: 0, Window: 7 * time.Second}},
		{"window capped",
			map[string][]string{"RateLimit": {`"d";r=0;t=86400`}},
			Quota{Remaining: 0, Window: maxWindow}},
		{"malformed fields are ignored",
			map[string][]string{"RateLimit-Policy": {`"x";q=abc;w=1`, `;;;`, `"y";q=-5;w=1`}, "RateLimit": {`"x";r=ten`, `"z";r=5;t=-1`}},
			NoQuota},
		{"quoted commas and semicolons stay in the name",
			map[string][]string{"RateLimit-Policy": {`"a,b;c";q=6;w=2`}},
			Quota{PolicyRate: 3, Remaining: -1}},
		{"huge numbers are not numbers",
			map[string][]string{"RateLimit": {`"d";r=99999999999999999999;t=1`}},
			NoQuota},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, vs := range tc.header {
				for _, v := range vs {
					h.Add(k, v)
				}
			}
			got := ParseQuota(h.Values, now)
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if got.Known() != (tc.want != NoQuota) {
				t.Errorf("Known() = %t", got.Known())
			}
		})
	}
}
