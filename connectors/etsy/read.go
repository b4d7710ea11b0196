package etsy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

// listPage is Etsy's list envelope.
type listPage struct {
	Count   int               `json:"count"`
	Results []json.RawMessage `json:"results"`
}

// shop resolves the shop ID and proves the key and the token work: GET /users/{user_id}/shops, the user
// being the one the access token is for. A shop ID the Secret or the grant names wins over the answer.
func (c *Connector) shop(ctx context.Context) (int64, error) {
	known, err := c.knownShop(ctx)
	if err != nil {
		return 0, err
	}
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return 0, c.redact(err)
	}
	userID, ok := UserIDOf(tok.AccessToken)
	if !ok {
		return 0, connectors.Terminal(v1alpha1.ReasonUnauthorized, errors.New("etsy: the access token is not an Etsy user token ({user_id}.{token})"))
	}
	var raw json.RawMessage
	err = c.get(ctx, fmt.Sprintf("/users/%d/shops", userID), nil, &raw)
	if _, reason := connectors.Classify(err); reason == "NotFound" {
		_, err = shopOf(userID, http.StatusNotFound, nil)
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("etsy: look up the shop of user %d: %w", userID, err)
	}
	if known != 0 {
		return known, nil
	}
	id, err := shopOf(userID, http.StatusOK, raw)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	c.shopID = id
	c.mu.Unlock()
	return id, nil
}

// knownShop is the shop ID the Secret (API credentials) or the grant (OAuth) names, or zero.
func (c *Connector) knownShop(ctx context.Context) (int64, error) {
	c.mu.Lock()
	id, fromGrant := c.shopID, c.oauth
	c.mu.Unlock()
	if id != 0 || !fromGrant {
		return id, nil
	}
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return 0, c.redact(err)
	}
	raw := tok.Extra[ExtraShopID]
	if raw == "" {
		return 0, nil
	}
	id, err = strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, connectors.Terminal(v1alpha1.ReasonInvalidConfiguration, fmt.Errorf("etsy: the grant's shop ID %q is not a positive number", raw))
	}
	c.mu.Lock()
	c.shopID = id
	c.mu.Unlock()
	return id, nil
}

// resolvedShop returns the shop ID, resolving it on first use.
func (c *Connector) resolvedShop(ctx context.Context) (int64, error) {
	id, err := c.knownShop(ctx)
	if err != nil || id != 0 {
		return id, err
	}
	return c.shop(ctx)
}

// receipt is the part of a ShopReceipt the connector reads itself; the record's Data is the whole object.
type receipt struct {
	ReceiptID        int64
	CreatedTimestamp int64
	UpdatedTimestamp int64
}

// receiptPage is a page of receipts, decoded once into JSON-shaped maps.
type receiptPage struct {
	Count   int              `json:"count"`
	Results []map[string]any `json:"results"`
}

// number reads a JSON number as an int64; Etsy's IDs and timestamps are integers below 2^53, exact in a
// float64.
func number(m map[string]any, key string) (int64, bool) {
	f, ok := m[key].(float64)
	return int64(f), ok
}

// moneyOf reads a Money object.
func moneyOf(v any) money {
	m, _ := v.(map[string]any)
	amount, _ := number(m, "amount")
	divisor, _ := number(m, "divisor")
	code, _ := m["currency_code"].(string)
	return money{Amount: amount, Divisor: divisor, CurrencyCode: code}
}

// receiptRecord completes one decoded receipt with the fields the default mapping reads: receiptID, total and
// currency (from grandtotal), createdAt and updatedAt (RFC 3339), and lines, the transactions each with
// transactionID, listingID, productID and unitPrice.
func receiptRecord(data map[string]any) (connectors.Record, receipt, error) {
	var r receipt
	r.ReceiptID, _ = number(data, "receipt_id")
	r.CreatedTimestamp, _ = number(data, "created_timestamp")
	r.UpdatedTimestamp, _ = number(data, "updated_timestamp")
	if r.ReceiptID <= 0 || r.UpdatedTimestamp <= 0 {
		return connectors.Record{}, r, fmt.Errorf("receipt without receipt_id or updated_timestamp")
	}
	total := moneyOf(data["grandtotal"])
	data["receiptID"] = idString(r.ReceiptID)
	data["total"] = total.Decimal()
	data["currency"] = total.CurrencyCode
	data["createdAt"] = rfc3339(r.CreatedTimestamp)
	data["updatedAt"] = rfc3339(r.UpdatedTimestamp)
	rawLines, _ := data["transactions"].([]any)
	lines := make([]any, 0, len(rawLines))
	for _, l := range rawLines {
		lm, ok := l.(map[string]any)
		if !ok {
			continue
		}
		id, _ := number(lm, "transaction_id")
		lm["transactionID"] = idString(id)
		lm["listingID"] = optionalID(lm, "listing_id")
		lm["productID"] = optionalID(lm, "product_id")
		lm["unitPrice"] = moneyOf(lm["price"]).Decimal()
		lines = append(lines, lm)
	}
	data["lines"] = lines
	return connectors.Record{ID: idString(r.ReceiptID), UpdatedAt: time.Unix(r.UpdatedTimestamp, 0).UTC(), Data: data}, r, nil
}

func optionalID(m map[string]any, key string) any {
	id, ok := number(m, key)
	if !ok || id == 0 {
		return nil
	}
	return idString(id)
}

// readReceipts reads the receipts modified since `since` (phase "modified"), then re-reads the receipts
// created within OpenReceiptWindow that phase did not return (phase "open"): Etsy does not move
// updated_timestamp when a receipt is cancelled, refunded or shipped, so only a re-read sees those changes.
func (c *Connector) readReceipts(ctx context.Context, since time.Time, tok *resumeState, emit connectors.EmitFunc) error {
	shopID, err := c.resolvedShop(ctx)
	if err != nil {
		return err
	}
	st := resumeState{Phase: phaseModified, Since: since}
	if tok != nil && (tok.Phase == phaseModified || tok.Phase == phaseOpen) {
		st = *tok
		since = tok.Since
	}
	if st.Phase == phaseModified {
		if err := c.readModifiedReceipts(ctx, shopID, &st, emit); err != nil {
			return err
		}
		windowStart := c.now().Add(-c.OpenReceiptWindow)
		if c.OpenReceiptWindow <= 0 || since.IsZero() || !since.After(windowStart) {
			// A read from before the window's start has already returned every receipt in it.
			return nil
		}
		st = resumeState{Phase: phaseOpen, Since: since, Created: max(windowStart.Unix(), minTimestamp)}
	}
	return c.readOpenReceipts(ctx, shopID, &st, emit)
}

func (c *Connector) pageSize(n int) int {
	if n <= 0 || n > maxPageSize {
		return maxPageSize
	}
	return n
}

// readModifiedReceipts pages through the receipts by updated_timestamp, ascending. Each page asks from the
// newest updated_timestamp seen (min_last_modified is inclusive) and drops the receipts of that second it has
// already emitted, so a receipt that changes during the read is read again at its new place instead of
// shifting the offsets of the others. Only a page made entirely of one second's receipts advances the offset.
func (c *Connector) readModifiedReceipts(ctx context.Context, shopID int64, st *resumeState, emit connectors.EmitFunc) error {
	limit := c.pageSize(c.ReceiptPageSize)
	if st.Time == 0 {
		st.Time = max(st.Since.Unix(), minTimestamp)
	}
	path := fmt.Sprintf("/shops/%d/receipts", shopID)
	for n := 1; ; n++ {
		q := url.Values{
			"min_last_modified": {strconv.FormatInt(st.Time, 10)},
			"sort_on":           {"updated"},
			"sort_order":        {"asc"},
			"limit":             {strconv.Itoa(limit)},
			"offset":            {strconv.Itoa(st.Offset)},
		}
		var page receiptPage
		if err := c.get(ctx, path, q, &page); err != nil {
			return fmt.Errorf("etsy: list receipts modified since %s, page %d: %w", rfc3339(st.Time), n, err)
		}
		seen := make(map[int64]bool, len(st.Seen))
		for _, id := range st.Seen {
			seen[id] = true
		}
		records := make([]connectors.Record, 0, len(page.Results))
		var ids, updated []int64
		var lastUpdated int64
		for _, raw := range page.Results {
			rec, r, err := receiptRecord(raw)
			if err != nil {
				return connectors.Terminal("UnexpectedResponse", fmt.Errorf("etsy: list receipts page %d: %w", n, err))
			}
			ids = append(ids, r.ReceiptID)
			updated = append(updated, r.UpdatedTimestamp)
			lastUpdated = r.UpdatedTimestamp
			if r.UpdatedTimestamp == st.Time && seen[r.ReceiptID] {
				continue
			}
			records = append(records, rec)
		}
		before := st.Offset
		switch {
		case len(ids) == 0:
		case lastUpdated > st.Time:
			st.Time, st.Offset, st.Seen = lastUpdated, 0, nil
			for i, id := range ids {
				if updated[i] == lastUpdated {
					st.Seen = append(st.Seen, id)
				}
			}
		default:
			// A whole page of receipts updated in the same second: step over them.
			st.Offset += len(ids)
			st.Seen = append(st.Seen, ids...)
		}
		done := len(page.Results) < limit
		var remaining time.Duration
		if !done {
			left := page.Count - before - len(page.Results)
			remaining = c.pacer.estimate((left + limit - 1) / limit)
		}
		if err := emit(ctx, connectors.Page{Records: records, Resume: st.String(), Remaining: remaining}); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// readOpenReceipts re-reads the receipts created since st.Created, oldest first, and emits those the
// modified phase did not (their updated_timestamp is before Since). New receipts only append to this order,
// so offsets are stable.
func (c *Connector) readOpenReceipts(ctx context.Context, shopID int64, st *resumeState, emit connectors.EmitFunc) error {
	limit := c.pageSize(c.ReceiptPageSize)
	path := fmt.Sprintf("/shops/%d/receipts", shopID)
	sinceUnix := st.Since.Unix()
	for n := 1; ; n++ {
		q := url.Values{
			"min_created": {strconv.FormatInt(st.Created, 10)},
			"sort_on":     {"created"},
			"sort_order":  {"asc"},
			"limit":       {strconv.Itoa(limit)},
			"offset":      {strconv.Itoa(st.Offset)},
		}
		var page receiptPage
		if err := c.get(ctx, path, q, &page); err != nil {
			return fmt.Errorf("etsy: re-read receipts created since %s, page %d: %w", rfc3339(st.Created), n, err)
		}
		records := make([]connectors.Record, 0, len(page.Results))
		for _, raw := range page.Results {
			rec, r, err := receiptRecord(raw)
			if err != nil {
				return connectors.Terminal("UnexpectedResponse", fmt.Errorf("etsy: re-read receipts page %d: %w", n, err))
			}
			if r.UpdatedTimestamp < sinceUnix {
				records = append(records, rec)
			}
		}
		st.Offset += len(page.Results)
		done := len(page.Results) < limit
		var remaining time.Duration
		if !done {
			left := page.Count - st.Offset
			remaining = c.pacer.estimate((left + limit - 1) / limit)
		}
		if err := emit(ctx, connectors.Page{Records: records, Resume: st.String(), Remaining: remaining}); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// listing is the part of a ShopListing the connector reads.
type listing struct {
	ListingID        int64  `json:"listing_id"`
	Title            string `json:"title"`
	State            string `json:"state"`
	URL              string `json:"url"`
	CreatedTimestamp int64  `json:"created_timestamp"`
	UpdatedTimestamp int64  `json:"updated_timestamp"`
}

// inventoryProduct is a ListingInventoryProduct, decoded both ways.
type inventoryProduct struct {
	ProductID      int64  `json:"product_id"`
	SKU            string `json:"sku"`
	IsDeleted      bool   `json:"is_deleted"`
	PropertyValues []struct {
		Values []string `json:"values"`
	} `json:"property_values"`
	Offerings []struct {
		Quantity  int64 `json:"quantity"`
		IsEnabled bool  `json:"is_enabled"`
		IsDeleted bool  `json:"is_deleted"`
		Price     money `json:"price"`
	} `json:"offerings"`

	data map[string]any
}

type cachedInventory struct {
	products []inventoryProduct
	at       time.Time
}

// listingInventory returns a listing's inventory products, from the cache when a read of the other entity
// fetched it within InventoryReuse. A listing deleted since it was listed has none.
func (c *Connector) listingInventory(ctx context.Context, listingID int64) ([]inventoryProduct, error) {
	c.mu.Lock()
	cached, ok := c.inventory[listingID]
	c.mu.Unlock()
	if ok && c.InventoryReuse > 0 && c.now().Sub(cached.at) < c.InventoryReuse {
		return cached.products, nil
	}
	var inv struct {
		Products []json.RawMessage `json:"products"`
	}
	err := c.get(ctx, fmt.Sprintf("/listings/%d/inventory", listingID), nil, &inv)
	if class, reason := connectors.Classify(err); err != nil && class == connectors.ClassTerminal && reason == "NotFound" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	products := make([]inventoryProduct, 0, len(inv.Products))
	for _, raw := range inv.Products {
		var p inventoryProduct
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, connectors.Terminal("UnexpectedResponse", fmt.Errorf("inventory of listing %d: %w", listingID, err))
		}
		if err := json.Unmarshal(raw, &p.data); err != nil {
			return nil, connectors.Terminal("UnexpectedResponse", fmt.Errorf("inventory of listing %d: %w", listingID, err))
		}
		products = append(products, p)
	}
	if c.InventoryReuse > 0 {
		c.mu.Lock()
		c.inventory[listingID] = cachedInventory{products: products, at: c.now()}
		c.mu.Unlock()
	}
	return products, nil
}

// recordBuilder turns a listing and its inventory into records: SKUs for Products, levels for Inventory.
type recordBuilder func(shopID int64, l listing, products []inventoryProduct) []connectors.Record

// price is the first live offering's price; quantity the sum of the live offerings' quantities.
func (p inventoryProduct) priceAndQuantity() (string, int64) {
	price, qty := "", int64(0)
	for _, o := range p.Offerings {
		if o.IsDeleted || !o.IsEnabled {
			continue
		}
		if price == "" {
			price = o.Price.Decimal()
		}
		qty += o.Quantity
	}
	return price, qty
}

// productRecords makes one SKU record per live inventory product: the product object with its listing and
// productID, listingID, name (the listing title and the product's property values), price, quantity and
// updatedAt (the listing's; products have no timestamp of their own).
func productRecords(_ int64, l listing, products []inventoryProduct) []connectors.Record {
	out := make([]connectors.Record, 0, len(products))
	for _, p := range products {
		if p.IsDeleted || p.ProductID <= 0 {
			continue
		}
		price, qty := p.priceAndQuantity()
		name := l.Title
		var values []string
		for _, pv := range p.PropertyValues {
			values = append(values, pv.Values...)
		}
		if len(values) > 0 {
			name += " - " + strings.Join(values, " / ")
		}
		d := p.data
		d["productID"] = idString(p.ProductID)
		d["listingID"] = idString(l.ListingID)
		d["listing"] = map[string]any{"listing_id": idString(l.ListingID), "title": l.Title, "state": l.State, "url": l.URL,
			"created_timestamp": float64(l.CreatedTimestamp), "updated_timestamp": float64(l.UpdatedTimestamp)}
		d["name"] = name
		d["price"] = nilIfEmpty(price)
		d["quantity"] = float64(qty)
		d["updatedAt"] = rfc3339(l.UpdatedTimestamp)
		out = append(out, connectors.Record{ID: idString(p.ProductID), UpdatedAt: time.Unix(l.UpdatedTimestamp, 0).UTC(), Data: d})
	}
	return out
}

// LevelID is the inventory record ID of a product's stock at the shop, Etsy's one stock location.
func LevelID(productID, shopID int64) string { return idString(productID) + "@" + idString(shopID) }

// levelRecords makes one inventory level per live inventory product, at the shop: productID, listingID, sku,
// warehouseID (the shop ID), available (the live offerings' quantity) and updatedAt (the listing's).
func levelRecords(shopID int64, l listing, products []inventoryProduct) []connectors.Record {
	out := make([]connectors.Record, 0, len(products))
	for _, p := range products {
		if p.IsDeleted || p.ProductID <= 0 {
			continue
		}
		_, qty := p.priceAndQuantity()
		d := map[string]any{
			"productID":   idString(p.ProductID),
			"listingID":   idString(l.ListingID),
			"sku":         p.SKU,
			"warehouseID": idString(shopID),
			"available":   float64(qty),
			"updatedAt":   rfc3339(l.UpdatedTimestamp),
		}
		out = append(out, connectors.Record{ID: LevelID(p.ProductID, shopID), UpdatedAt: time.Unix(l.UpdatedTimestamp, 0).UTC(), Data: d})
	}
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// overlapScan is how many results at the start of a listing page are searched for the last listing read.
const overlapScan = 3

// readListings pages through the shop's active listings (Etsy orders them by creation) and reads each one's
// inventory. Each page after the first starts one listing early and drops everything up to the last listing
// already read, so a listing deactivated or added mid-read shifts nothing past the reader.
func (c *Connector) readListings(ctx context.Context, tok *resumeState, emit connectors.EmitFunc, build recordBuilder) error {
	shopID, err := c.resolvedShop(ctx)
	if err != nil {
		return err
	}
	st := resumeState{Phase: phaseListings}
	if tok != nil && tok.Phase == phaseListings {
		st = *tok
	}
	limit := c.pageSize(c.ListingPageSize)
	path := fmt.Sprintf("/shops/%d/listings/active", shopID)
	for n := 1; ; n++ {
		offset := st.Offset
		if offset > 0 && st.Last != 0 {
			offset--
		}
		q := url.Values{"limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(offset)}}
		var page listPage
		if err := c.get(ctx, path, q, &page); err != nil {
			return fmt.Errorf("etsy: list active listings page %d: %w", n, err)
		}
		listings := make([]listing, 0, len(page.Results))
		for _, raw := range page.Results {
			var l listing
			if err := json.Unmarshal(raw, &l); err != nil || l.ListingID <= 0 {
				return connectors.Terminal("UnexpectedResponse", fmt.Errorf("etsy: list active listings page %d: a listing without listing_id", n))
			}
			listings = append(listings, l)
		}
		fresh := listings
		if offset < st.Offset {
			for i := 0; i < len(listings) && i < overlapScan; i++ {
				if listings[i].ListingID == st.Last {
					fresh = listings[i+1:]
					break
				}
			}
		}
		var records []connectors.Record
		for _, l := range fresh {
			products, err := c.listingInventory(ctx, l.ListingID)
			if err != nil {
				return fmt.Errorf("etsy: list active listings page %d: inventory of listing %d: %w", n, l.ListingID, err)
			}
			records = append(records, build(shopID, l, products)...)
		}
		st.Offset = offset + len(listings)
		if len(listings) > 0 {
			st.Last = listings[len(listings)-1].ListingID
		}
		done := len(listings) < limit
		var remaining time.Duration
		if !done {
			left := max(page.Count-st.Offset, 0)
			remaining = c.pacer.estimate(left + (left+limit-1)/limit)
		}
		if err := emit(ctx, connectors.Page{Records: records, Resume: st.String(), Remaining: remaining}); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// readShop reads the shop, the one warehouse Etsy has: shopID, name (shop_name), country
// (shop_location_country_iso, else shipping_from_country_iso), active (not on vacation) and updatedAt.
func (c *Connector) readShop(ctx context.Context, emit connectors.EmitFunc) error {
	shopID, err := c.resolvedShop(ctx)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := c.get(ctx, fmt.Sprintf("/shops/%d", shopID), nil, &raw); err != nil {
		return fmt.Errorf("etsy: get shop %d: %w", shopID, err)
	}
	var s struct {
		ShopID           int64   `json:"shop_id"`
		ShopName         string  `json:"shop_name"`
		IsVacation       bool    `json:"is_vacation"`
		UpdatedTimestamp int64   `json:"updated_timestamp"`
		LocationCountry  *string `json:"shop_location_country_iso"`
		ShipsFromCountry *string `json:"shipping_from_country_iso"`
	}
	var data map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		return connectors.Terminal("UnexpectedResponse", fmt.Errorf("etsy: get shop %d: %w", shopID, err))
	}
	if err := json.Unmarshal(raw, &data); err != nil {
		return connectors.Terminal("UnexpectedResponse", fmt.Errorf("etsy: get shop %d: %w", shopID, err))
	}
	if s.ShopID <= 0 {
		return connectors.Terminal("UnexpectedResponse", errors.New("etsy: the shop has no shop_id"))
	}
	var country any
	switch {
	case s.LocationCountry != nil && *s.LocationCountry != "":
		country = *s.LocationCountry
	case s.ShipsFromCountry != nil && *s.ShipsFromCountry != "":
		country = *s.ShipsFromCountry
	}
	data["shopID"] = idString(s.ShopID)
	data["name"] = s.ShopName
	data["country"] = country
	data["active"] = !s.IsVacation
	data["updatedAt"] = rfc3339(s.UpdatedTimestamp)
	rec := connectors.Record{ID: idString(s.ShopID), UpdatedAt: time.Unix(s.UpdatedTimestamp, 0).UTC(), Data: data}
	return emit(ctx, connectors.Page{Records: []connectors.Record{rec}, Resume: resumeState{Phase: "shop"}.String()})
}
