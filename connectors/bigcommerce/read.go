package bigcommerce

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

// v2Time is the RFC 2822 layout of v2 dates, in responses and in min_date_modified:
// "Tue, 20 Nov 2012 00:00:00 +0000".
const v2Time = time.RFC1123Z

// v3Time is the ISO 8601 layout v3 filters are sent in: "2018-09-05T20:42:07+00:00".
const v3Time = "2006-01-02T15:04:05-07:00"

// keyed is one object of an incremental list: its ID, its date_modified and the object as decoded.
type keyed struct {
	id       string
	modified time.Time
	data     map[string]any
}

// keysetSource is what readKeyset needs from an incrementally read entity.
type keysetSource struct {
	entity connectors.Entity
	limit  int
	// fetch lists page `page` of the objects modified at or after bound, oldest first. remaining is how many
	// objects still match after this page, or -1 when unknown.
	fetch func(ctx context.Context, bound time.Time, page int) (objs []keyed, remaining int, err error)
	// records turns the page's new objects into records (fetching what the list did not include).
	records func(ctx context.Context, objs []keyed) ([]connectors.Record, error)
	// requestsPer is how many requests one remaining object costs, for Page.Remaining.
	requestsPer float64
}

// readKeyset reads objects modified at or after since, oldest first, page by page. BigCommerce only pages by
// number, and a number-paged list sorted by date_modified shifts whenever an object changes during the read
// (it jumps to the end and everything after it moves up a slot), which would skip an unread object at each
// page boundary. So after every full page the lower bound moves up to the page's last date_modified (less a
// second, in case the filter is exclusive) and paging restarts at page 1; the objects already emitted at or
// after the new bound are remembered and skipped. Only when a whole page shares one second does it turn the
// page instead. The token of each page holds that state, so a resumed read continues exactly after it.
func (c *Connector) readKeyset(ctx context.Context, src keysetSource, since time.Time, tok *resumeToken, emit connectors.EmitFunc) error {
	st := resumeToken{Entity: string(src.entity), Bound: since.UTC().Truncate(time.Second), Page: 1}
	if tok != nil {
		st = *tok
		st.Page = max(st.Page, 1)
	}
	if st.Seen == nil {
		st.Seen = map[string]int64{}
	}
	for n := 1; ; n++ {
		objs, remaining, err := src.fetch(ctx, st.Bound, st.Page)
		if err != nil {
			return fmt.Errorf("bigcommerce: list %s page %d: %w", src.entity, n, err)
		}
		fresh := make([]keyed, 0, len(objs))
		for _, o := range objs {
			if !st.Bound.IsZero() && o.modified.Before(st.Bound) {
				// BigCommerce ignores a modification filter it cannot parse and lists everything; never
				// hand the engine what it did not ask for.
				continue
			}
			if at, ok := st.Seen[o.id]; ok && at == o.modified.Unix() {
				continue
			}
			fresh = append(fresh, o)
		}
		records, err := src.records(ctx, fresh)
		if err != nil {
			return fmt.Errorf("bigcommerce: list %s page %d: %w", src.entity, n, err)
		}
		for _, o := range fresh {
			st.Seen[o.id] = o.modified.Unix()
		}
		more := len(objs) >= src.limit
		if more {
			if nb := objs[len(objs)-1].modified.Add(-time.Second); nb.After(st.Bound) {
				st.Bound, st.Page = nb, 1
				for id, at := range st.Seen {
					if at < nb.Unix() {
						delete(st.Seen, id)
					}
				}
			} else {
				st.Page++
			}
		}
		page := connectors.Page{Records: records, Resume: st.String()}
		if more && remaining > 0 {
			page.Remaining = c.pacer.estimate(int(math.Ceil(float64(remaining) * src.requestsPer)))
		}
		if err := emit(ctx, page); err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
}

// readOrders reads orders from the v2 API by date_modified, each with its lines (GET /v2/orders/{id}/products)
// in the record's "line_items" list.
func (c *Connector) readOrders(ctx context.Context, since time.Time, tok *resumeToken, emit connectors.EmitFunc) error {
	limit := pageSize(c.PageSizes.Orders, maxPageSize)
	bound := since
	if tok != nil {
		bound = tok.Bound
	}
	// The order count is only for Page.Remaining: every order costs a request for its lines, so a long
	// backfill at 150 requests per 30 s takes a while and status should say how long.
	total, err := c.countOrders(ctx, bound)
	if err != nil {
		return fmt.Errorf("bigcommerce: count orders: %w", err)
	}
	read := 0
	src := keysetSource{
		entity: v1alpha1.DataOrders,
		limit:  limit,
		fetch: func(ctx context.Context, bound time.Time, page int) ([]keyed, int, error) {
			q := url.Values{
				"sort":  {"date_modified:asc"},
				"page":  {strconv.Itoa(page)},
				"limit": {strconv.Itoa(limit)},
			}
			if !bound.IsZero() {
				q.Set("min_date_modified", bound.UTC().Format(v2Time))
			}
			var list []map[string]any
			if err := c.get(ctx, "/v2/orders", q, &list); err != nil {
				return nil, 0, err
			}
			objs := make([]keyed, 0, len(list))
			for _, o := range list {
				k, err := keyedV2(o)
				if err != nil {
					return nil, 0, err
				}
				objs = append(objs, k)
			}
			read += len(objs)
			return objs, total - read, nil
		},
		records:     c.orderRecords,
		requestsPer: 1 + 1/float64(limit),
	}
	return c.readKeyset(ctx, src, since, tok, emit)
}

// countOrders counts the orders modified at or after since: GET /v2/orders/count.
func (c *Connector) countOrders(ctx context.Context, since time.Time) (int, error) {
	q := url.Values{}
	if !since.IsZero() {
		q.Set("min_date_modified", since.UTC().Format(v2Time))
	}
	var out struct {
		Count int `json:"count"`
	}
	if err := c.get(ctx, "/v2/orders/count", q, &out); err != nil {
		return 0, err
	}
	return out.Count, nil
}

// keyedV2 reads a v2 order's ID and date_modified, and rewrites its RFC 2822 dates as RFC 3339 so field
// mappings can read them as times.
func keyedV2(o map[string]any) (keyed, error) {
	id := idString(o["id"])
	if id == "" {
		return keyed{}, connectors.Terminal("UnexpectedResponse", fmt.Errorf("an order without an id"))
	}
	for _, f := range []string{"date_created", "date_modified", "date_shipped"} {
		s, _ := o[f].(string)
		if s == "" {
			continue
		}
		t, err := time.Parse(v2Time, s)
		if err != nil {
			return keyed{}, connectors.Terminal("UnexpectedResponse", fmt.Errorf("order %s: %s %q is not an RFC 2822 date", id, f, s))
		}
		o[f] = t.UTC().Format(time.RFC3339)
	}
	mod, err := time.Parse(time.RFC3339, stringOf(o["date_modified"]))
	if err != nil {
		return keyed{}, connectors.Terminal("UnexpectedResponse", fmt.Errorf("order %s has no date_modified", id))
	}
	return keyed{id: id, modified: mod.UTC(), data: o}, nil
}

// orderRecords fetches the lines of each order, LineWorkers at a time, and returns one record per order in
// the page's order. An order archived between the list and its lines is left out: there is nothing to update.
func (c *Connector) orderRecords(ctx context.Context, objs []keyed) ([]connectors.Record, error) {
	lines := make([][]any, len(objs))
	gone := make([]bool, len(objs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error // the failure that stopped the page; the cancellations it causes come later
		wg       sync.WaitGroup
	)
	work := make(chan int)
	for w := 0; w < max(1, c.LineWorkers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				l, err := c.orderLines(ctx, objs[i].id)
				switch {
				case statusOf(err) == http.StatusNotFound:
					gone[i] = true
				case err != nil:
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
				}
				lines[i] = l
			}
		}()
	}
	for i := range objs {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]connectors.Record, 0, len(objs))
	for i, o := range objs {
		if gone[i] {
			c.log.V(1).Info("order archived while reading; skipped", "order", o.id)
			continue
		}
		o.data["line_items"] = lines[i]
		out = append(out, connectors.Record{ID: o.id, UpdatedAt: o.modified, Data: o.data})
	}
	return out, nil
}

// orderLines lists every product line of an order, page by page (BigCommerce returns 50 by default).
func (c *Connector) orderLines(ctx context.Context, id string) ([]any, error) {
	limit := pageSize(c.PageSizes.OrderProducts, maxPageSize)
	lines := []any{}
	for page := 1; ; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "limit": {strconv.Itoa(limit)}}
		var list []any
		if err := c.get(ctx, "/v2/orders/"+url.PathEscape(id)+"/products", q, &list); err != nil {
			return nil, fmt.Errorf("products of order %s, page %d: %w", id, page, err)
		}
		lines = append(lines, list...)
		if len(list) < limit {
			return lines, nil
		}
	}
}

// v3Page is a v3 list response.
type v3Page struct {
	Data []map[string]any `json:"data"`
	Meta struct {
		Pagination struct {
			Total       int `json:"total"`
			Count       int `json:"count"`
			PerPage     int `json:"per_page"`
			CurrentPage int `json:"current_page"`
			TotalPages  int `json:"total_pages"`
		} `json:"pagination"`
	} `json:"meta"`
}

// last reports whether the page is the list's last.
func (p *v3Page) last(limit int) bool {
	pg := p.Meta.Pagination
	return len(p.Data) < limit || (pg.TotalPages > 0 && pg.CurrentPage >= pg.TotalPages)
}

// readProducts reads catalog products with their variants by date_modified and makes one record per variant
// (Tether's SKU), carrying its product in "product".
func (c *Connector) readProducts(ctx context.Context, since time.Time, tok *resumeToken, emit connectors.EmitFunc) error {
	limit := pageSize(c.PageSizes.Products, maxPageSize)
	src := keysetSource{
		entity: v1alpha1.DataProducts,
		limit:  limit,
		fetch: func(ctx context.Context, bound time.Time, page int) ([]keyed, int, error) {
			q := url.Values{
				"include":   {"variants"},
				"sort":      {"date_modified"},
				"direction": {"asc"},
				"page":      {strconv.Itoa(page)},
				"limit":     {strconv.Itoa(limit)},
			}
			if !bound.IsZero() {
				q.Set("date_modified:min", bound.UTC().Format(v3Time))
			}
			var p v3Page
			if err := c.get(ctx, "/v3/catalog/products", q, &p); err != nil {
				return nil, 0, err
			}
			objs := make([]keyed, 0, len(p.Data))
			for _, prod := range p.Data {
				id := idString(prod["id"])
				mod, err := time.Parse(time.RFC3339, stringOf(prod["date_modified"]))
				if id == "" || err != nil {
					return nil, 0, connectors.Terminal("UnexpectedResponse", fmt.Errorf("product %q without an id or an ISO 8601 date_modified", id))
				}
				objs = append(objs, keyed{id: id, modified: mod.UTC(), data: prod})
			}
			pg := p.Meta.Pagination
			return objs, pg.Total - (pg.CurrentPage-1)*pg.PerPage - len(p.Data), nil
		},
		records: func(_ context.Context, objs []keyed) ([]connectors.Record, error) {
			var out []connectors.Record
			for _, o := range objs {
				out = append(out, variantRecords(o)...)
			}
			return out, nil
		},
		requestsPer: 1 / float64(limit),
	}
	return c.readKeyset(ctx, src, since, tok, emit)
}

// variantRecords makes one record per variant of a product: the variant as BigCommerce returns it, plus
// "product" with the product's id, name, sku, type and dates. Its UpdatedAt is the product's date_modified,
// which moves when a variant changes.
func variantRecords(o keyed) []connectors.Record {
	prod := map[string]any{}
	for _, f := range []string{"id", "name", "sku", "type", "brand_id", "is_visible", "date_created", "date_modified"} {
		if v, ok := o.data[f]; ok {
			prod[f] = v
		}
	}
	variants, _ := o.data["variants"].([]any)
	out := make([]connectors.Record, 0, len(variants))
	for _, v := range variants {
		vm, ok := v.(map[string]any)
		if !ok {
			continue
		}
		id := idString(vm["id"])
		if id == "" {
			continue
		}
		vm["product"] = prod
		out = append(out, connectors.Record{ID: id, UpdatedAt: o.modified, Data: vm})
	}
	return out
}

// readFullPages reads every page of a v3 list that has no modification filter, from the token's page on.
func (c *Connector) readFullPages(ctx context.Context, entity v1alpha1.DataType, path string, query url.Values, limit int, tok *resumeToken,
	records func(p *v3Page) ([]connectors.Record, error), emit connectors.EmitFunc) error {
	page := 1
	if tok != nil {
		page = max(tok.Page, 1)
	}
	for n := 1; ; n, page = n+1, page+1 {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("page", strconv.Itoa(page))
		q.Set("limit", strconv.Itoa(limit))
		var p v3Page
		if err := c.get(ctx, path, q, &p); err != nil {
			return fmt.Errorf("bigcommerce: list %s page %d: %w", entity, n, err)
		}
		recs, err := records(&p)
		if err != nil {
			return fmt.Errorf("bigcommerce: list %s page %d: %w", entity, n, err)
		}
		last := p.last(limit)
		out := connectors.Page{Records: recs, Resume: resumeToken{Entity: string(entity), Page: page + 1}.String()}
		if pg := p.Meta.Pagination; !last && pg.TotalPages > page {
			out.Remaining = c.pacer.estimate(pg.TotalPages - page)
		}
		if err := emit(ctx, out); err != nil {
			return err
		}
		if last {
			return nil
		}
	}
}

// readLocations reads every location, enabled or not, each run: GET /v3/inventory/locations has no
// modification filter, and a store has at most a hundred or so.
func (c *Connector) readLocations(ctx context.Context, tok *resumeToken, emit connectors.EmitFunc) error {
	limit := pageSize(c.PageSizes.Locations, maxPageSize)
	return c.readFullPages(ctx, v1alpha1.DataLocations, "/v3/inventory/locations", nil, limit, tok,
		func(p *v3Page) ([]connectors.Record, error) {
			out := make([]connectors.Record, 0, len(p.Data))
			for _, l := range p.Data {
				id := idString(l["id"])
				if id == "" {
					return nil, connectors.Terminal("UnexpectedResponse", fmt.Errorf("a location without an id"))
				}
				rec := connectors.Record{ID: id, Data: l}
				if t, err := time.Parse(time.RFC3339, stringOf(l["updated_at"])); err == nil {
					rec.UpdatedAt = t.UTC()
				}
				out = append(out, rec)
			}
			return out, nil
		}, emit)
}

// InventoryLevelID is the record ID of a variant's stock at a location: stable for the pair.
func InventoryLevelID(variantID, locationID string) string { return variantID + "|" + locationID }

// readInventory takes a full snapshot of GET /v3/inventory/items each run (the endpoint has no modification
// filter and its items carry no timestamp), one record per item and location.
func (c *Connector) readInventory(ctx context.Context, tok *resumeToken, emit connectors.EmitFunc) error {
	limit := pageSize(c.PageSizes.Inventory, maxInventoryPageSize)
	return c.readFullPages(ctx, v1alpha1.DataInventory, "/v3/inventory/items", nil, limit, tok,
		func(p *v3Page) ([]connectors.Record, error) {
			var out []connectors.Record
			for _, item := range p.Data {
				identity, _ := item["identity"].(map[string]any)
				variant := idString(identity["variant_id"])
				if variant == "" || variant == "0" {
					// An item tracked on a product without variants.
					variant = "product:" + idString(identity["product_id"])
				}
				locs, _ := item["locations"].([]any)
				for _, l := range locs {
					lm, ok := l.(map[string]any)
					if !ok {
						continue
					}
					loc := idString(lm["location_id"])
					if loc == "" {
						return nil, connectors.Terminal("UnexpectedResponse", fmt.Errorf("inventory item %s at a location without an id", variant))
					}
					data := make(map[string]any, len(lm)+1)
					for k, v := range lm {
						data[k] = v
					}
					data["identity"] = identity
					// No timestamp: UpdatedAt stays zero, and an unchanged level is an unchanged record.
					out = append(out, connectors.Record{ID: InventoryLevelID(variant, loc), Data: data})
				}
			}
			return out, nil
		}, emit)
}

// idString formats a JSON ID (a number, or a string) as a string; "" when there is none.
func idString(v any) string {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case string:
		return x
	}
	return ""
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}
