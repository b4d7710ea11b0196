package ebay

import (
	"context"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"time"

	"github.com/tether/integration-operator/connectors"
)

// filterTimeLayout is the timestamp format of getOrders filters: UTC with milliseconds and a Z.
const filterTimeLayout = "2006-01-02T15:04:05.000Z"

// historyMargin keeps a new read's lower bound this far inside eBay's two-year window, so that the bound is
// still accepted when the read is resumed later (up to a day later) and when clocks disagree.
const historyMargin = 24 * time.Hour

// ordersFilter is the getOrders filter for orders modified at or after since, percent-encoding the brackets
// as eBay requires: lastmodifieddate:%5B2024-01-01T00:00:00.000Z..%5D.
func ordersFilter(since time.Time) string {
	return "lastmodifieddate:%5B" + since.UTC().Format(filterTimeLayout) + "..%5D"
}

// ordersPage is getOrders' OrderSearchPagedCollection; the orders stay as JSON decodes them.
type ordersPage struct {
	Href   string           `json:"href"`
	Total  int              `json:"total"`
	Limit  int              `json:"limit"`
	Offset int              `json:"offset"`
	Next   string           `json:"next"`
	Orders []map[string]any `json:"orders"`
}

// readOrders pages through getOrders filtered by lastmodifieddate from since, following the next link's offset.
//
// getOrders lists matching orders in creation order, so an open-ended filter keeps every order at its place
// while the pass runs: modified orders stay in the set, and new ones shift the rest by whole positions, which at
// worst reads an order twice. An order modified after the pass read it is picked up by a catch-up pass over
// the orders modified since the pass began, run when the pass took longer than CatchUpAfter.
func (c *Connector) readOrders(ctx context.Context, since time.Time, tok *resumeState, emit connectors.EmitFunc) error {
	st := resumeState{Since: since, PassStart: c.now()}
	if tok != nil {
		st = *tok
		if st.PassStart.IsZero() {
			st.PassStart = c.now()
		}
		// A resumed pass keeps its bound unless eBay would now refuse it; then it starts over, clamped.
		if st.Since.Before(c.now().Add(-MaxHistory + c.ClockSkew)) {
			st.Since, st.Offset = time.Time{}, 0
		}
	}
	limit := c.PageSizes.Orders
	if limit <= 0 || limit > MaxOrdersPerPage {
		limit = MaxOrdersPerPage
	}
	for n := 1; ; n++ {
		if st.Offset == 0 {
			st.Since = c.clampSince(st.Since)
		}
		path := fmt.Sprintf("%s?filter=%s&limit=%d&offset=%d", ordersPath, ordersFilter(st.Since), limit, st.Offset)
		var page ordersPage
		if err := c.get(ctx, path, &page); err != nil {
			return fmt.Errorf("ebay: list orders page %d (offset %d): %w", n, st.Offset, err)
		}
		records := make([]connectors.Record, 0, len(page.Orders))
		for _, o := range page.Orders {
			rec, err := orderRecord(o)
			if err != nil {
				return fmt.Errorf("ebay: list orders page %d (offset %d): %w", n, st.Offset, err)
			}
			records = append(records, rec)
		}
		next := st
		next.Offset = st.Offset + len(page.Orders)
		more := page.Next != "" && len(page.Orders) > 0
		if more {
			next.Offset = nextOffset(page.Next, next.Offset)
		} else if took := c.now().Sub(st.PassStart); took > c.CatchUpAfter {
			c.log.V(1).Info("order pass was long; reading the orders modified since it began", "took", took)
			next = resumeState{Since: st.PassStart.Add(-c.ClockSkew), PassStart: c.now()}
			more = true
		}
		left := 0
		if page.Total > next.Offset {
			left = (page.Total - next.Offset + limit - 1) / limit
		}
		if err := emit(ctx, connectors.Page{Records: records, Resume: next.String(), Remaining: c.pacer.Remaining(float64(left))}); err != nil {
			return err
		}
		if !more {
			return nil
		}
		st = next
	}
}

// clampSince keeps a pass's lower bound inside what getOrders accepts: not older than two years (less a day,
// see historyMargin) and not in the future.
func (c *Connector) clampSince(since time.Time) time.Time {
	now := c.now()
	if floor := now.Add(-MaxHistory + historyMargin); since.Before(floor) {
		since = floor
	}
	if since.After(now) {
		since = now.Add(-c.ClockSkew)
	}
	return since.UTC().Truncate(time.Millisecond)
}

// nextOffset reads the offset parameter of a next link, or returns fallback.
func nextOffset(href string, fallback int) int {
	u, err := url.Parse(href)
	if err != nil {
		return fallback
	}
	n, err := strconv.Atoi(u.Query().Get("offset"))
	if err != nil || n < 0 {
		return fallback
	}
	return n
}

// orderRecord makes an order's record: its orderId and lastModifiedDate, and the order as eBay sent it, with
// each line item's unit price added as unitPrice (eBay's lineItemCost is the price of the whole quantity).
func orderRecord(o map[string]any) (connectors.Record, error) {
	id, _ := o["orderId"].(string)
	if id == "" {
		return connectors.Record{}, connectors.Terminal("UnexpectedResponse", fmt.Errorf("an order without an orderId"))
	}
	updated, err := parseTime(o["lastModifiedDate"])
	if err != nil {
		return connectors.Record{}, connectors.Terminal("UnexpectedResponse", fmt.Errorf("order %s: lastModifiedDate: %w", id, err))
	}
	lines, _ := o["lineItems"].([]any)
	for _, l := range lines {
		lm, ok := l.(map[string]any)
		if !ok {
			continue
		}
		if up, ok := unitPrice(lm); ok {
			lm["unitPrice"] = up
		}
	}
	return connectors.Record{ID: id, UpdatedAt: updated, Data: o}, nil
}

// unitPrice divides a line's lineItemCost by its quantity, exactly where the quotient has a short decimal
// expansion and rounded to six places otherwise.
func unitPrice(line map[string]any) (map[string]any, bool) {
	cost, _ := line["lineItemCost"].(map[string]any)
	value, _ := cost["value"].(string)
	qty, _ := line["quantity"].(float64)
	r, ok := new(big.Rat).SetString(value)
	if !ok || qty <= 0 || qty != float64(int64(qty)) {
		return nil, false
	}
	r.Quo(r, new(big.Rat).SetInt64(int64(qty)))
	s := r.FloatString(6)
	for places := 2; places < 6; places++ {
		if exact, _ := new(big.Rat).SetString(r.FloatString(places)); exact.Cmp(r) == 0 {
			s = r.FloatString(places)
			break
		}
	}
	return map[string]any{"value": s, "currency": cost["currency"]}, true
}

func parseTime(v any) (time.Time, error) {
	s, _ := v.(string)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an ISO 8601 UTC time", s)
	}
	return t.UTC(), nil
}

// inventoryItemsPage is getInventoryItems' InventoryItems. Unlike getOrders, its offset is a page number and
// size is the number of pages.
type inventoryItemsPage struct {
	Total          int              `json:"total"`
	Size           int              `json:"size"`
	Limit          int              `json:"limit"`
	Next           string           `json:"next"`
	InventoryItems []map[string]any `json:"inventoryItems"`
}

// itemRecords turns one inventory item into records: products (one SKU) or inventory levels (one per location).
type itemRecords func(item map[string]any) ([]connectors.Record, error)

// readInventoryItems pages through every inventory item: the Inventory API has no modification filter and no
// modification time, so Products and Inventory are full reads on every run (the store skips unchanged
// records).
func (c *Connector) readInventoryItems(ctx context.Context, toRecords itemRecords, tok *resumeState, emit connectors.EmitFunc) error {
	limit := c.PageSizes.InventoryItems
	if limit <= 0 || limit > MaxInventoryItemsPerPage {
		limit = MaxInventoryItemsPerPage
	}
	page := 0
	if tok != nil {
		page = tok.Offset
		if tok.Limit > 0 && tok.Limit <= MaxInventoryItemsPerPage {
			limit = tok.Limit // page numbers only mean the same items at the same limit
		}
	}
	for n := 1; ; n++ {
		var resp inventoryItemsPage
		if err := c.get(ctx, fmt.Sprintf("%s?limit=%d&offset=%d", inventoryItemsPath, limit, page), &resp); err != nil {
			return fmt.Errorf("ebay: list inventory items page %d (offset %d): %w", n, page, err)
		}
		var records []connectors.Record
		for _, item := range resp.InventoryItems {
			recs, err := toRecords(item)
			if err != nil {
				return fmt.Errorf("ebay: list inventory items page %d (offset %d): %w", n, page, err)
			}
			records = append(records, recs...)
		}
		more := resp.Next != "" && len(resp.InventoryItems) > 0
		next := page + 1
		if more {
			next = nextOffset(resp.Next, next)
		}
		tok := resumeState{Offset: next, Limit: limit}
		if err := emit(ctx, connectors.Page{Records: records, Resume: tok.String(), Remaining: c.pacer.Remaining(float64(resp.Size - next))}); err != nil {
			return err
		}
		if !more {
			return nil
		}
		page = next
	}
}

// productRecords makes an inventory item's SKU record, keyed by its SKU (the Inventory API's identity).
func productRecords(item map[string]any) ([]connectors.Record, error) {
	sku, _ := item["sku"].(string)
	if sku == "" {
		return nil, connectors.Terminal("UnexpectedResponse", fmt.Errorf("an inventory item without a sku"))
	}
	return []connectors.Record{{ID: sku, Data: item}}, nil
}

// InventoryLevelID is the record ID of a SKU's stock at an inventory location: "sku|merchantLocationKey". A
// location key has no "|", so the ID splits at its last one.
func InventoryLevelID(sku, merchantLocationKey string) string { return sku + "|" + merchantLocationKey }

// levelRecords makes one inventory record per entry of the item's
// availability.shipToLocationAvailability.availabilityDistributions: sku, merchantLocationKey, quantity,
// fulfillmentTime, and the item's total shipToLocationQuantity. An item without distributions has one record
// for its total, with an empty merchantLocationKey.
func levelRecords(item map[string]any) ([]connectors.Record, error) {
	sku, _ := item["sku"].(string)
	if sku == "" {
		return nil, connectors.Terminal("UnexpectedResponse", fmt.Errorf("an inventory item without a sku"))
	}
	avail, _ := item["availability"].(map[string]any)
	ship, _ := avail["shipToLocationAvailability"].(map[string]any)
	total := ship["quantity"]
	dists, _ := ship["availabilityDistributions"].([]any)
	if len(dists) == 0 {
		data := map[string]any{"sku": sku, "merchantLocationKey": "", "quantity": total, "shipToLocationQuantity": total}
		return []connectors.Record{{ID: InventoryLevelID(sku, ""), Data: data}}, nil
	}
	out := make([]connectors.Record, 0, len(dists))
	for _, d := range dists {
		dm, _ := d.(map[string]any)
		key, _ := dm["merchantLocationKey"].(string)
		data := map[string]any{
			"sku":                    sku,
			"merchantLocationKey":    key,
			"quantity":               dm["quantity"],
			"fulfillmentTime":        dm["fulfillmentTime"],
			"shipToLocationQuantity": total,
		}
		out = append(out, connectors.Record{ID: InventoryLevelID(sku, key), Data: data})
	}
	return out, nil
}

// locationsPage is getInventoryLocations' LocationResponse; its offset counts locations.
type locationsPage struct {
	Total     int              `json:"total"`
	Offset    int              `json:"offset"`
	Next      string           `json:"next"`
	Locations []map[string]any `json:"locations"`
}

// readLocations pages through every inventory location, enabled or not.
func (c *Connector) readLocations(ctx context.Context, tok *resumeState, emit connectors.EmitFunc) error {
	limit := c.PageSizes.Locations
	if limit <= 0 {
		limit = 100
	}
	offset := 0
	if tok != nil {
		offset = tok.Offset
	}
	for n := 1; ; n++ {
		var resp locationsPage
		if err := c.get(ctx, fmt.Sprintf("%s?limit=%d&offset=%d", locationsPath, limit, offset), &resp); err != nil {
			return fmt.Errorf("ebay: list inventory locations page %d (offset %d): %w", n, offset, err)
		}
		records := make([]connectors.Record, 0, len(resp.Locations))
		for _, l := range resp.Locations {
			key, _ := l["merchantLocationKey"].(string)
			if key == "" {
				return fmt.Errorf("ebay: list inventory locations page %d: %w", n,
					connectors.Terminal("UnexpectedResponse", fmt.Errorf("a location without a merchantLocationKey")))
			}
			records = append(records, connectors.Record{ID: key, Data: l})
		}
		next := offset + len(resp.Locations)
		more := resp.Next != "" && len(resp.Locations) > 0
		if more {
			next = nextOffset(resp.Next, next)
		}
		if err := emit(ctx, connectors.Page{Records: records, Resume: resumeState{Offset: next}.String()}); err != nil {
			return err
		}
		if !more {
			return nil
		}
		offset = next
	}
}
