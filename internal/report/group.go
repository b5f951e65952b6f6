package report

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// GroupMin is the fewest integrations one change must touch to be shown once for all of them
// instead of once per integration (SPEC.md section 3, "reviewable at scale").
const GroupMin = 3

// planItem is one entry of the plan as people read it, in the order of its first CSV line:
// either a group (the same changes on several integrations, shown once) or one integration
// with the changes no group took.
type planItem struct {
	first int
	group *changeGroup
	it    PlanIntegration // when group is nil: the integration, with only its ungrouped updates
	same  []PlanOption    // its unchanged options
}

// changeGroup is a set of changes made identically on the same integrations.
type changeGroup struct {
	changes []groupChange
	members []PlanIntegration // in line order
}

// groupChange is one change of a group: what it does, and the lines it comes from.
type groupChange struct {
	opt   PlanOption // the first one; its before is befores[0]
	lines []int
	over  []int // the lines it won over by precedence, on any of the integrations
	// befores are the distinct values (and permissions) the change replaces, most frequent
	// first: the same change may start from different values on different integrations.
	befores, permBefores []string
}

// changeID is what makes two updates "the same change": the key and what it ends as. The
// starting value may differ (a rollout sets one value over many old ones), and what the
// update does not change is no part of it: locking every API key is one change whatever the
// keys hold, and setting a value is one change whatever permissions the options keep. Masked
// values are the same only when they come from the same ${NAME} or the same line.
type changeID struct {
	key, after, permAfter              string
	value, perm, sensitive, unreadable bool
}

func idOf(o PlanOption) changeID {
	id := changeID{key: o.Key, value: o.ValueChanges, perm: o.PermissionChanges, sensitive: o.Sensitive}
	if o.ValueChanges {
		// A masked value shows as "(sensitive)" whatever it is: where it comes from tells.
		id.after, id.unreadable = o.After+"\x00"+o.ValueSource, o.CurrentUnreadable
	}
	if o.PermissionChanges {
		id.permAfter = o.PermissionAfter
	}
	return id
}

// planItems arranges a plan (or what an apply changed) for reading, in the order of each
// item's first CSV line: changes that touch GroupMin or more integrations become groups
// (groups on exactly the same integrations merge into one), the rest stay with their
// integration. expand turns grouping off. Integrations with nothing to update are items only
// with showUnchanged; otherwise the caller counts them.
func planItems(its []PlanIntegration, expand, showUnchanged bool) []planItem {
	touched := map[changeID][]int{} // change -> integrations, in plan order
	var order []changeID
	if !expand {
		for i, it := range its {
			for _, o := range it.Options {
				if o.Action != string(bulk.ActionUpdate) {
					continue
				}
				id := idOf(o)
				ts := touched[id]
				if len(ts) > 0 && ts[len(ts)-1] == i {
					continue // twice on one integration cannot happen; be safe
				}
				if ts == nil {
					order = append(order, id)
				}
				touched[id] = append(ts, i)
			}
		}
	}
	grouped := map[changeID]bool{}
	bySet := map[string]*changeGroup{}
	var groups []*changeGroup
	for _, id := range order {
		ts := touched[id]
		if len(ts) < GroupMin {
			continue
		}
		grouped[id] = true
		set := setKey(ts)
		g := bySet[set]
		if g == nil {
			g = &changeGroup{}
			for _, i := range ts {
				g.members = append(g.members, its[i])
			}
			bySet[set] = g
			groups = append(groups, g)
		}
		g.changes = append(g.changes, gather(its, ts, id))
	}

	var items []planItem
	for _, g := range groups {
		first := 0
		for i, c := range g.changes {
			if i == 0 || c.lines[0] < first {
				first = c.lines[0]
			}
		}
		slices.SortStableFunc(g.changes, func(a, b groupChange) int { return cmp.Compare(a.lines[0], b.lines[0]) })
		items = append(items, planItem{first: first, group: g})
	}
	for _, it := range its {
		var rest, same []PlanOption
		for _, o := range it.Options {
			switch {
			case o.Action != string(bulk.ActionUpdate):
				same = append(same, o)
			case !grouped[idOf(o)]:
				rest = append(rest, o)
			}
		}
		if len(rest) == 0 && (it.updates() || !showUnchanged) {
			continue // all grouped, or nothing to change and not listed
		}
		lone := it
		lone.Options = rest
		first := firstLine(rest)
		if len(rest) == 0 {
			first = firstLine(same)
		}
		items = append(items, planItem{first: first, it: lone, same: same})
	}
	slices.SortStableFunc(items, func(a, b planItem) int { return cmp.Compare(a.first, b.first) })
	return items
}

// gather collects one change over the integrations it touches.
func gather(its []PlanIntegration, ts []int, id changeID) groupChange {
	var gc groupChange
	befores, perms := map[string]int{}, map[string]int{}
	for n, i := range ts {
		for _, o := range its[i].Options {
			if o.Action != string(bulk.ActionUpdate) || idOf(o) != id {
				continue
			}
			if n == 0 {
				gc.opt = o
			}
			gc.lines = append(gc.lines, o.lines()...)
			gc.over = append(gc.over, o.OverridesLines...)
			befores[o.Before]++
			perms[o.PermissionBefore]++
		}
	}
	slices.Sort(gc.lines)
	slices.Sort(gc.over)
	gc.over = slices.Compact(gc.over)
	gc.befores, gc.permBefores = byCount(befores), byCount(perms)
	return gc
}

// byCount lists a tally's keys, most frequent first, ties in order.
func byCount(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b string) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return ks
}

func setKey(ts []int) string {
	var b strings.Builder
	for _, i := range ts {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte(',')
	}
	return b.String()
}

func firstLine(os []PlanOption) int {
	first := 0
	for i, o := range os {
		if l := o.lines()[0]; i == 0 || l < first {
			first = l
		}
	}
	return first
}

// lineRefs says which lines: "line 4", "lines 4, 9", "lines 14–25"; runs of consecutive
// lines are ranges, and a list longer than maxParts is told as a count with its bounds.
func lineRefs(ls []int) string {
	if len(ls) == 0 {
		return ""
	}
	ls = slices.Compact(slices.Sorted(slices.Values(ls)))
	if len(ls) == 1 {
		return "line " + strconv.Itoa(ls[0])
	}
	const maxParts = 6
	var parts []string
	for i := 0; i < len(ls); {
		j := i
		for j+1 < len(ls) && ls[j+1] == ls[j]+1 {
			j++
		}
		switch {
		case j == i:
			parts = append(parts, strconv.Itoa(ls[i]))
		case j == i+1:
			parts = append(parts, strconv.Itoa(ls[i]), strconv.Itoa(ls[j]))
		default:
			parts = append(parts, strconv.Itoa(ls[i])+"–"+strconv.Itoa(ls[j]))
		}
		i = j + 1
	}
	if len(parts) > maxParts {
		return strconv.Itoa(len(ls)) + " lines from " + strconv.Itoa(ls[0]) + " to " + strconv.Itoa(ls[len(ls)-1])
	}
	return "lines " + strings.Join(parts, ", ")
}

// shown is what the renderers show of a group's change: its starting values are several.
func (c groupChange) shown() shown {
	s := c.opt.shown()
	s.befores, s.permBefores = c.befores, c.permBefores
	return s
}

// linesOf lists the lines of several options, in order.
func linesOf(os []PlanOption) []int {
	var ls []int
	for _, o := range os {
		ls = append(ls, o.lines()...)
	}
	slices.Sort(ls)
	return slices.Compact(ls)
}
