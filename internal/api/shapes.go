package api

import (
	"maps"
	"slices"
	"sync"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
)

// Where options were found, as bulk.ServerShapes.OptionsIn names it.
const (
	placeIncluded         = "included"
	placeAttributes       = "attributes"
	placeAttributesObject = "attributes-object"
)

// visibility is how a password option's value came back.
type visibility byte

const (
	visClear visibility = iota + 1
	visMasked
	visEmpty
	visAbsent
)

// shapeTally collects the forms the client met. Its methods are safe on a nil tally (they do
// nothing) and for concurrent use.
type shapeTally struct {
	mu           sync.Mutex
	optionsIn    map[string]bool
	types        map[string]bool
	kindAttrs    map[string]bool
	sensitive    map[string]visibility // option id → its latest form, so re-reads count once
	patchStatus  map[int]bool
	patchAnswers map[string]bool
}

func newShapeTally() *shapeTally {
	return &shapeTally{
		optionsIn: map[string]bool{}, types: map[string]bool{}, kindAttrs: map[string]bool{},
		sensitive: map[string]visibility{}, patchStatus: map[int]bool{}, patchAnswers: map[string]bool{},
	}
}

// option records one option read from the server: where it was, its resource type, the name
// of its kind attribute and, for a password, how its value came back.
func (t *shapeTally) option(integrationID string, o bulk.Option, f optionForm, place, typ string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.optionsIn[place] = true
	if typ != "" {
		t.types[typ] = true
	}
	if f.kindAttr != "" {
		t.kindAttrs[f.kindAttr] = true
	}
	if o.Kind == bulk.KindPassword && f.value != 0 {
		t.sensitive[bulk.OptionID(integrationID, o.Key)] = f.value
	}
}

// patch records a successful PATCH answer.
func (t *shapeTally) patch(status int, answer string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.patchStatus[status] = true
	t.patchAnswers[answer] = true
}

// record returns what was collected.
func (t *shapeTally) record() bulk.ServerShapes {
	t.mu.Lock()
	defer t.mu.Unlock()
	var s bulk.ServerShapes
	s.OptionsIn = slices.Sorted(maps.Keys(t.optionsIn))
	s.OptionTypes = slices.Sorted(maps.Keys(t.types))
	s.KindAttrs = slices.Sorted(maps.Keys(t.kindAttrs))
	s.PatchStatuses = slices.Sorted(maps.Keys(t.patchStatus))
	s.PatchAnswers = slices.Sorted(maps.Keys(t.patchAnswers))
	for _, v := range t.sensitive {
		switch v {
		case visClear:
			s.Sensitive.Clear++
		case visMasked:
			s.Sensitive.Masked++
		case visEmpty:
			s.Sensitive.Empty++
		case visAbsent:
			s.Sensitive.Absent++
		}
	}
	return s
}

// Shapes returns the forms of the server's answers the client has met so far: where options
// were, their resource type and kind attribute, how password values came back (each option
// counted once), and how PATCHes were answered.
func (c *Client) Shapes() bulk.ServerShapes { return c.shapes.record() }

// The PATCH answer forms of bulk.ServerShapes.PatchAnswers.
const (
	answerEmpty     = "empty"
	answerResources = "resources"
	answerDocument  = "document"
)
