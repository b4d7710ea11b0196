package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tether/integration-operator/connectors"
)

// The selections below are shared by the paginated queries and the bulk queries, so a record has the same
// shape however it was read.
const (
	orderFields = `id name createdAt updatedAt cancelledAt displayFinancialStatus displayFulfillmentStatus ` +
		`currencyCode totalPriceSet { shopMoney { amount currencyCode } }`
	lineItemFields = `id sku quantity variant { id } originalUnitPriceSet { shopMoney { amount } }`
	productFields  = `id title updatedAt`
	variantFields  = `id sku title barcode price updatedAt`
	pageInfoFields = `pageInfo { hasNextPage endCursor }`
)

var (
	ordersPageQuery = `query Orders($first: Int!, $after: String, $query: String, $lineItems: Int!) {
  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {
    ` + pageInfoFields + `
    edges { node { ` + orderFields + `
      lineItems(first: $lineItems) { ` + pageInfoFields + ` edges { node { ` + lineItemFields + ` } } } } }
  }
}`
	orderLineItemsQuery = `query OrderLineItems($id: ID!, $first: Int!, $after: String) {
  order(id: $id) {
    lineItems(first: $first, after: $after) { ` + pageInfoFields + ` edges { node { ` + lineItemFields + ` } } }
  }
}`
	productsPageQuery = `query Products($first: Int!, $after: String, $query: String, $variants: Int!) {
  products(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {
    ` + pageInfoFields + `
    edges { node { ` + productFields + `
      variants(first: $variants) { ` + pageInfoFields + ` edges { node { ` + variantFields + ` } } } } }
  }
}`
	productVariantsQuery = `query ProductVariants($id: ID!, $first: Int!, $after: String) {
  product(id: $id) {
    variants(first: $first, after: $after) { ` + pageInfoFields + ` edges { node { ` + variantFields + ` } } }
  }
}`
	locationsQuery = `query Locations($first: Int!, $after: String) {
  locations(first: $first, after: $after, sortKey: ID, includeInactive: true, includeLegacy: true) {
    ` + pageInfoFields + `
    edges { node { id legacyResourceId name isActive fulfillsOnlineOrders createdAt updatedAt
      address { address1 city province zip countryCode } } }
  }
}`
	locationIDsQuery = `query LocationIDs($first: Int!, $after: String) {
  locations(first: $first, after: $after, sortKey: ID, includeInactive: true, includeLegacy: true) {
    ` + pageInfoFields + `
    edges { node { id } }
  }
}`
	inventoryLevelsQuery = `query InventoryLevels($location: ID!, $first: Int!, $after: String, $query: String) {
  location(id: $location) {
    inventoryLevels(first: $first, after: $after, query: $query) {
      ` + pageInfoFields + `
      edges { node { id updatedAt item { id sku variant { id } }
        quantities(names: ["available", "on_hand", "committed"]) { name quantity } } }
    }
  }
}`
)

// entitySpec describes how one bulk-capable entity is read.
type entitySpec struct {
	name      string // the root field, also the operation name in errors and the expected-cost table
	pageQuery string
	pageVars  func(c *Connector) map[string]any
	// records completes a node from a page (fetching nested pages the first response did not hold) and
	// returns its records.
	records func(ctx context.Context, c *Connector, node map[string]any) ([]connectors.Record, error)
	// bulkQuery is the bulk operation's query for records updated after since (all when zero).
	bulkQuery func(since time.Time) string
	// assemble turns a bulk root line and its child lines into records.
	assemble func(root map[string]any, children []any) ([]connectors.Record, error)
}

var ordersSpec = &entitySpec{
	name:      "orders",
	pageQuery: ordersPageQuery,
	pageVars: func(c *Connector) map[string]any {
		return map[string]any{"first": c.PageSizes.Orders, "lineItems": c.PageSizes.OrderLineItems}
	},
	records: func(ctx context.Context, c *Connector, node map[string]any) ([]connectors.Record, error) {
		items, err := c.completeNested(ctx, node, "lineItems", "order", orderLineItemsQuery, c.PageSizes.LineItems)
		if err != nil {
			return nil, err
		}
		node["lineItems"] = items
		rec, err := record(node)
		if err != nil {
			return nil, err
		}
		return []connectors.Record{rec}, nil
	},
	bulkQuery: func(since time.Time) string {
		return `{
  orders(sortKey: UPDATED_AT` + bulkFilter(since) + `) {
    edges { node { ` + orderFields + `
      lineItems { edges { node { ` + lineItemFields + ` } } } } }
  }
}`
	},
	assemble: func(root map[string]any, children []any) ([]connectors.Record, error) {
		if children == nil {
			children = []any{}
		}
		root["lineItems"] = children
		rec, err := record(root)
		if err != nil {
			return nil, err
		}
		return []connectors.Record{rec}, nil
	},
}

var productsSpec = &entitySpec{
	name:      "products",
	pageQuery: productsPageQuery,
	pageVars: func(c *Connector) map[string]any {
		return map[string]any{"first": c.PageSizes.Products, "variants": c.PageSizes.ProductVariants}
	},
	records: func(ctx context.Context, c *Connector, node map[string]any) ([]connectors.Record, error) {
		variants, err := c.completeNested(ctx, node, "variants", "product", productVariantsQuery, c.PageSizes.Variants)
		if err != nil {
			return nil, err
		}
		return variantRecords(node, variants)
	},
	bulkQuery: func(since time.Time) string {
		return `{
  products(sortKey: UPDATED_AT` + bulkFilter(since) + `) {
    edges { node { ` + productFields + `
      variants { edges { node { ` + variantFields + ` } } } } }
  }
}`
	},
	assemble: func(root map[string]any, children []any) ([]connectors.Record, error) {
		return variantRecords(root, children)
	},
}

func bulkFilter(since time.Time) string {
	q := searchSince(since)
	if q == "" {
		return ""
	}
	b, _ := json.Marshal(q)
	return ", query: " + string(b)
}

// variantRecords makes one record per variant: Tether's SKU is the variant. Each carries its product's id,
// title and updatedAt; its UpdatedAt is the later of the variant's and the product's, so a renamed product
// moves its SKUs' cursor too.
func variantRecords(product map[string]any, variants []any) ([]connectors.Record, error) {
	p := map[string]any{"id": product["id"], "title": product["title"], "updatedAt": product["updatedAt"]}
	pUpdated, err := parseTime(product["updatedAt"])
	if err != nil {
		return nil, fmt.Errorf("product %v: %w", product["id"], err)
	}
	out := make([]connectors.Record, 0, len(variants))
	for _, v := range variants {
		vm, ok := v.(map[string]any)
		if !ok {
			continue
		}
		vm["product"] = p
		rec, err := record(vm)
		if err != nil {
			return nil, err
		}
		if pUpdated.After(rec.UpdatedAt) {
			rec.UpdatedAt = pUpdated
		}
		out = append(out, rec)
	}
	return out, nil
}

func record(node map[string]any) (connectors.Record, error) {
	id, _ := node["id"].(string)
	if id == "" {
		return connectors.Record{}, connectors.Terminal("UnexpectedResponse", fmt.Errorf("object without an id"))
	}
	t, err := parseTime(node["updatedAt"])
	if err != nil {
		return connectors.Record{}, connectors.Terminal("UnexpectedResponse", fmt.Errorf("%s: %w", id, err))
	}
	return connectors.Record{ID: id, UpdatedAt: t, Data: node}, nil
}

func parseTime(v any) (time.Time, error) {
	s, _ := v.(string)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("updatedAt %q is not an RFC 3339 time", s)
	}
	return t.UTC(), nil
}

// connection is a decoded Relay connection with its nodes flattened out of their edges.
type connection struct {
	nodes     []any
	hasNext   bool
	endCursor string
}

func connectionOf(v any) connection {
	m, _ := v.(map[string]any)
	pi, _ := m["pageInfo"].(map[string]any)
	c := connection{nodes: []any{}}
	c.hasNext, _ = pi["hasNextPage"].(bool)
	c.endCursor, _ = pi["endCursor"].(string)
	if edges, ok := m["edges"].([]any); ok {
		for _, e := range edges {
			if em, ok := e.(map[string]any); ok {
				if n, ok := em["node"].(map[string]any); ok {
					c.nodes = append(c.nodes, n)
				}
			}
		}
	}
	if nodes, ok := m["nodes"].([]any); ok {
		c.nodes = append(c.nodes, nodes...)
	}
	return c
}

// completeNested returns every node of a nested connection (an order's line items, a product's variants):
// those in the page already read, then the rest, paged through the parent's own field.
func (c *Connector) completeNested(ctx context.Context, node map[string]any, field, parentField, query string, first int) ([]any, error) {
	conn := connectionOf(node[field])
	items := conn.nodes
	id, _ := node["id"].(string)
	for n := 2; conn.hasNext; n++ {
		var data map[string]any
		vars := map[string]any{"id": id, "first": first, "after": conn.endCursor}
		if err := c.query(ctx, parentField+"."+field, query, vars, &data); err != nil {
			return nil, fmt.Errorf("%s of %s, page %d: %w", field, id, n, err)
		}
		parent, ok := data[parentField].(map[string]any)
		if !ok {
			// The parent was deleted between the pages: keep what was read.
			break
		}
		conn = connectionOf(parent[field])
		items = append(items, conn.nodes...)
	}
	return items, nil
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// paginate reads an entity page by page from the cursor, filtered to records updated after since, sorted by
// updatedAt, emitting each page with the token that continues after it.
func (c *Connector) paginate(ctx context.Context, spec *entitySpec, since time.Time, cursor string, emit connectors.EmitFunc) error {
	vars := spec.pageVars(c)
	vars["query"] = nilIfEmpty(searchSince(since))
	for n := 1; ; n++ {
		vars["after"] = nilIfEmpty(cursor)
		var data map[string]any
		if err := c.query(ctx, spec.name, spec.pageQuery, vars, &data); err != nil {
			return fmt.Errorf("shopify: list %s page %d: %w", spec.name, n, err)
		}
		conn := connectionOf(data[spec.name])
		var records []connectors.Record
		for _, node := range conn.nodes {
			nm, _ := node.(map[string]any)
			recs, err := spec.records(ctx, c, nm)
			if err != nil {
				return fmt.Errorf("shopify: list %s page %d: %w", spec.name, n, err)
			}
			records = append(records, recs...)
		}
		if conn.endCursor != "" {
			cursor = conn.endCursor
		}
		if err := emit(ctx, connectors.Page{Records: records, Resume: resumeState{Since: since, Cursor: cursor}.String()}); err != nil {
			return err
		}
		if !conn.hasNext {
			return nil
		}
	}
}

// readLocations reads every location, active or not, each run: there are few, and Shopify does not filter
// them by updated_at.
func (c *Connector) readLocations(ctx context.Context, cursor string, emit connectors.EmitFunc) error {
	for n := 1; ; n++ {
		var data map[string]any
		vars := map[string]any{"first": c.PageSizes.Locations, "after": nilIfEmpty(cursor)}
		if err := c.query(ctx, "locations", locationsQuery, vars, &data); err != nil {
			return fmt.Errorf("shopify: list locations page %d: %w", n, err)
		}
		conn := connectionOf(data["locations"])
		records := make([]connectors.Record, 0, len(conn.nodes))
		for _, node := range conn.nodes {
			nm, _ := node.(map[string]any)
			rec, err := record(nm)
			if err != nil {
				return fmt.Errorf("shopify: list locations page %d: %w", n, err)
			}
			records = append(records, rec)
		}
		if conn.endCursor != "" {
			cursor = conn.endCursor
		}
		if err := emit(ctx, connectors.Page{Records: records, Resume: resumeState{Cursor: cursor}.String()}); err != nil {
			return err
		}
		if !conn.hasNext {
			return nil
		}
	}
}

// locationIDs lists every location's GID in ID order.
func (c *Connector) locationIDs(ctx context.Context) ([]string, error) {
	var ids []string
	cursor := ""
	for n := 1; ; n++ {
		var data map[string]any
		vars := map[string]any{"first": maxPageSize, "after": nilIfEmpty(cursor)}
		if err := c.query(ctx, "locationIDs", locationIDsQuery, vars, &data); err != nil {
			return nil, fmt.Errorf("shopify: list location IDs page %d: %w", n, err)
		}
		conn := connectionOf(data["locations"])
		for _, node := range conn.nodes {
			if nm, ok := node.(map[string]any); ok {
				if id, ok := nm["id"].(string); ok {
					ids = append(ids, id)
				}
			}
		}
		if !conn.hasNext {
			return ids, nil
		}
		cursor = conn.endCursor
	}
}

// gidNumber is the numeric part of a GID, for ordering; -1 when there is none.
func gidNumber(g string) int64 {
	s := g[strings.LastIndexByte(g, '/')+1:]
	s, _, _ = strings.Cut(s, "?")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// InventoryLevelID is the record ID of an inventory item's level at a location: stable for the pair.
func InventoryLevelID(inventoryItemGID, locationGID string) string {
	return inventoryItemGID + "|" + locationGID
}

// readInventory reads inventory levels location by location, each filtered by the level's own updated_at,
// which moves whenever a quantity changes. (An inventory item's updated_at does not move when its quantities
// do, so filtering inventoryItems by updated_at would miss stock changes.)
func (c *Connector) readInventory(ctx context.Context, since time.Time, fromLocation, cursor string, emit connectors.EmitFunc) error {
	locs, err := c.locationIDs(ctx)
	if err != nil {
		return err
	}
	from := gidNumber(fromLocation)
	for _, loc := range locs {
		switch n := gidNumber(loc); {
		case fromLocation != "" && n < from:
			continue
		case fromLocation != "" && n > from:
			cursor = ""
		}
		fromLocation = ""
		if err := c.readLocationLevels(ctx, since, loc, cursor, emit); err != nil {
			return err
		}
		cursor = ""
	}
	return nil
}

func (c *Connector) readLocationLevels(ctx context.Context, since time.Time, loc, cursor string, emit connectors.EmitFunc) error {
	vars := map[string]any{"location": loc, "first": c.PageSizes.InventoryLevels, "query": nilIfEmpty(searchSince(since))}
	for n := 1; ; n++ {
		vars["after"] = nilIfEmpty(cursor)
		var data map[string]any
		if err := c.query(ctx, "inventoryLevels", inventoryLevelsQuery, vars, &data); err != nil {
			return fmt.Errorf("shopify: list inventory levels of %s page %d: %w", loc, n, err)
		}
		l, ok := data["location"].(map[string]any)
		if !ok {
			return nil // the location was deleted since it was listed
		}
		conn := connectionOf(l["inventoryLevels"])
		records := make([]connectors.Record, 0, len(conn.nodes))
		for _, node := range conn.nodes {
			nm, _ := node.(map[string]any)
			rec, err := levelRecord(nm, loc)
			if err != nil {
				return fmt.Errorf("shopify: list inventory levels of %s page %d: %w", loc, n, err)
			}
			records = append(records, rec)
		}
		if conn.endCursor != "" {
			cursor = conn.endCursor
		}
		tok := resumeState{Since: since, Location: loc, Cursor: cursor}
		if err := emit(ctx, connectors.Page{Records: records, Resume: tok.String()}); err != nil {
			return err
		}
		if !conn.hasNext {
			return nil
		}
	}
}

// levelRecord flattens an InventoryLevel node into the inventory record: inventoryItem{id sku variant{id}},
// location{id}, available, onHand, committed and updatedAt.
func levelRecord(node map[string]any, loc string) (connectors.Record, error) {
	item, _ := node["item"].(map[string]any)
	itemID, _ := item["id"].(string)
	if itemID == "" {
		return connectors.Record{}, connectors.Terminal("UnexpectedResponse", fmt.Errorf("inventory level %v without an item", node["id"]))
	}
	data := map[string]any{
		"id":            node["id"],
		"inventoryItem": item,
		"location":      map[string]any{"id": loc},
		"updatedAt":     node["updatedAt"],
	}
	names := map[string]string{"available": "available", "on_hand": "onHand", "committed": "committed"}
	qs, _ := node["quantities"].([]any)
	for _, q := range qs {
		qm, _ := q.(map[string]any)
		name, _ := qm["name"].(string)
		if key, ok := names[name]; ok {
			data[key] = qm["quantity"]
		}
	}
	rec, err := record(data)
	if err != nil {
		return rec, err
	}
	rec.ID = InventoryLevelID(itemID, loc)
	return rec, nil
}
