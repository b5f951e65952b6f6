package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/polarity-bulk/polarity-bulk/internal/secret"
)

// The causes an *Error wraps, for errors.Is. Statuses that have no sentinel (400, 409, 422,
// 429 and 5xx after the retries) are told apart by Error.HTTPStatus.
var (
	// ErrAuth means the server refused the credentials: the login answered 401 or 403, a
	// request still answered 401 after logging in again, or an API key answered 401.
	ErrAuth = errors.New("authentication refused")
	// ErrForbidden means a request answered 403: the credentials are fine but lack the rights
	// (an API key not scoped to the integration, a user who is not an admin).
	ErrForbidden = errors.New("permission denied")
	// ErrNotFound means a request answered 404.
	ErrNotFound = errors.New("not found")
	// ErrConnection means no answer came back: the connection failed or every attempt timed out.
	ErrConnection = errors.New("connection failed")
	// ErrBadResponse means an answer came back that the client cannot use: not JSON, malformed,
	// too large, or missing what it must hold.
	ErrBadResponse = errors.New("bad response")
	// ErrRefused means a 2xx answer carried a JSON:API errors member: whatever its status, the
	// server says the request failed (Polarity answers 200 {"errors": [...]} for an
	// integration that is not running).
	ErrRefused = errors.New("the server reported errors")
	// ErrWaitTooLong means the server asked for a pause (Retry-After) longer than the client's
	// MaxWait: the request was not sent again, and requests that would have to wait for that
	// pause fail with it too.
	ErrWaitTooLong = errors.New("server asked to wait too long")
	// ErrRetryBudget means the retry budget shared by every request was spent: the server has
	// refused so many requests that retrying more would only prolong a failing run.
	ErrRetryBudget = errors.New("retry budget spent")
)

// waitError is ErrWaitTooLong with the pause asked for.
type waitError struct {
	asked, max time.Duration
}

func (e *waitError) Error() string {
	return fmt.Sprintf("server asked to wait %s, more than --max-wait %s", roundWait(e.asked), e.max)
}

func (e *waitError) Is(target error) bool { return target == ErrWaitTooLong }

// roundWait shows a wait to the second, as Retry-After gives it.
func roundWait(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(time.Second)
	}
	return d
}

// Error is a failed call to the server. Op names the call and the item it concerns
// ("patch integration abuseipdb_3_3_4_node_18_71ff23754e_1725342515"). It never holds a token,
// a key, a password or an option value.
type Error struct {
	Op         string
	HTTPStatus int // 0 when no answer came back
	// Items are the JSON:API error objects of the answer, nested meta.errors flattened in.
	Items    []ErrorItem
	Attempts int // requests sent for the call, retries included
	// Err is the cause: one of the sentinels above, a context error, or a description of the
	// problem; it may wrap the network error.
	Err error
}

// ErrorItem is one JSON:API error object.
type ErrorItem struct {
	Status  string
	Title   string
	Detail  string
	Pointer string // source.pointer, e.g. /data/0/attributes/value
	// Key is the option key the pointer designates, for errors of a Patch whose pointer names
	// one of the items sent; empty otherwise.
	Key string
}

// Error reads like "patch integration X: 422 unprocessable entity: <title>: <detail>".
func (e *Error) Error() string {
	parts := []string{e.Op}
	if e.HTTPStatus != 0 && (e.HTTPStatus < 200 || e.HTTPStatus > 299) {
		parts = append(parts, statusText(e.HTTPStatus))
	}
	if e.Err != nil && !(e.HTTPStatus == http.StatusNotFound && e.Err == ErrNotFound) &&
		!(e.HTTPStatus == http.StatusForbidden && e.Err == ErrForbidden) {
		parts = append(parts, e.Err.Error())
	}
	for _, it := range e.Items {
		if s := it.text(); s != "" {
			parts = append(parts, s)
		}
	}
	s := strings.Join(parts, ": ")
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	return s
}

// Unwrap returns the cause, so errors.Is(err, ErrAuth) and the like work.
func (e *Error) Unwrap() error { return e.Err }

// ItemIndex returns the index, in the items sent, of the option the i-th error item concerns:
// the n of a source.pointer "/data/n/...". It reports false when the item has no such pointer.
func (e *Error) ItemIndex(i int) (int, bool) {
	if i < 0 || i >= len(e.Items) {
		return 0, false
	}
	return pointerIndex(e.Items[i].Pointer)
}

// Keys returns the option keys the error items point at, in order and without repeats; it is
// empty when the server did not say which options it refused.
func (e *Error) Keys() []string {
	var keys []string
	seen := map[string]bool{}
	for _, it := range e.Items {
		if it.Key != "" && !seen[it.Key] {
			seen[it.Key] = true
			keys = append(keys, it.Key)
		}
	}
	return keys
}

// Message is the item's title and detail, as one text: "title: detail", or either alone
// (a detail that repeats the title is said once).
func (it ErrorItem) Message() string {
	switch {
	case it.Detail == "" || it.Detail == it.Title:
		return it.Title
	case it.Title == "":
		return it.Detail
	}
	return it.Title + ": " + it.Detail
}

// text is Message with the option it concerns in front.
func (it ErrorItem) text() string {
	msg := it.Message()
	switch {
	case it.Key == "":
		return msg
	case msg == "":
		return "option " + it.Key
	}
	return "option " + it.Key + ": " + msg
}

// pointerIndex reads the n of "/data/n" or "/data/n/...".
func pointerIndex(p string) (int, bool) {
	rest, ok := strings.CutPrefix(p, "/data/")
	if !ok {
		return 0, false
	}
	num, _, _ := strings.Cut(rest, "/")
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

func statusText(code int) string {
	t := http.StatusText(code)
	if t == "" {
		return strconv.Itoa(code)
	}
	return strconv.Itoa(code) + " " + strings.ToLower(t)
}

// maxItems bounds how many error objects are kept from one answer, so a hostile or buggy
// server cannot make an error message of megabytes.
const maxItems = 50

// maxItemText bounds one title or detail.
const maxItemText = 500

// parseErrorItems reads a JSON:API errors array, flattening nested meta.errors. It returns nil
// when the body holds none. Titles and details are left whole: the caller scrubs secrets from
// them before clipping them to maxItemText, so that a cut cannot leave part of a secret.
func parseErrorItems(body []byte) []ErrorItem {
	var doc struct {
		Errors []json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return nil
	}
	var items []ErrorItem
	var walk func(raws []json.RawMessage, depth int)
	walk = func(raws []json.RawMessage, depth int) {
		for _, raw := range raws {
			if len(items) >= maxItems {
				return
			}
			var e struct {
				Status  json.RawMessage `json:"status"`
				Title   string          `json:"title"`
				Detail  string          `json:"detail"`
				Message string          `json:"message"`
				Source  struct {
					Pointer string `json:"pointer"`
				} `json:"source"`
				Meta struct {
					Errors []json.RawMessage `json:"errors"`
				} `json:"meta"`
			}
			if json.Unmarshal(raw, &e) != nil {
				// A bare string in meta.errors is still a message worth showing.
				var s string
				if json.Unmarshal(raw, &s) == nil && s != "" {
					items = append(items, ErrorItem{Detail: s})
				}
				continue
			}
			detail := e.Detail
			if detail == "" {
				detail = e.Message
			}
			it := ErrorItem{
				Status:  jsonScalar(e.Status),
				Title:   e.Title,
				Detail:  detail,
				Pointer: clip(e.Source.Pointer, maxItemText),
			}
			if it.Title != "" || it.Detail != "" || it.Pointer != "" {
				items = append(items, it)
			}
			if depth < 3 {
				walk(e.Meta.Errors, depth+1)
			}
		}
	}
	walk(doc.Errors, 0)
	return items
}

// jsonScalar renders a JSON string or number as text (JSON:API says status is a string; some
// servers send a number).
func jsonScalar(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// clip shortens s to at most n bytes of valid UTF-8 on one line.
func clip(s string, n int) string {
	s = secret.OneLine(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
