// Package cli is polarity-bulk's command line: one file per command, each with its own
// flag.FlagSet, and one place (Main) that turns errors into exit codes.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// Exit codes of SPEC.md section 6.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitChanges     = 2 // plan --detailed-exitcode: changes present
	ExitInvalid     = 3
	ExitInterrupted = 130
)

// Stdio is the process's outside world, injected so tests run commands in-process.
type Stdio struct {
	In        io.Reader
	Out, Err  io.Writer
	LookupEnv func(string) (string, bool)
	// Terminal reports whether a stream (one of In, Out, Err) is a terminal.
	Terminal func(any) bool
}

// OSStdio is the real process's Stdio.
func OSStdio() Stdio {
	return Stdio{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		LookupEnv: os.LookupEnv,
		Terminal: func(s any) bool {
			f, ok := s.(*os.File)
			return ok && term.IsTerminal(int(f.Fd()))
		},
	}
}

// withPeopleStreams makes stderr, the stream for people, survive its reader (see
// peopleStream), keeping what Terminal says of it.
func (s Stdio) withPeopleStreams() Stdio {
	s.Err = forPeople(s.Err)
	if term := s.Terminal; term != nil {
		s.Terminal = func(x any) bool { return term(underlying(x)) }
	}
	return s
}

func (s Stdio) getenv(k string) string {
	v, _ := s.LookupEnv(k)
	return v
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, io Stdio) error
}

func commands() []command {
	return []command{
		{"validate", "check a CSV file without a server", runValidate},
		{"plan", "show what apply would change (the dry run; reads only)", runPlan},
		{"apply", "apply a CSV file or a reviewed plan, writing a report", runApply},
		{"export", "write the server's current options as a CSV file", runExport},
		{"describe", "show integrations' options: keys, kinds, choices, permissions (no values)", runDescribe},
		{"probe", "first contact with a server: what works, and the shapes of its answers", runProbe},
		{"show", "print a saved plan.json or report directory as plan and apply did; --html redraws report.html (no server)", runShow},
		{"version", "print the version", runVersion},
	}
}

const mainUsage = `polarity-bulk rolls out integration-option changes to a Polarity server from a CSV file.

Usage:
  polarity-bulk <command> [flags] [FILE]

Commands:
%s
Run 'polarity-bulk <command> --help' for a command's flags and an example.

Example:
  polarity-bulk validate changes.csv
  POLARITY_URL=https://polarity.example.com POLARITY_API_KEY=... polarity-bulk plan changes.csv
`

func usage(w io.Writer) {
	var b strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, mainUsage, b.String())
}

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, args []string, stdio Stdio) int {
	stdio = stdio.withPeopleStreams()
	stdio.Err = newConsole(stdio.Err, jsonLogRequested(args))
	if len(args) == 0 {
		usage(stdio.Err)
		return ExitUsage
	}
	name := args[0]
	switch name {
	case "help":
		if len(args) > 1 {
			return Main(ctx, []string{args[1], "--help"}, stdio) // help CMD is CMD --help
		}
		usage(stdio.Out)
		return ExitOK
	case "-h", "-help", "--help":
		usage(stdio.Out)
		return ExitOK
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			return exitCode(c.run(ctx, args[1:], stdio), stdio.Err)
		}
	}
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	msg := fmt.Sprintf("unknown command %q", name)
	if dym := bulk.DidYouMean(name, names, plain); dym != "" {
		msg += ": " + dym
	}
	return exitCode(usageError("the commands are "+andList(names)+"; see 'polarity-bulk --help'", "%s", msg), stdio.Err)
}

// exitError carries an exit code and an optional hint through the error chain.
type exitError struct {
	code int
	err  error
	hint string
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(hint, format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...), hint: hint}
}

// invalidInput is exit 3: a file the command was given to read is missing, unreadable or not
// what it must be; nothing was sent.
func invalidInput(hint, format string, args ...any) error {
	return &exitError{code: ExitInvalid, err: fmt.Errorf(format, args...), hint: hint}
}

func failure(hint string, err error) error {
	return &exitError{code: ExitFailure, err: err, hint: hint}
}

// errChanges is plan --detailed-exitcode's "there are changes": not a failure, nothing printed.
var errChanges = &exitError{code: ExitChanges, err: errors.New("changes present")}

// errShown means the command already told the user everything; only the exit code remains.
type errShown struct{ code int }

func (e errShown) Error() string { return fmt.Sprintf("exit %d", e.code) }

// exitCode prints err (with its hint) and maps it to an exit code: the one place that does.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var shown errShown
	if errors.As(err, &shown) {
		return shown.code
	}
	if err == errChanges {
		return ExitChanges
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	con := consoleOf(Stdio{Err: stderr})
	var probs bulk.Problems
	if errors.As(err, &probs) {
		con.problems(probs)
		return ExitInvalid
	}
	code, hint := ExitFailure, ""
	var ee *exitError
	if errors.As(err, &ee) {
		code, hint = ee.code, ee.hint
	}
	if errors.Is(err, context.Canceled) && code == ExitFailure {
		code = ExitInterrupted
	}
	con.fail(err, hint)
	return code
}

// newFlagSet makes a command's flag set; its usage prints the command's synopsis, example and
// flags.
func newFlagSet(stdio Stdio, name, synopsis, example string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage:\n  polarity-bulk %s\n\n%s\n\nFlags:\n", synopsis, strings.TrimSpace(example))
		fs.VisitAll(func(f *flag.Flag) {
			kind, help := flag.UnquoteUsage(f)
			dash := "--"
			if len(f.Name) == 1 {
				dash = "-" // -v, as it is written
			}
			fmt.Fprintf(w, "  %s%s", dash, f.Name)
			if kind != "" {
				fmt.Fprintf(w, " %s", kind)
			}
			fmt.Fprintf(w, "\n      %s", help)
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
				fmt.Fprintf(w, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(w)
		})
	}
	return fs
}

// parse parses flags that may come before or after the positional arguments, and returns the
// positional ones. --help prints the usage to stdout and ends the command with exit 0.
func parse(fs *flag.FlagSet, args []string, stdio Stdio) ([]string, error) {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(stdio.Out)
			fs.Usage()
			return nil, flag.ErrHelp
		}
	}
	// A bad flag comes back as one error line with a hint; the flag package would otherwise
	// print its own copy of the error and the whole usage ahead of it.
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError("see 'polarity-bulk "+fs.Name()+" --help'", "%s: %v%s", fs.Name(), err, flagSuggestion(fs, err))
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil // everything after -- is positional
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// undefinedFlag is how the flag package words a flag it does not know; the name follows.
const undefinedFlag = "flag provided but not defined: -"

// flagSuggestion is ": did you mean --x?" for a misspelled flag, or "". The flag package has
// no typed error for an unknown flag: its wording, stable since Go 1, is matched instead.
func flagSuggestion(fs *flag.FlagSet, err error) string {
	name, ok := strings.CutPrefix(err.Error(), undefinedFlag)
	if !ok {
		return ""
	}
	name = strings.TrimLeft(name, "-")
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	dym := bulk.DidYouMean(name, names, func(n string) string {
		if len(n) == 1 {
			return "-" + n
		}
		return "--" + n
	})
	if dym == "" {
		return ""
	}
	return ": " + dym
}

// plain writes a suggestion as it is.
func plain(s string) string { return s }

// andList joins words as "a, b and c".
func andList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// oneFile requires exactly one FILE argument.
func oneFile(fs *flag.FlagSet, pos []string) (string, error) {
	switch len(pos) {
	case 1:
		return pos[0], nil
	case 0:
		return "", usageError("give the CSV file to read, or - for standard input: polarity-bulk "+fs.Name()+" changes.csv", "%s: missing FILE", fs.Name())
	}
	return "", usageError("give one CSV file per run", "%s: too many arguments: %s", fs.Name(), strings.Join(pos, " "))
}

// noFile parses the flags of a command that takes no FILE, and refuses one with hint.
func noFile(fs *flag.FlagSet, args []string, stdio Stdio, hint string) error {
	pos, err := parse(fs, args, stdio)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError(hint, "%s: unexpected argument %q", fs.Name(), pos[0])
	}
	return nil
}

// fileCommand parses the flags of a command that takes one FILE, and builds its logger.
func fileCommand(fs *flag.FlagSet, args []string, stdio Stdio, lf *logFlags) (string, *slog.Logger, error) {
	pos, err := parse(fs, args, stdio)
	if err != nil {
		return "", nil, err
	}
	file, err := oneFile(fs, pos)
	if err != nil {
		return "", nil, err
	}
	log, err := lf.logger(stdio)
	return file, log, err
}
