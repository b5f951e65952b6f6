package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/secret"
)

// What Patch sends for each option: the JSON:API resource type and the attribute names. probe
// compares them with what a server's OpenAPI document declares.
const PatchResourceType = "integration-option"

// PatchAttributes are the attributes Patch may send, in the order of polarity-api.md.
var PatchAttributes = []string{"value", "admin-only", "user-can-edit"}

// PatchItem is one option to change in a Patch.
type PatchItem struct {
	Key string
	// Value is sent as "value" when Present, and left out otherwise.
	Value bulk.Payload
	// Permission is sent as "admin-only" and "user-can-edit" when not nil; nil leaves both out, so
	// the permission stays as it is.
	Permission *bulk.Permission
	// Sensitive marks a value that must never appear in an error: it is scrubbed from the
	// server's answer. Other values stay, so that "https://x is not a valid URL" says which.
	Sensitive bool
}

// Outcome says how a Patch went at the HTTP level. It is filled even when Patch fails.
type Outcome struct {
	HTTPStatus int // the last answer's status; 0 when none came back
	Attempts   int // requests sent, retries included
	// Answer is the form of a successful answer: "empty" (no body), "resources" (a data
	// array of option resources) or "document" (other JSON); empty when the PATCH failed.
	Answer string
}

// Patch sends PATCH /api/integration-options with the given options of one integration. Any
// 2xx answer, with or without a body, is success. A refused PATCH returns an *Error whose
// items carry, where the server gave a source.pointer, the key of the option concerned.
//
// PATCH is retried like every request after a network error or a timeout, although the first
// attempt may have reached the server: it carries full values and flags, not increments, so
// applying it twice leaves the same state as applying it once.
func (c *Client) Patch(ctx context.Context, integrationID string, items []PatchItem) (Outcome, error) {
	op := "patch integration " + integrationID
	body, secrets, err := patchBody(integrationID, items)
	if err != nil {
		return Outcome{}, fmt.Errorf("%s: %w", op, err)
	}
	// A server may echo a value in any later answer, not only in this one's.
	c.addSecret(secrets...)
	cl := call{op: op, method: http.MethodPatch, path: "/api/integration-options", integration: integrationID, body: body, scrub: secrets, maxBody: MaxPatchBody}
	resp, attempts, err := c.do(ctx, cl)
	if err != nil {
		out := Outcome{Attempts: attempts}
		var e *Error
		if errors.As(err, &e) {
			out.HTTPStatus = e.HTTPStatus
			for i := range e.Items {
				if n, ok := pointerIndex(e.Items[i].Pointer); ok && n < len(items) {
					e.Items[i].Key = items[n].Key
				}
			}
		}
		return out, err
	}
	out := Outcome{HTTPStatus: resp.status, Attempts: attempts}
	// The body is not needed, but an HTML page or broken JSON under a 2xx is a proxy or a
	// login portal answering, not the server applying the change.
	answer := answerEmpty
	if len(bytes.TrimSpace(resp.body)) > 0 {
		var v json.RawMessage
		if err := c.decode(cl, resp, attempts, &v); err != nil {
			return out, err
		}
		answer = patchAnswerForm(v)
	} else if mt, _, _ := mime.ParseMediaType(resp.contentType()); mt == "text/html" {
		return out, &Error{Op: op, HTTPStatus: resp.status, Attempts: attempts,
			Err: fmt.Errorf("%w: empty %s answer", ErrBadResponse, mt)}
	}
	c.shapes.patch(resp.status, answer)
	out.Answer = answer
	return out, nil
}

// patchAnswerForm names the form of a PATCH answer's JSON: "resources" when its data is an
// array of option resources, "document" otherwise.
func patchAnswerForm(v json.RawMessage) string {
	var doc struct {
		Data []struct {
			Type string `json:"type"`
		} `json:"data"`
	}
	if json.Unmarshal(v, &doc) != nil || len(doc.Data) == 0 {
		return answerDocument
	}
	for _, r := range doc.Data {
		if !isOptionType(r.Type) {
			return answerDocument
		}
	}
	return answerResources
}

// patchBody builds the request document and lists the strings of the sensitive values sent,
// which must never appear in an error.
func patchBody(integrationID string, items []PatchItem) ([]byte, []string, error) {
	type attributes struct {
		Value       json.RawMessage `json:"value,omitempty"`
		AdminOnly   *bool           `json:"admin-only,omitempty"`
		UserCanEdit *bool           `json:"user-can-edit,omitempty"`
	}
	type resource struct {
		ID         string     `json:"id"`
		Type       string     `json:"type"`
		Attributes attributes `json:"attributes"`
	}
	if integrationID == "" {
		return nil, nil, errors.New("empty integration id")
	}
	if len(items) == 0 {
		return nil, nil, errors.New("no options to change")
	}
	var doc struct {
		Data []resource `json:"data"`
	}
	var secrets []string
	keys := map[string]bool{}
	for _, it := range items {
		switch {
		case it.Key == "":
			return nil, nil, errors.New("an option without a key")
		case keys[it.Key]:
			return nil, nil, fmt.Errorf("option %s given twice", it.Key)
		case !it.Value.Present() && it.Permission == nil:
			return nil, nil, fmt.Errorf("option %s: nothing to change", it.Key)
		case it.Permission != nil && !it.Permission.Valid():
			// admin-only and user-can-edit both true is invalid and must never be sent.
			return nil, nil, fmt.Errorf("option %s: admin-only and user-can-edit cannot both be true", it.Key)
		}
		keys[it.Key] = true
		var a attributes
		if it.Value.Present() {
			raw := it.Value.Bytes()
			// Checked here so that json.Marshal's error, which quotes a character of the
			// value, never surfaces.
			if !json.Valid(raw) {
				return nil, nil, fmt.Errorf("option %s: value is not valid JSON", it.Key)
			}
			a.Value = raw
			if it.Sensitive {
				secrets = append(secrets, secret.JSONStrings(raw)...)
			}
		}
		if it.Permission != nil {
			admin, edit := it.Permission.AdminOnly, it.Permission.UserCanEdit
			a.AdminOnly, a.UserCanEdit = &admin, &edit
		}
		doc.Data = append(doc.Data, resource{ID: bulk.OptionID(integrationID, it.Key), Type: PatchResourceType, Attributes: a})
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, errors.New("cannot encode the request")
	}
	return body, secrets, nil
}
