package apply

import (
	"slices"
	"strings"
	"testing"
)

func TestWaveSizes(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		total int
		want  []int
	}{
		{"1,10%,50%", 7, []int{1, 1, 3, 2}},
		{"1,10%,50%", 20, []int{1, 2, 10, 7}},
		{"1,10%,50%", 200, []int{1, 20, 100, 79}},
		{"1,5", 12, []int{1, 5, 5, 1}},
		{"1,5", 7, []int{1, 5, 1}},
		{"1,5", 20, []int{1, 5, 5, 5, 4}},
		{"1,10%,100%", 7, []int{1, 1, 5}},
		{"1,10%,100%", 20, []int{1, 2, 17}},
		{"1,10%,100%", 200, []int{1, 20, 179}},
		{"5", 3, []int{3}},
		{"100%", 9, []int{9}},
		{"29%", 100, []int{29, 29, 29, 13}}, // Ansible's float would say 28
		{"1%", 50, slices.Repeat([]int{1}, 50)},
		{"3,1", 1, []int{1}},
		{"1", 0, nil},
	} {
		spec, err := ParseWaves(tc.spec)
		if err != nil {
			t.Fatalf("%q: %v", tc.spec, err)
		}
		if got := spec.Sizes(tc.total); !slices.Equal(got, tc.want) {
			t.Errorf("--waves %s of %d: %v, want %v", tc.spec, tc.total, got, tc.want)
		}
	}
	if got := WaveSpec(nil).Sizes(4); !slices.Equal(got, []int{4}) {
		t.Errorf("no --waves: %v, want one wave of 4", got)
	}
}

func TestParseWaves(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{"", "empty"},
		{"0", "at least 1"},
		{"1,,5", "not a count"},
		{"0%", "from 1% to 100%"},
		{"101%", "from 1% to 100%"},
		{"-1", "at least 1"},
		{"+2", "not a count"},
		{"1.5", "not a count"},
		{"10 %", "not a count"},
		{"five", "not a count"},
	} {
		_, err := ParseWaves(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseWaves(%q) = %v, want an error with %q", tc.in, err, tc.err)
		}
	}
	spec, err := ParseWaves(" 1, 10% ,50%")
	if err != nil || spec.String() != "1,10%,50%" {
		t.Errorf("spaces: %v %v", spec, err)
	}
}
