package cli

import (
	"flag"
	"fmt"
	"unicode/utf8"
)

// delimiter is the --delimiter flag: the character that separates the cells of the CSV file
// read (validate, plan, apply) or written (export). The report's own files (failed.csv,
// backup.csv, results.csv) stay comma-separated, as polarity-bulk and scripts read them.
type delimiter rune

func (d *delimiter) String() string {
	if d == nil || *d == 0 || *d == ',' {
		return ","
	}
	if *d == '\t' {
		return "tab"
	}
	return string(rune(*d))
}

// Set takes one character, or "tab" (or \t) for a tab: a shell makes a literal tab awkward.
func (d *delimiter) Set(s string) error {
	switch s {
	case "tab", "TAB", `\t`:
		*d = '\t'
		return nil
	}
	r, size := utf8.DecodeRuneInString(s)
	switch {
	case s == "" || size != len(s):
		return fmt.Errorf("%q is not one character: give the separator alone, e.g. --delimiter ';' (or tab)", s)
	case r == '"' || r == '\r' || r == '\n' || r == utf8.RuneError || r == 0xFEFF:
		return fmt.Errorf("%q cannot separate cells: use ';', tab, '|' or ','", s)
	}
	*d = delimiter(r)
	return nil
}

// comma is the separator as sheet takes it.
func (d delimiter) comma() rune {
	if d == 0 {
		return ','
	}
	return rune(d)
}

// record is the separator as plan.json and the journal keep it: "" for a comma.
func (d delimiter) record() string {
	if c := d.comma(); c != ',' {
		return string(c)
	}
	return ""
}

// orRecorded is the separator to read a recorded CSV with: the one given on the command line,
// else the one its plan.json or journal recorded (the same file, by its SHA-256), else a comma.
func (d delimiter) orRecorded(recorded string) delimiter {
	if d.comma() != ',' {
		return d
	}
	var r delimiter
	if recorded != "" && r.Set(recorded) == nil {
		return r
	}
	return d
}

// addDelimiterFlag adds --delimiter; what says what the file is ("read", "written").
func addDelimiterFlag(fs *flag.FlagSet, what string) *delimiter {
	d := delimiter(',')
	fs.Var(&d, "delimiter", "the `C`haracter that separates the cells of the CSV file "+what+": ';' for Excel's default in many locales, tab, '|'")
	return &d
}
