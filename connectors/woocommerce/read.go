package woocommerce

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tether/integration-operator/connectors"
)

// scanSpec describes one collection read by modification time.
type scanSpec struct {
	name string // for errors: "orders", "products", "inventory"
	path string
	// records turns a page of the collection into records, fetching what the page does not hold
	// (a variable product's variations).
	records func(ctx context.Context, c *Connector, items []map[string]any) ([]connectors.Record, error)
}

var (
	ordersScan    = &scanSpec{name: "orders", path: "/orders", records: orderRecords}
	productsScan  = &scanSpec{name: "products", path: "/products", records: skuRecords}
	inventoryScan = &scanSpec{name: "inventory", path: "/products", records: levelRecords}
)

// scan reads a collection sorted by modification time, oldest first, from the token's bound. After each page
// the bound moves up to one second before the last record's modification time (modified_after is exclusive and
// WooCommerce dates have whole seconds), and the IDs at that last second are remembered so the next page skips
// them. Records that change during the run move behind the bound and are read again later in the same run;
// nothing shifts into the part already read, as it would with page numbers over a fixed query. Only when a
// whole page shares one second does the scan step the page number inside that second.
func (c *Connector) scan(ctx context.Context, spec *scanSpec, tok resumeToken, emit connectors.EmitFunc) error {
	size := c.pageSize()
	for n := 1; ; n++ {
		q := url.Values{
			"per_page":      {strconv.Itoa(size)},
			"page":          {strconv.Itoa(tok.Page)},
			"orderby":       {"modified"},
			"order":         {"asc"},
			"dates_are_gmt": {"true"},
		}
		if tok.After != "" {
			q.Set("modified_after", tok.After)
		}
		sent := c.client.Stats().Requests
		page, err := c.list(ctx, spec.path, q)
		if err != nil {
			return fmt.Errorf("woocommerce: list %s page %d: %w", spec.name, n, err)
		}
		if len(page.items) == 0 {
			return nil
		}
		fresh := make([]map[string]any, 0, len(page.items))
		for _, it := range page.items {
			if !slices.Contains(tok.Seen, idOf(it)) {
				fresh = append(fresh, it)
			}
		}
		records, err := spec.records(ctx, c, fresh)
		if err != nil {
			return fmt.Errorf("woocommerce: list %s page %d: %w", spec.name, n, err)
		}
		next, err := advance(tok, page.items)
		if err != nil {
			return fmt.Errorf("woocommerce: list %s page %d: %w", spec.name, n, err)
		}
		more := len(page.items) >= size && (page.totalPages < 0 || tok.Page < page.totalPages)
		out := connectors.Page{Records: records, Resume: next.String()}
		if more {
			perItem := float64(c.client.Stats().Requests-sent) / float64(len(page.items))
			out.Remaining = c.remaining(page, tok.Page, size, perItem)
		}
		if err := emit(ctx, out); err != nil {
			return err
		}
		if !more {
			return nil
		}
		tok = next
	}
}

// advance computes the token that continues after a page of items sorted by date_modified_gmt.
func advance(tok resumeToken, items []map[string]any) (resumeToken, error) {
	last, err := parseGMT(items[len(items)-1]["date_modified_gmt"])
	if err != nil {
		return tok, connectors.Terminal("UnexpectedResponse", fmt.Errorf("object %d: %w", idOf(items[len(items)-1]), err))
	}
	bound := formatGMT(last.Add(-time.Second))
	atLast := func(it map[string]any) bool {
		t, err := parseGMT(it["date_modified_gmt"])
		return err == nil && t.Equal(last)
	}
	if tok.After == "" || bound > tok.After {
		next := resumeToken{Entity: tok.Entity, After: bound, Page: 1}
		for _, it := range items {
			if atLast(it) {
				next.Seen = append(next.Seen, idOf(it))
			}
		}
		return next, nil
	}
	// The whole page is in the bound's next second: step the page inside it.
	next := resumeToken{Entity: tok.Entity, After: tok.After, Page: tok.Page + 1, Seen: slices.Clone(tok.Seen)}
	for _, it := range items {
		if id := idOf(it); !slices.Contains(next.Seen, id) {
			next.Seen = append(next.Seen, id)
		}
	}
	return next, nil
}

// remaining estimates the rest of the read at the current pace from X-WP-Total and the requests this page
// took per item (a variable product costs a variations request); zero when unpaced or unknown.
func (c *Connector) remaining(page listing, pageNo, size int, perItem float64) time.Duration {
	if page.total < 0 || c.pacer.Rate() <= 0 {
		return 0
	}
	left := page.total - pageNo*size
	if left <= 0 {
		return 0
	}
	requests := math.Max(math.Ceil(float64(left)/float64(size)), float64(left)*perItem)
	return c.pacer.Remaining(requests)
}

func (c *Connector) pageSize() int {
	if c.PageSize <= 0 || c.PageSize > MaxPageSize {
		return MaxPageSize
	}
	return c.PageSize
}

func idOf(m map[string]any) int64 {
	f, _ := m["id"].(float64)
	return int64(f)
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }

// orderRecords keeps each order as WooCommerce sends it, line_items included.
func orderRecords(_ context.Context, _ *Connector, items []map[string]any) ([]connectors.Record, error) {
	out := make([]connectors.Record, 0, len(items))
	for _, o := range items {
		id := idOf(o)
		if id == 0 {
			return nil, connectors.Terminal("UnexpectedResponse", fmt.Errorf("order without an id"))
		}
		t, err := parseGMT(o["date_modified_gmt"])
		if err != nil {
			return nil, connectors.Terminal("UnexpectedResponse", fmt.Errorf("order %d: %w", id, err))
		}
		if _, ok := o["line_items"].([]any); !ok {
			o["line_items"] = []any{}
		}
		out = append(out, connectors.Record{ID: idString(id), UpdatedAt: t, Data: o})
	}
	return out, nil
}

// sku is one sellable item: a simple (or external, or other non-variable) product, or a variation of a
// variable product, with its parent.
type sku struct {
	id      int64
	data    map[string]any // the product or the variation as WooCommerce sends it
	parent  map[string]any // the product; the same map as data for a product that is its own SKU
	updated time.Time      // the later of the item's and its parent's date_modified_gmt
}

// skusOf expands a page of products into SKUs: a variable product's variations are listed from
// /products/{id}/variations; grouped products are collections of other products and no SKU themselves.
func (c *Connector) skusOf(ctx context.Context, products []map[string]any) ([]sku, error) {
	var out []sku
	for _, p := range products {
		pid := idOf(p)
		pUpdated, err := parseGMT(p["date_modified_gmt"])
		if err != nil {
			return nil, connectors.Terminal("UnexpectedResponse", fmt.Errorf("product %d: %w", pid, err))
		}
		switch p["type"] {
		case "grouped":
			continue
		case "variable":
			if vs, ok := p["variations"].([]any); ok && len(vs) == 0 {
				continue
			}
			variations, err := c.variations(ctx, pid)
			if err != nil {
				return nil, err
			}
			for _, v := range variations {
				vUpdated, err := parseGMT(v["date_modified_gmt"])
				if err != nil {
					return nil, connectors.Terminal("UnexpectedResponse", fmt.Errorf("variation %d of product %d: %w", idOf(v), pid, err))
				}
				out = append(out, sku{id: idOf(v), data: v, parent: p, updated: later(vUpdated, pUpdated)})
			}
		default:
			out = append(out, sku{id: pid, data: p, parent: p, updated: pUpdated})
		}
	}
	return out, nil
}

// variations lists every variation of a variable product. A product deleted since it was listed has none.
func (c *Connector) variations(ctx context.Context, productID int64) ([]map[string]any, error) {
	var all []map[string]any
	size := c.pageSize()
	path := "/products/" + idString(productID) + "/variations"
	for page := 1; ; page++ {
		q := url.Values{"per_page": {strconv.Itoa(size)}, "page": {strconv.Itoa(page)}, "orderby": {"id"}, "order": {"asc"}}
		l, err := c.list(ctx, path, q)
		if err != nil {
			if _, reason := connectors.Classify(err); reason == "NotFound" {
				return nil, nil
			}
			return nil, fmt.Errorf("variations of product %d page %d: %w", productID, page, err)
		}
		all = append(all, l.items...)
		if len(l.items) < size || (l.totalPages >= 0 && page >= l.totalPages) {
			return all, nil
		}
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// parentSummary is the part of a parent product every SKU record carries under "product".
func parentSummary(p map[string]any) map[string]any {
	return map[string]any{
		"id": p["id"], "name": p["name"], "type": p["type"], "sku": p["sku"], "status": p["status"],
		"date_modified_gmt": p["date_modified_gmt"],
	}
}

// skuRecords makes one record per SKU: the product or variation as WooCommerce sends it, plus "product" (its
// parent's id, name, type, sku, status and date_modified_gmt) so mappings read one shape for both kinds.
func skuRecords(ctx context.Context, c *Connector, items []map[string]any) ([]connectors.Record, error) {
	skus, err := c.skusOf(ctx, items)
	if err != nil {
		return nil, err
	}
	out := make([]connectors.Record, 0, len(skus))
	for _, s := range skus {
		data := s.data
		data["product"] = parentSummary(s.parent)
		out = append(out, connectors.Record{ID: idString(s.id), UpdatedAt: s.updated, Data: data})
	}
	return out, nil
}

// LevelID is the record ID of a SKU's stock level at the store's one location.
func LevelID(skuID int64) string { return idString(skuID) + "@" + DefaultLocationID }

// levelRecords makes one inventory record per SKU whose stock WooCommerce manages (manage_stock true, or
// "parent" for a variation that shares its product's stock); SKUs without stock management have no quantity.
func levelRecords(ctx context.Context, c *Connector, items []map[string]any) ([]connectors.Record, error) {
	skus, err := c.skusOf(ctx, items)
	if err != nil {
		return nil, err
	}
	out := make([]connectors.Record, 0, len(skus))
	for _, s := range skus {
		managedBy := ""
		switch s.data["manage_stock"] {
		case true:
			managedBy = "self"
		case "parent":
			managedBy = "parent"
		default:
			continue
		}
		data := map[string]any{
			"id":                LevelID(s.id),
			"sku_id":            idString(s.id),
			"product_id":        s.parent["id"],
			"sku":               s.data["sku"],
			"location_id":       DefaultLocationID,
			"stock_quantity":    s.data["stock_quantity"],
			"stock_status":      s.data["stock_status"],
			"backorders":        s.data["backorders"],
			"manage_stock":      s.data["manage_stock"],
			"stock_managed_by":  managedBy,
			"date_modified_gmt": formatGMT(s.updated),
		}
		if idOf(s.parent) != s.id {
			data["variation_id"] = s.data["id"]
		}
		out = append(out, connectors.Record{ID: LevelID(s.id), UpdatedAt: s.updated, Data: data})
	}
	return out, nil
}

// readLocations emits the store's one stock location. WooCommerce core has no locations: the record is
// synthetic, ID "default", named after the store's host and addressed with the store address from
// /settings/general (WooCommerce > Settings > General). A key whose user may not read settings gets the
// record without an address.
func (c *Connector) readLocations(ctx context.Context, emit connectors.EmitFunc) error {
	settings, err := c.generalSettings(ctx)
	if err != nil {
		if class, _ := connectors.Classify(err); class != connectors.ClassAuth || !strings.Contains(err.Error(), "cannot_view") {
			return fmt.Errorf("woocommerce: read store settings: %w", err)
		}
		c.log.Info("the API key's user may not read settings; the default location has no address")
		settings = map[string]string{}
	}
	host := c.storeURL
	if u, err := url.Parse(c.storeURL); err == nil && u.Host != "" {
		host = u.Host
	}
	country, state, _ := strings.Cut(settings["woocommerce_default_country"], ":")
	data := map[string]any{
		"id":        DefaultLocationID,
		"code":      DefaultLocationID,
		"name":      host,
		"store_url": c.storeURL,
		"address_1": settings["woocommerce_store_address"],
		"address_2": settings["woocommerce_store_address_2"],
		"city":      settings["woocommerce_store_city"],
		"state":     state,
		"postcode":  settings["woocommerce_store_postcode"],
		"country":   country,
		"currency":  settings["woocommerce_currency"],
		"active":    true,
	}
	tok := resumeToken{Entity: "Locations", Page: 1}
	return emit(ctx, connectors.Page{Records: []connectors.Record{{ID: DefaultLocationID, Data: data}}, Resume: tok.String()})
}

// generalSettings reads /settings/general as id -> value.
func (c *Connector) generalSettings(ctx context.Context) (map[string]string, error) {
	l, err := c.list(ctx, "/settings/general", url.Values{})
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(l.items))
	for _, s := range l.items {
		id, _ := s["id"].(string)
		if v, ok := s["value"].(string); ok && id != "" {
			out[id] = v
		}
	}
	return out, nil
}
