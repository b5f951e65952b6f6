package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/report"
)

const describeExample = `Shows what a CSV row needs to know before it is written: per integration its status, and
per option its key, kind (as the option_kind column writes it), current permission, whether
the server shows its value, and a select's choices (value and display). It never shows a
value; 'export' writes the values. Reads only.

--integration-id and --integration-name take exact text or a pattern, as selector rows do:
*, glob:<shell glob> or re:<regular expression> (names match in any case).

Examples:
  polarity-bulk describe --integration-name VirusTotal
  polarity-bulk describe --integration-name 'glob:Crowd*' --option-kind multiselect
  polarity-bulk describe --integration-id slack_3_2_5_node_18_0b6f4e2a91_1725370000 --json`

// describeKinds are the words --option-kind takes: the option_kind column's.
var describeKinds = []string{"text", "password", "boolean", "number", "select", "multiselect"}

func runDescribe(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlagSet(stdio, "describe", "describe [flags]", describeExample)
	conn, lf := addConnFlags(fs), addLogFlags(fs)
	var ids, names, kinds repeated
	fs.Var(&ids, "integration-id", "describe the integrations with this `ID`, or matching this pattern (repeatable)")
	fs.Var(&names, "integration-name", "describe the integrations with this `NAME` (any case), or matching this pattern (repeatable)")
	fs.Var(&kinds, "option-kind", "show only the options of this `KIND`: "+strings.Join(describeKinds, ", ")+" (repeatable)")
	asJSON := fs.Bool("json", false, "write one JSON document instead of text")
	pos, err := parse(fs, args, stdio)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("describe takes no FILE: choose integrations with --integration-id or --integration-name", "describe: unexpected argument %q", pos[0])
	}
	sel, err := newSelection(ids, names)
	if err != nil {
		return err
	}
	for _, k := range kinds {
		if !slices.Contains(describeKinds, strings.ToLower(strings.TrimSpace(k))) {
			msg := fmt.Sprintf("describe: unknown option kind %q", k)
			if dym := bulk.DidYouMean(k, describeKinds, plain); dym != "" {
				msg += ": " + dym
			}
			return usageError("the kinds are "+andList(describeKinds), "%s", msg)
		}
	}
	s, err := serverSession(stdio, conn, lf)
	if err != nil {
		return err
	}
	defer s.close()
	cl, log := s.client, s.log
	all, err := cl.Integrations(ctx, false)
	if err != nil {
		return serverError(err)
	}
	log.Info("read server state", "integrations", len(all), "requests", cl.Requests())
	chosen, err := sel.pick(all)
	if err != nil {
		return err
	}
	out := chosen[:0]
	options := 0
	for _, in := range chosen {
		if len(kinds) > 0 {
			in.Options = slices.DeleteFunc(slices.Clone(in.Options), func(o bulk.Option) bool { return !kindWanted(o, kinds) })
			if len(in.Options) == 0 {
				continue // no option of the kinds asked for
			}
		}
		options += len(in.Options)
		out = append(out, in)
	}
	log.Info("describe", "integrations", len(out), "options", options)
	if *asJSON {
		return report.DescribeJSON(stdio.Out, out)
	}
	return report.DescribeText(stdio.Out, out)
}

// kindWanted reports whether the option's kind, as the option_kind column writes it, is one
// of kinds.
func kindWanted(o bulk.Option, kinds []string) bool {
	k := string(o.Kind)
	if o.Kind == bulk.KindSelect && o.Multiple {
		k = "multiselect"
	}
	return slices.ContainsFunc(kinds, func(w string) bool { return strings.EqualFold(strings.TrimSpace(w), k) })
}

// selection is the integrations a command asks for by id and name, exact or by pattern.
// No id and no name selects every integration.
type selection struct {
	ids, names []bulk.Pattern
}

// newSelection parses the --integration-id and --integration-name values; a pattern that
// cannot be used is a usage error that points at the character.
func newSelection(ids, names []string) (selection, error) {
	var sel selection
	for _, flagName := range []string{"integration-id", "integration-name"} {
		cells, fold, dst := ids, false, &sel.ids
		if flagName == "integration-name" {
			cells, fold, dst = names, true, &sel.names
		}
		for _, c := range cells {
			if fold {
				c = strings.TrimSpace(c)
			}
			p, err := bulk.ParsePattern(c, fold)
			if err != nil {
				return sel, usageError("patterns are *, glob:<shell glob> or re:<regular expression>", "--%s %q: %v", flagName, c, err)
			}
			*dst = append(*dst, p)
		}
	}
	return sel, nil
}

// pick returns the integrations the selection names, in the server's order. An id, name or
// pattern that matches none is an error, with the closest names when an exact one is
// misspelled.
func (sel selection) pick(all []bulk.Integration) ([]bulk.Integration, error) {
	if len(sel.ids) == 0 && len(sel.names) == 0 {
		return all, nil
	}
	used := make([]bool, len(sel.ids)+len(sel.names))
	var out []bulk.Integration
	for _, in := range all {
		keep := false
		for i, p := range sel.ids {
			if p.Match(in.ID) {
				keep, used[i] = true, true
			}
		}
		for i, p := range sel.names {
			if p.Match(in.Name) {
				keep, used[len(sel.ids)+i] = true, true
			}
		}
		if keep {
			out = append(out, in)
		}
	}
	var missing []string
	for i, p := range append(slices.Clone(sel.ids), sel.names...) {
		if used[i] {
			continue
		}
		what, cands := "id", make([]string, 0, len(all))
		for _, in := range all {
			if i < len(sel.ids) {
				cands = append(cands, in.ID)
			} else {
				what = "name"
				cands = append(cands, in.Name)
			}
		}
		m := fmt.Sprintf("%s %q", what, p.String())
		if !p.Exact() {
			m = fmt.Sprintf("%s matching %q", what, p.String())
		} else if dym := bulk.DidYouMean(p.String(), cands, quoted); dym != "" {
			m += " (" + dym + ")"
		}
		missing = append(missing, m)
	}
	if len(missing) > 0 {
		return nil, failure("run 'polarity-bulk describe' without filters to see every integration",
			fmt.Errorf("no integration with %s on the server", strings.Join(missing, ", ")))
	}
	return out, nil
}

// quoted writes a suggestion in double quotes.
func quoted(s string) string { return fmt.Sprintf("%q", s) }
