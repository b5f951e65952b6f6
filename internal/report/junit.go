package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

type junitSuites struct {
	XMLName xml.Name `xml:"testsuites"`
	Name    string   `xml:"name,attr"`
	junitCounts
	Suites []junitSuite `xml:"testsuite"`
}

// junitCounts are the attributes the document and its suite both carry.
type junitCounts struct {
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
	Errors   int    `xml:"errors,attr"`
	Skipped  int    `xml:"skipped,attr"`
	Time     string `xml:"time,attr"`
}

type junitSuite struct {
	Name string `xml:"name,attr"`
	junitCounts
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure"`
	Skipped   *junitMessage `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// JUnit writes junit.xml: one test suite for the run, one test case per integration named
// "id (name)". A failed integration is a failure whose message is its error and whose text
// lists its options with their lines and errors; a not-attempted one is skipped; applied and
// unchanged ones pass, with their options in system-out. Run metadata and flags are suite
// properties. Errors are scrubbed of secrets; encoding/xml escapes everything else, and
// replaces characters XML cannot carry.
func JUnit(w io.Writer, v *Results) error {
	ints := v.Totals.Integrations
	var dur time.Duration
	if !v.Started.IsZero() && !v.Finished.IsZero() {
		dur = v.Finished.Sub(v.Started)
	}
	suite := junitSuite{
		Name:        "polarity-bulk apply",
		junitCounts: junitCounts{Tests: ints.Total, Failures: ints.Failed, Skipped: ints.NotAttempted + ints.RolledBack, Time: seconds(dur)},
	}
	if !v.Started.IsZero() {
		suite.Timestamp = v.Started.UTC().Format(time.RFC3339)
	}
	prop := func(name, value string) {
		if value != "" {
			suite.Properties = append(suite.Properties, junitProperty{name, value})
		}
	}
	prop("tool", v.Tool)
	prop("server", v.Server)
	prop("input", v.Input.Path)
	prop("input.sha256", v.Input.SHA256)
	prop("interrupted", strconv.FormatBool(v.Interrupted))
	for _, k := range sortedKeys(v.Flags) {
		prop("flag."+k, v.Flags[k])
	}
	for i := range v.Integrations {
		res := &v.Integrations[i]
		tc := junitCase{
			Name:      targetName(res.ID, res.Name),
			Classname: "polarity-bulk.apply",
			Time:      seconds(res.duration),
		}
		switch res.Status {
		case bulk.StatusFailed:
			msg := res.Error
			if msg == "" {
				msg = "failed"
			}
			typ := ""
			if res.HTTPStatus != 0 {
				typ = "HTTP " + strconv.Itoa(res.HTTPStatus)
			}
			tc.Failure = &junitMessage{Message: msg, Type: typ, Text: junitOptions(res)}
		case bulk.StatusRolledBack:
			tc.Skipped = &junitMessage{Message: res.Error}
		case bulk.StatusNotAttempted:
			msg := "not attempted"
			if e := res.Error; e != "" {
				msg += ": " + e
			}
			tc.Skipped = &junitMessage{Message: msg}
		default:
			tc.SystemOut = junitOptions(res)
		}
		suite.Cases = append(suite.Cases, tc)
	}
	doc := junitSuites{
		Name: "polarity-bulk", junitCounts: suite.junitCounts, Suites: []junitSuite{suite},
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode junit: %w", err)
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// junitOptions lists an integration's options, one per line: key, lines, status, what
// changed, verification and error.
func junitOptions(res *ResultIntegration) string {
	var b strings.Builder
	for _, o := range res.Options {
		fmt.Fprintf(&b, "%s [%s]: %s", o.Key, linesText(o.lines()), o.Status)
		if o.Action == string(bulk.ActionUpdate) {
			b.WriteString(": " + describe(o.shown()).plain())
		}
		switch o.Verified {
		case bulk.VerifyOK:
			b.WriteString(" (verified)")
		case bulk.VerifyMismatch:
			b.WriteString(" (NOT verified: read back different)")
		case bulk.VerifyUnknown:
			b.WriteString(" (not verified: the server does not show the value)")
		}
		if o.Error != "" {
			b.WriteString(": " + o.Error)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// seconds formats a duration as JUnit's seconds with millisecond precision.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}
