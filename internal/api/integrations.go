package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/polarity-bulk/polarity-bulk/internal/bulk"
	"github.com/polarity-bulk/polarity-bulk/internal/secret"
)

// pageSizes are tried in turn when the server refuses a page size outright (400, 413, 422) on
// the first page. 1,000 reads a large server in one request; 300 and 100 are sizes real
// clients use.
var pageSizes = []int{1000, 300, 100}

// PageSizes returns the page sizes Integrations tries, largest first: probe asks the same.
func PageSizes() []int { return append([]int(nil), pageSizes...) }

// RefusedPageSize reports whether err is a server refusing a page size outright (400, 413,
// 422), after which Integrations tries the next smaller size.
func RefusedPageSize(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.HTTPStatus == http.StatusBadRequest ||
		e.HTTPStatus == http.StatusRequestEntityTooLarge || e.HTTPStatus == http.StatusUnprocessableEntity)
}

// maxPages stops a server that keeps sending new items from paging forever.
const maxPages = 10000

// MaxIntegrations is the most integrations Integrations reads. A real server has hundreds or a
// few thousand; a server that keeps inventing new ones page after page would otherwise hold
// the whole run's memory hostage.
const MaxIntegrations = 100_000

// maxListBytes bounds the answers one listing reads in all, for the same reason: 100,000
// integrations of a usual size are about 250 MB of JSON.
const maxListBytes = 512 << 20

// Integrations reads every integration with its options through GET /api/integrations, with
// as few pages as the server allows. With runningOnly, only integrations whose status is
// "running" are returned (asked of the server and checked again here).
//
// Paging stops at meta.page.total (read as an item count, or as a page count when it is
// smaller than the items already read), at an empty or short page, or at a page that brings
// nothing new (a server that ignores page[number]). When the first page is shorter than asked
// the server may have capped the size, so the next pages use the size it gave: with a total,
// only when the total says more remain; without one, one more page is asked to tell a cap from
// the end.
func (c *Client) Integrations(ctx context.Context, runningOnly bool) ([]bulk.Integration, error) {
	filter := url.Values{}
	if runningOnly {
		filter.Set("filter[integration.status]", "running")
	}
	all, err := c.list(ctx, filter)
	if err != nil || !runningOnly {
		if err == nil {
			c.listed.Store(int64(len(all)))
		}
		return all, err
	}
	running := all[:0]
	for _, in := range all {
		if in.Running() {
			running = append(running, in)
		}
	}
	return running, nil
}

// list reads every page of GET /api/integrations with the given filters (see Integrations
// for how paging ends).
func (c *Client) list(ctx context.Context, filter url.Values) ([]bulk.Integration, error) {
	// Start from the page size the server last accepted: a refusal then says something about
	// the filter, not the size, and no request is spent on sizes refused before.
	p := pager{size: pageSizes[0], seen: map[string]bool{}}
	if known := int(c.sizeIdx.Load()); known > 0 {
		p.sizeIdx, p.size, p.fixed = known-1, pageSizes[known-1], true
	}
	for page := 1; ; page++ {
		if page > maxPages {
			return nil, fmt.Errorf("list integrations: more than %d pages, giving up", maxPages)
		}
		q := url.Values{}
		for k, v := range filter {
			q[k] = v
		}
		q.Set("page[size]", strconv.Itoa(p.size))
		q.Set("page[number]", strconv.Itoa(page))
		op := "list integrations"
		if page > 1 {
			op = fmt.Sprintf("list integrations, page %d", page)
		}
		doc, n, err := c.getDocument(ctx, op, "/api/integrations", "", q)
		p.read += n
		if err != nil {
			if page == 1 && p.smaller(err) {
				c.log.Info("server refused the page size, trying a smaller one", "size", pageSizes[p.sizeIdx-1], "next", p.size)
				page--
				continue
			}
			return nil, err
		}
		items, err := parseDocumentInto(doc, c.shapes)
		if err != nil {
			return nil, &Error{Op: op, HTTPStatus: http.StatusOK, Err: fmt.Errorf("%w: %w", ErrBadResponse, err)}
		}
		c.guard(items)
		fresh := p.add(items)
		if len(p.all) > c.maxIntegrations || p.read > maxListBytes {
			return nil, &Error{Op: op, HTTPStatus: http.StatusOK, Err: fmt.Errorf(
				"%w: the server listed more than %d integrations (%d MB) and kept sending more: giving up (a real server has far fewer: is paging broken?)",
				ErrBadResponse, c.maxIntegrations, p.read>>20)}
		}
		if p.last(page, len(items), fresh, doc.total()) {
			c.sizeIdx.Store(int32(p.sizeIdx + 1))
			return p.all, nil
		}
		if page == 1 && len(items) < p.size {
			c.log.Debug("first page shorter than asked; the server may cap the page size", "asked", p.size, "got", len(items))
			p.size = len(items)
		}
	}
}

// pager is a listing as it goes: the integrations read, and the page size in use.
type pager struct {
	all     []bulk.Integration
	seen    map[string]bool
	read    int // bytes of answers read
	sizeIdx int
	size    int
	fixed   bool // the server accepted this size before: a refusal is not about it
}

// smaller moves to the next smaller page size after err, when err is a refusal of the size
// (400, 413, 422) and a smaller size is left.
func (p *pager) smaller(err error) bool {
	if p.fixed || p.sizeIdx+1 >= len(pageSizes) || !RefusedPageSize(err) {
		return false
	}
	p.sizeIdx++
	p.size = pageSizes[p.sizeIdx]
	return true
}

// add keeps the integrations not seen before and returns how many there were.
func (p *pager) add(items []bulk.Integration) int {
	fresh := 0
	for _, in := range items {
		if !p.seen[in.ID] {
			p.seen[in.ID] = true
			p.all = append(p.all, in)
			fresh++
		}
	}
	return fresh
}

// last reports whether page, which held n integrations (fresh of them new) and said total
// (-1: nothing), is the last one.
func (p *pager) last(page, n, fresh, total int) bool {
	if n == 0 || fresh == 0 || n > p.size {
		return true // the end, a server ignoring page[number], or one ignoring page[size]
	}
	if total >= 0 {
		if total >= len(p.all) {
			if len(p.all) >= total {
				return true
			}
		} else if page >= total {
			return true // total counts pages
		}
	}
	return n < p.size && page > 1
}

// errorsFilter is the list endpoint's filter of integrations reporting errors
// (polarity-api.md, [doc]).
const errorsFilter = "filter[integration.integration-errors]"

// WithErrors lists the ids of the integrations that report integration errors, through the
// list endpoint's errors filter: usually one short page. known is false when the server does
// not say: it refuses the filter (400, 404, 422), or ignores it, listing integrations that
// the opposite filter lists too. That second question is asked only when the first answer
// could be an ignored filter: it lists every integration the client has seen listed.
func (c *Client) WithErrors(ctx context.Context) (ids map[string]bool, known bool, err error) {
	with, err := c.list(ctx, url.Values{errorsFilter: {"true"}})
	if refusedFilter(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	ids = make(map[string]bool, len(with))
	for _, in := range with {
		ids[in.ID] = true
	}
	if seen := c.listed.Load(); len(with) == 0 || seen > 0 && int64(len(with)) < seen {
		return ids, true, nil
	}
	without, err := c.list(ctx, url.Values{errorsFilter: {"false"}})
	if refusedFilter(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	for _, in := range without {
		if ids[in.ID] {
			return nil, false, nil // the filter changes nothing: the server ignores it
		}
	}
	return ids, true, nil
}

// refusedFilter reports whether err is a server's refusal of a query it does not know.
func refusedFilter(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.HTTPStatus == http.StatusBadRequest || e.HTTPStatus == http.StatusNotFound ||
		e.HTTPStatus == http.StatusUnprocessableEntity)
}

// fewIDs is the largest number of integrations ReadIDs reads one GET each rather than
// through the list endpoint: one list page holds hundreds, so more single reads would cost
// more requests.
const fewIDs = 1

// ReadIDs reads the integrations with the given ids with as few requests as the API allows:
// one GET each for very few (fewIDs), else the list endpoint, whose pages hold hundreds of
// integrations; then it returns every integration listed, not only those asked for. An id
// the server does not know is left out, not an error: the caller says what it lacks.
func (c *Client) ReadIDs(ctx context.Context, ids []string) ([]bulk.Integration, error) {
	if len(ids) > fewIDs {
		return c.Integrations(ctx, false)
	}
	var out []bulk.Integration
	for _, id := range ids {
		in, err := c.Integration(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// Page is one page of GET /api/integrations.
type Page struct {
	Integrations []bulk.Integration
	// Total is meta.page.total as the server gave it, or -1 when it gave none.
	Total int
}

// IntegrationsPage reads one page of GET /api/integrations of the given size and number (from
// 1), as the server answers it: probe uses it to learn which page sizes a server honours.
func (c *Client) IntegrationsPage(ctx context.Context, size, number int) (Page, error) {
	q := url.Values{}
	q.Set("page[size]", strconv.Itoa(size))
	q.Set("page[number]", strconv.Itoa(number))
	op := fmt.Sprintf("list integrations, page %d of size %d", number, size)
	doc, _, err := c.getDocument(ctx, op, "/api/integrations", "", q)
	if err != nil {
		return Page{}, err
	}
	items, err := parseDocumentInto(doc, c.shapes)
	if err != nil {
		return Page{}, &Error{Op: op, HTTPStatus: http.StatusOK, Err: fmt.Errorf("%w: %w", ErrBadResponse, err)}
	}
	c.guard(items)
	return Page{Integrations: items, Total: doc.total()}, nil
}

// Integration reads one integration with its options through GET /api/integrations/<id>.
func (c *Client) Integration(ctx context.Context, id string) (bulk.Integration, error) {
	op := "get integration " + id
	if id == "" {
		return bulk.Integration{}, errors.New("get integration: empty id")
	}
	doc, _, err := c.getDocument(ctx, op, "/api/integrations/"+url.PathEscape(id), id, nil)
	if err != nil {
		return bulk.Integration{}, err
	}
	items, err := parseDocumentInto(doc, c.shapes)
	if err != nil {
		return bulk.Integration{}, &Error{Op: op, HTTPStatus: http.StatusOK, Err: fmt.Errorf("%w: %w", ErrBadResponse, err)}
	}
	c.guard(items)
	for _, in := range items {
		if in.ID == id {
			return in, nil
		}
	}
	return bulk.Integration{}, &Error{Op: op, HTTPStatus: http.StatusOK,
		Err: fmt.Errorf("%w: the answer holds no integration %s", ErrBadResponse, id)}
}

// getDocument reads one JSON:API document; it also returns the size of the answer.
// integration names the one integration read, if that is what it reads.
func (c *Client) getDocument(ctx context.Context, op, path, integration string, q url.Values) (*document, int, error) {
	cl := call{op: op, method: http.MethodGet, path: path, integration: integration, query: q}
	resp, attempts, err := c.do(ctx, cl)
	if err != nil {
		return nil, 0, err
	}
	var doc document
	if err := c.decode(cl, resp, attempts, &doc); err != nil {
		return nil, len(resp.body), err
	}
	return &doc, len(resp.body), nil
}

// guard makes what the server sent safe to show. An option whose value holds a credential of
// the client is marked so (then it is sensitive): a key written into a text option, by a
// ${NAME} cell before polarity-bulk refused those or by hand, must not be printed by every
// later plan. Names and choice displays are the server's text: credentials are scrubbed from
// them. The sensitive values read in clear are remembered, so that a server echoing one back
// in a later error cannot put it in a report.
func (c *Client) guard(ins []bulk.Integration) {
	for i := range ins {
		in := &ins[i]
		in.Name, in.Acronym = c.creds.Scrub(in.Name), c.creds.Scrub(in.Acronym)
		for j := range in.Options {
			o := &in.Options[j]
			o.Name = c.creds.Scrub(o.Name)
			for k := range o.Choices {
				o.Choices[k].Display = c.creds.Scrub(o.Choices[k].Display)
			}
			if o.Readable && c.creds.Contains(string(o.Value)) {
				o.HoldsCredential = true
			}
			if o.Sensitive() && o.Readable {
				c.addSecret(secret.JSONStrings(o.Value)...)
			}
		}
	}
}
