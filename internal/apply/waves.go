package apply

import (
	"fmt"
	"strconv"
	"strings"
)

// WaveSize is one element of --waves: a count of integrations, or a percentage of all the
// integrations with changes.
type WaveSize struct {
	N       int
	Percent bool
}

// String writes the size as --waves takes it.
func (s WaveSize) String() string {
	if s.Percent {
		return strconv.Itoa(s.N) + "%"
	}
	return strconv.Itoa(s.N)
}

// WaveSpec is a parsed --waves list. The zero value is one wave of everything.
type WaveSpec []WaveSize

// String writes the list as --waves takes it.
func (w WaveSpec) String() string {
	parts := make([]string, len(w))
	for i, s := range w {
		parts[i] = s.String()
	}
	return strings.Join(parts, ",")
}

// ParseWaves reads a --waves list: comma-separated sizes, each a positive count ("5") or a
// percentage from 1% to 100% ("10%").
func ParseWaves(s string) (WaveSpec, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("--waves is empty")
	}
	var spec WaveSpec
	for i, part := range strings.Split(s, ",") {
		p := strings.TrimSpace(part)
		num, pct := strings.CutSuffix(p, "%")
		n, err := strconv.Atoi(num)
		switch {
		case err != nil || strings.HasPrefix(num, "+"):
			return nil, fmt.Errorf("--waves: size %d %q is not a count or a percentage such as 5 or 10%%", i+1, p)
		case pct && (n < 1 || n > 100):
			return nil, fmt.Errorf("--waves: size %d %q: a percentage must be from 1%% to 100%%", i+1, p)
		case n < 1:
			return nil, fmt.Errorf("--waves: size %d %q: a wave holds at least 1 integration", i+1, p)
		}
		spec = append(spec, WaveSize{N: n, Percent: pct})
	}
	return spec, nil
}

// Sizes splits total integrations into waves as Ansible's serial does: a percentage is of the
// total (not of what is left) and rounds down with a minimum of 1; the last size repeats until
// every integration has a wave; a wave takes at most what is left. Integer arithmetic, where
// Ansible's float arithmetic makes 29% of 100 into 28. An empty spec is one wave of all.
func (w WaveSpec) Sizes(total int) []int {
	if total <= 0 {
		return nil
	}
	if len(w) == 0 {
		return []int{total}
	}
	var sizes []int
	for i, left := 0, total; left > 0; i = min(i+1, len(w)-1) {
		n := w[i].N
		if w[i].Percent {
			n = max(1, total*w[i].N/100)
		}
		n = min(n, left)
		sizes = append(sizes, n)
		left -= n
	}
	return sizes
}
