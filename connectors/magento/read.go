package magento

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/tether/integration-operator/connectors"
)

// keysetSpec describes an entity read incrementally by updated_at.
type keysetSpec struct {
	name     string // for errors: "orders"
	path     string // "/V1/orders"
	idKey    string // the item's ID key in the answer: "entity_id" for orders, "id" for products
	pageSize func(c *Connector) int
	fields   func(c *Connector) string // the fields= selector, empty for whole objects
	// prepare runs once per Read before the first page, and returns the function that turns a page's items
	// into records.
	prepare func(ctx context.Context, c *Connector) (func(items []map[string]any) ([]connectors.Record, error), error)
}

var ordersSpec = &keysetSpec{
	name:     "orders",
	path:     "/V1/orders",
	idKey:    "entity_id",
	pageSize: func(c *Connector) int { return c.PageSizes.Orders },
	fields:   func(c *Connector) string { return c.OrderFields },
	prepare: func(context.Context, *Connector) (func([]map[string]any) ([]connectors.Record, error), error) {
		return orderRecords, nil
	},
}

var productsSpec = &keysetSpec{
	name:     "products",
	path:     "/V1/products",
	idKey:    "id",
	pageSize: func(c *Connector) int { return c.PageSizes.Products },
	fields:   func(*Connector) string { return "" },
	prepare: func(ctx context.Context, c *Connector) (func([]map[string]any) ([]connectors.Record, error), error) {
		parents, err := c.configurableParents(ctx)
		if err != nil {
			return nil, err
		}
		return func(items []map[string]any) ([]connectors.Record, error) { return productRecords(items, parents) }, nil
	},
}

// readKeyset reads records modified at or after since, oldest first, sorted by (updated_at, entity_id). Every
// request asks for page 1 of "after the last record read":
//
//	group 0: updated_at >= T
//	group 1: updated_at > T  OR  entity_id > ID
//
// (Magento ORs the filters of a group and ANDs the groups), so records modified while the read runs move to
// the end instead of shifting the pages, the Resume token (T, ID) never expires, and the read ends when
// total_count says this page held everything that is left: Magento answers a page past the end with the
// last page again, so an empty page never comes.
func (c *Connector) readKeyset(ctx context.Context, spec *keysetSpec, since time.Time, tok resumeState, emit connectors.EmitFunc) error {
	toRecords, err := spec.prepare(ctx, c)
	if err != nil {
		return err
	}
	after, afterID := tok.After, tok.AfterID
	if after != "" {
		if _, err := parseDate(after); err != nil {
			c.log.Info("ignoring a resume token with a bad date; reading from since", "entity", spec.name, "error", err.Error())
			after, afterID = "", 0
		}
	}
	size := spec.pageSize(c)
	for n := 1; ; n++ {
		sc := criteria{
			sorts:    [][2]string{{"updated_at", "ASC"}, {"entity_id", "ASC"}},
			pageSize: size,
			page:     1,
			fields:   spec.fields(c),
		}
		switch {
		case after != "":
			sc.groups = [][]filter{
				{{"updated_at", after, "gteq"}},
				{{"updated_at", after, "gt"}, {"entity_id", strconv.FormatInt(afterID, 10), "gt"}},
			}
		case !since.IsZero():
			// Magento keeps seconds; floor Since so a record changed in the same second is not missed.
			sc.groups = [][]filter{{{"updated_at", formatDate(since.Truncate(time.Second)), "gteq"}}}
		}
		var res searchResult
		if err := c.get(ctx, spec.path, sc.values(), &res); err != nil {
			return fmt.Errorf("magento: list %s page %d: %w", spec.name, n, err)
		}
		if len(res.Items) == 0 {
			return nil
		}
		last := res.Items[len(res.Items)-1]
		lastAt, err := parseDate(last["updated_at"])
		if err != nil {
			return connectors.Transient("MalformedResponse", 0, fmt.Errorf("magento: list %s page %d: updated_at: %w", spec.name, n, err))
		}
		lastID, ok := intValue(last[spec.idKey])
		if !ok {
			return connectors.Transient("MalformedResponse", 0, fmt.Errorf("magento: list %s page %d: item without %s", spec.name, n, spec.idKey))
		}
		records, err := toRecords(res.Items)
		if err != nil {
			return connectors.Transient("MalformedResponse", 0, fmt.Errorf("magento: list %s page %d: %w", spec.name, n, err))
		}
		after, afterID = formatDate(lastAt), lastID
		done := res.TotalCount <= len(res.Items)
		left := 0
		if !done {
			left = (res.TotalCount - len(res.Items) + size - 1) / size
		}
		page := connectors.Page{
			Records:   records,
			Resume:    resumeState{After: after, AfterID: afterID}.String(),
			Remaining: c.pacer.Remaining(float64(left)),
		}
		if err := emit(ctx, page); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// readPaged reads a list with no modification filter whole, by currentPage, starting after page `from`. It
// stops on total_count: a page past the end repeats the last page.
func (c *Connector) readPaged(ctx context.Context, name, path string, sc criteria, from int,
	toRecords func([]map[string]any) ([]connectors.Record, error), emit connectors.EmitFunc) error {
	for page := from + 1; ; page++ {
		sc.page = page
		var res searchResult
		if err := c.get(ctx, path, sc.values(), &res); err != nil {
			return fmt.Errorf("magento: list %s page %d: %w", name, page, err)
		}
		pages := (res.TotalCount + sc.pageSize - 1) / sc.pageSize
		if page > pages {
			// The read resumed after a page that was the last one, or the list shrank: this answer is a
			// repeat of the last page, and everything is read.
			return nil
		}
		records, err := toRecords(res.Items)
		if err != nil {
			return connectors.Transient("MalformedResponse", 0, fmt.Errorf("magento: list %s page %d: %w", name, page, err))
		}
		if err := emit(ctx, connectors.Page{
			Records:   records,
			Resume:    resumeState{Page: page}.String(),
			Remaining: c.pacer.Remaining(float64(pages - page)),
		}); err != nil {
			return err
		}
		if page >= pages {
			return nil
		}
	}
}

// readSources reads every MSI source (Locations), sorted by source_code.
func (c *Connector) readSources(ctx context.Context, from int, emit connectors.EmitFunc) error {
	sc := criteria{sorts: [][2]string{{"source_code", "ASC"}}, pageSize: c.PageSizes.Sources}
	return c.readPaged(ctx, "sources", "/V1/inventory/sources", sc, from, sourceRecords, emit)
}

// readSourceItems reads every MSI source item (Inventory), sorted by sku and source_code. Source items carry
// a SKU but no product ID, so the product IDs are looked up first (one trimmed product list).
func (c *Connector) readSourceItems(ctx context.Context, from int, emit connectors.EmitFunc) error {
	ids, err := c.productIDs(ctx)
	if err != nil {
		return err
	}
	sc := criteria{sorts: [][2]string{{"sku", "ASC"}, {"source_code", "ASC"}}, pageSize: c.PageSizes.SourceItems}
	return c.readPaged(ctx, "source items", "/V1/inventory/source-items", sc, from,
		func(items []map[string]any) ([]connectors.Record, error) { return sourceItemRecords(items, ids) }, emit)
}

// parent is what a configurable product's children carry of it.
type parent struct {
	ID   int64
	SKU  string
	Name string
}

// configurableParents maps child product IDs to their configurable parent, from a trimmed list of the
// configurable products (their extension_attributes.configurable_product_links).
func (c *Connector) configurableParents(ctx context.Context) (map[int64]parent, error) {
	out := map[int64]parent{}
	sc := criteria{
		groups:   [][]filter{{{"type_id", "configurable", "eq"}}},
		sorts:    [][2]string{{"entity_id", "ASC"}},
		pageSize: c.PageSizes.Lookups,
		fields:   "items[id,sku,name,extension_attributes[configurable_product_links]],total_count",
	}
	err := c.lookupPages(ctx, "configurable products", sc, func(item map[string]any) {
		id, _ := intValue(item["id"])
		p := parent{ID: id}
		p.SKU, _ = item["sku"].(string)
		p.Name, _ = item["name"].(string)
		ext, _ := item["extension_attributes"].(map[string]any)
		links, _ := ext["configurable_product_links"].([]any)
		for _, l := range links {
			if child, ok := intValue(l); ok {
				out[child] = p
			}
		}
	})
	return out, err
}

// productIDs maps SKUs to product IDs from a trimmed list of all products.
func (c *Connector) productIDs(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	sc := criteria{sorts: [][2]string{{"entity_id", "ASC"}}, pageSize: c.PageSizes.Lookups, fields: "items[id,sku],total_count"}
	err := c.lookupPages(ctx, "product SKUs", sc, func(item map[string]any) {
		sku, _ := item["sku"].(string)
		if id, ok := intValue(item["id"]); ok && sku != "" {
			out[sku] = id
		}
	})
	return out, err
}

func (c *Connector) lookupPages(ctx context.Context, name string, sc criteria, each func(map[string]any)) error {
	for page := 1; ; page++ {
		sc.page = page
		var res searchResult
		if err := c.get(ctx, "/V1/products", sc.values(), &res); err != nil {
			return fmt.Errorf("magento: list %s page %d: %w", name, page, err)
		}
		if page > (res.TotalCount+sc.pageSize-1)/sc.pageSize {
			return nil
		}
		for _, item := range res.Items {
			each(item)
		}
		if page*sc.pageSize >= res.TotalCount {
			return nil
		}
	}
}

// intValue reads a JSON number (or a numeric string, as some Magento fields are) as an integer.
func intValue(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return int64(x), x == float64(int64(x))
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}

func idString(v any) string {
	if n, ok := intValue(v); ok {
		return strconv.FormatInt(n, 10)
	}
	return ""
}
