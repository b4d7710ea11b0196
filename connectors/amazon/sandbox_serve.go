package amazon

import (
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// windowParams names an orders API's date parameters.
type windowParams struct{ createdAfter, createdBefore, updatedAfter, updatedBefore string }

var (
	v0Window   = windowParams{"CreatedAfter", "CreatedBefore", "LastUpdatedAfter", "LastUpdatedBefore"}
	window2026 = windowParams{"createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore"}
)

// ordersWindow validates an orders query's dates as Amazon does and returns the window.
func (s *Sandbox) ordersWindow(w http.ResponseWriter, r *http.Request, p windowParams) (byCreated bool, after, before time.Time, ok bool) {
	q := r.URL.Query()
	ca, cb, ua, ub := q.Get(p.createdAfter), q.Get(p.createdBefore), q.Get(p.updatedAfter), q.Get(p.updatedBefore)
	switch {
	case ca == "" && ua == "":
		invalidInput(w, "Either "+p.createdAfter+" or "+p.updatedAfter+" must be specified.")
		return
	case ca != "" && (ua != "" || ub != ""), ua != "" && cb != "":
		invalidInput(w, p.createdAfter+"/"+p.createdBefore+" cannot be combined with "+p.updatedAfter+"/"+p.updatedBefore+".")
		return
	}
	byCreated = ca != ""
	rawAfter, rawBefore, beforeName := ua, ub, p.updatedBefore
	if byCreated {
		rawAfter, rawBefore, beforeName = ca, cb, p.createdBefore
	}
	now := s.now()
	after, okA := parseTime(rawAfter)
	if !okA {
		invalidInput(w, "Invalid date-time: "+rawAfter+". Use ISO 8601.")
		return
	}
	if after.Before(now.Add(-MaxHistory)) {
		invalidInput(w, "Invalid Input: orders older than two years cannot be requested.")
		return
	}
	before = now.Add(-2 * time.Minute)
	if rawBefore != "" {
		b, okB := parseTime(rawBefore)
		if !okB {
			invalidInput(w, "Invalid date-time: "+rawBefore+". Use ISO 8601.")
			return
		}
		if b.After(now.Add(-2 * time.Minute)) {
			invalidInput(w, beforeName+" must be at least two minutes before the time of the request.")
			return
		}
		if b.Before(after) {
			invalidInput(w, beforeName+" must be equal to or after the start of the window.")
			return
		}
		before = b
	}
	return byCreated, after, before, true
}

func pageSize(w http.ResponseWriter, raw, name string) (int, bool) {
	if raw == "" {
		return 100, true
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 100 {
		invalidInput(w, name+" must be between 1 and 100.")
		return 0, false
	}
	return n, true
}

// selectOrders returns the orders of the marketplaces in the window after the token's key, sorted by the
// window's time and then by ID, at most n, and whether more follow.
func (s *Sandbox) selectOrders(t pageToken, n int) (out []*sandboxkit.Order, more bool) {
	byCreated := t.Opts == "created"
	at := func(o *sandboxkit.Order) time.Time {
		if byCreated {
			return o.CreatedAt
		}
		return o.UpdatedAt
	}
	mkts := map[string]bool{}
	for _, m := range t.Mkts {
		mkts[m] = true
	}
	after, before := time.Unix(0, t.After), time.Unix(0, t.Before)
	var all []*sandboxkit.Order
	for i := range s.cat.Orders {
		o := &s.cat.Orders[i]
		if _, m := s.orderMarket(o); !mkts[m.ID] {
			continue
		}
		if ts := at(o); ts.Before(after) || ts.After(before) {
			continue
		}
		if t.KeyID != "" {
			ts, key := at(o).UnixNano(), strconv.FormatInt(o.ID, 10)
			if ts < t.KeyT || ts == t.KeyT && key <= t.KeyID {
				continue
			}
		}
		all = append(all, o)
	}
	sort.Slice(all, func(i, j int) bool {
		ti, tj := at(all[i]), at(all[j])
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return strconv.FormatInt(all[i].ID, 10) < strconv.FormatInt(all[j].ID, 10)
	})
	if len(all) > n {
		return all[:n], true
	}
	return all, false
}

// ordersPage runs an orders query (first page or NextToken) and returns the page and the next token.
func (s *Sandbox) ordersPage(w http.ResponseWriter, r *http.Request, kind, tokenParam, mktParam, sizeParam string, p windowParams, mktsRequired bool) (orders []*sandboxkit.Order, next string, before time.Time, ok bool) {
	q := r.URL.Query()
	mkts := csv(q.Get(mktParam))
	if len(mkts) == 0 && !mktsRequired {
		mkts = s.MarketplaceIDs()
	}
	if !s.checkMarketplaces(w, mktParam, mkts, 50) {
		return nil, "", before, false
	}
	var t pageToken
	size := 100
	if raw := q.Get(tokenParam); raw != "" {
		var valid bool
		if t, valid = s.decodeToken(raw, kind); !valid {
			invalidInput(w, "Invalid "+tokenParam+": the token is invalid or has expired.")
			return nil, "", before, false
		}
		size = t.Offset
	} else {
		byCreated, after, b, okW := s.ordersWindow(w, r, p)
		if !okW {
			return nil, "", before, false
		}
		if size, ok = pageSize(w, q.Get(sizeParam), sizeParam); !ok {
			return nil, "", before, false
		}
		t = pageToken{Kind: kind, After: after.UnixNano(), Before: b.UnixNano(), Mkts: mkts, Offset: size}
		if byCreated {
			t.Opts = "created"
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	orders, more := s.selectOrders(t, size)
	if more {
		last := orders[len(orders)-1]
		nt := t
		nt.KeyT, nt.KeyID = last.UpdatedAt.UnixNano(), strconv.FormatInt(last.ID, 10)
		if t.Opts == "created" {
			nt.KeyT = last.CreatedAt.UnixNano()
		}
		next = s.encodeToken(nt)
	}
	return orders, next, time.Unix(0, t.Before).UTC(), true
}

func (s *Sandbox) serveGetOrders(w http.ResponseWriter, r *http.Request) {
	orders, next, before, ok := s.ordersPage(w, r, "orders", "NextToken", "MarketplaceIds", "MaxResultsPerPage", v0Window, true)
	if !ok {
		return
	}
	s.mu.RLock()
	list := make([]any, 0, len(orders))
	for _, o := range orders {
		list = append(list, s.v0Order(o))
	}
	s.mu.RUnlock()
	payload := map[string]any{"Orders": list, "LastUpdatedBefore": before.Format(time.RFC3339)}
	if next != "" {
		payload["NextToken"] = next
	}
	writeJSON(w, http.StatusOK, map[string]any{"payload": payload})
}

func (s *Sandbox) v0Order(o *sandboxkit.Order) map[string]any {
	mi, m := s.orderMarket(o)
	nShipped, nUnshipped := 0, 0
	for i, l := range o.Lines {
		sh := shipped(o, i)
		nShipped += sh
		if o.Status != "cancelled" {
			nUnshipped += l.Quantity - sh
		}
	}
	channel := "MFN"
	if o.ID%3 != 0 {
		channel = "AFN"
	}
	out := map[string]any{
		"AmazonOrderId":                amazonOrderID(o, mi),
		"SellerOrderId":                strconv.Itoa(o.Number),
		"PurchaseDate":                 o.CreatedAt.UTC().Format(time.RFC3339),
		"LastUpdateDate":               o.UpdatedAt.UTC().Format(time.RFC3339),
		"OrderStatus":                  v0Statuses[o.Status],
		"FulfillmentChannel":           channel,
		"SalesChannel":                 m.Site,
		"ShipServiceLevel":             "Std " + m.Country + " D2D Dom",
		"NumberOfItemsShipped":         nShipped,
		"NumberOfItemsUnshipped":       nUnshipped,
		"PaymentMethod":                "Other",
		"PaymentMethodDetails":         []string{"Standard"},
		"MarketplaceId":                m.ID,
		"ShipmentServiceLevelCategory": "Standard",
		"OrderType":                    "StandardOrder",
		"EarliestShipDate":             o.CreatedAt.Add(24 * time.Hour).UTC().Format(time.RFC3339),
		"LatestShipDate":               o.CreatedAt.Add(72 * time.Hour).UTC().Format(time.RFC3339),
		"IsBusinessOrder":              false,
		"IsPrime":                      o.ID%2 == 0,
		"IsPremiumOrder":               false,
		"IsGlobalExpressEnabled":       false,
		"IsReplacementOrder":           false,
		"IsSoldByAB":                   false,
		"IsISPU":                       false,
		"IsAccessPointOrder":           false,
		"ShippingAddress": map[string]any{
			"City": o.Customer.City, "StateOrRegion": o.Customer.Region,
			"PostalCode": o.Customer.PostalCode, "CountryCode": o.Customer.CountryCode,
		},
	}
	// Pending orders carry no prices.
	if o.Status != "pending" {
		out["OrderTotal"] = money(m.Currency, o.Total())
	}
	return out
}

func (s *Sandbox) serveGetOrderItems(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("orderId")
	offset := 0
	if raw := r.URL.Query().Get("NextToken"); raw != "" {
		t, ok := s.decodeToken(raw, "items")
		if !ok || t.KeyID != id {
			invalidInput(w, "Invalid NextToken: the token is invalid or has expired.")
			return
		}
		offset = t.Offset
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, found := s.byOrderID[id]
	if !found {
		writeErrors(w, http.StatusNotFound, "NotFound", "Invalid AmazonOrderId: "+id)
		return
	}
	o := &s.cat.Orders[i]
	mi, _ := s.orderMarket(o)
	cur := s.markets[mi].Currency
	end := min(offset+s.opts.ItemsPerPage, len(o.Lines))
	items := make([]any, 0, end-offset)
	for i := offset; i < end; i++ {
		l := o.Lines[i]
		it := map[string]any{
			"ASIN": asin(l.VariantID), "SellerSKU": l.SKU, "OrderItemId": orderItemID(l.ID), "Title": l.Title,
			"QuantityOrdered": l.Quantity, "QuantityShipped": shipped(o, i),
			"ProductInfo": map[string]any{"NumberOfItems": "1"},
			"IsGift":      "false", "ConditionId": "New", "ConditionSubtypeId": "New",
			"IsTransparency": false, "SerialNumberRequired": false,
		}
		if o.Status != "pending" {
			sub := l.PriceCents * int64(l.Quantity)
			it["ItemPrice"] = money(cur, sub)
			it["ItemTax"] = money(cur, sub*8/100)
			it["PromotionDiscount"] = money(cur, 0)
			it["PromotionDiscountTax"] = money(cur, 0)
		}
		items = append(items, it)
	}
	payload := map[string]any{"AmazonOrderId": id, "OrderItems": items}
	if end < len(o.Lines) {
		payload["NextToken"] = s.encodeToken(pageToken{Kind: "items", KeyID: id, Offset: end})
	}
	writeJSON(w, http.StatusOK, map[string]any{"payload": payload})
}

// included are the includedData values searchOrders knows.
var included = map[string]bool{"BUYER": true, "RECIPIENT": true, "PROCEEDS": true, "EXPENSE": true, "PROMOTION": true,
	"CANCELLATION": true, "FULFILLMENT": true, "PACKAGES": true, "TAX": true, "PAYMENT": true, "FULFILLMENT_ORDERS": true}

func (s *Sandbox) serveSearchOrders(w http.ResponseWriter, r *http.Request) {
	inc := map[string]bool{}
	for _, v := range csv(r.URL.Query().Get("includedData")) {
		if !included[v] {
			invalidInput(w, "Invalid includedData value: "+v)
			return
		}
		inc[v] = true
	}
	orders, next, before, ok := s.ordersPage(w, r, "search", "paginationToken", "marketplaceIds", "maxResultsPerPage", window2026, false)
	if !ok {
		return
	}
	s.mu.RLock()
	list := make([]any, 0, len(orders))
	for _, o := range orders {
		list = append(list, s.order2026(o, inc))
	}
	s.mu.RUnlock()
	out := map[string]any{"orders": list, "lastUpdatedBefore": before.Format(time.RFC3339)}
	if next != "" {
		out["pagination"] = map[string]any{"nextToken": next}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sandbox) order2026(o *sandboxkit.Order, inc map[string]bool) map[string]any {
	mi, m := s.orderMarket(o)
	priced := o.Status != "pending"
	items := make([]any, 0, len(o.Lines))
	for i, l := range o.Lines {
		product := map[string]any{"asin": asin(l.VariantID), "title": l.Title, "sellerSku": l.SKU,
			"condition": map[string]any{"conditionType": "NEW", "conditionSubtype": "NEW"}}
		if priced {
			product["price"] = map[string]any{"unitPrice": money2026(m.Currency, l.PriceCents)}
		}
		it := map[string]any{"orderItemId": orderItemID(l.ID), "quantityOrdered": l.Quantity, "product": product}
		if inc["FULFILLMENT"] {
			sh := shipped(o, i)
			it["fulfillment"] = map[string]any{"quantityFulfilled": sh, "quantityUnfulfilled": l.Quantity - sh}
		}
		if inc["PROCEEDS"] && priced {
			it["proceeds"] = map[string]any{"proceedsTotal": money2026(m.Currency, l.PriceCents*int64(l.Quantity))}
		}
		items = append(items, it)
	}
	by := "MERCHANT"
	if o.ID%3 != 0 {
		by = "AMAZON"
	}
	out := map[string]any{
		"orderId":         amazonOrderID(o, mi),
		"orderAliases":    []any{map[string]any{"aliasId": strconv.Itoa(o.Number), "aliasType": "SELLER_ORDER_ID"}},
		"createdTime":     o.CreatedAt.UTC().Format(time.RFC3339),
		"lastUpdatedTime": o.UpdatedAt.UTC().Format(time.RFC3339),
		"programs":        []any{},
		"salesChannel":    map[string]any{"channelName": "AMAZON", "marketplaceId": m.ID, "marketplaceName": m.Site},
		"orderItems":      items,
	}
	if inc["PROCEEDS"] && priced {
		out["proceeds"] = map[string]any{
			"grandTotal": money2026(m.Currency, o.Total()),
			"breakdowns": []any{
				map[string]any{"type": "ITEM", "subtotal": money2026(m.Currency, o.Subtotal())},
				map[string]any{"type": "TAX", "subtotal": money2026(m.Currency, o.TaxCents)},
				map[string]any{"type": "SHIPPING", "subtotal": money2026(m.Currency, o.ShippingCents)},
			},
		}
	}
	if inc["FULFILLMENT"] {
		out["fulfillment"] = map[string]any{"fulfillmentStatus": statuses2026[o.Status], "fulfilledBy": by,
			"fulfillmentServiceLevel": "STANDARD"}
	}
	return out
}

// fbaPageSize is how many summaries getInventorySummaries returns per page.
const fbaPageSize = 50

// fbaTokenTTL is how long an FBA nextToken lives.
const fbaTokenTTL = 30 * time.Second

func (s *Sandbox) serveInventorySummaries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("granularityType") != "Marketplace" {
		invalidInput(w, "granularityType must be Marketplace.")
		return
	}
	gid := q.Get("granularityId")
	mkts := csv(q.Get("marketplaceIds"))
	if !s.checkMarketplaces(w, "marketplaceIds", mkts, 1) {
		return
	}
	if gid != mkts[0] {
		invalidInput(w, "granularityId must be the marketplace in marketplaceIds.")
		return
	}
	var start time.Time
	if raw := q.Get("startDateTime"); raw != "" {
		t, ok := parseTime(raw)
		if !ok {
			invalidInput(w, "Invalid startDateTime: "+raw)
			return
		}
		if t.Before(s.now().AddDate(0, -18, 0)) {
			invalidInput(w, "startDateTime cannot be more than 18 months in the past.")
			return
		}
		start = t
	}
	offset := 0
	if raw := q.Get("nextToken"); raw != "" {
		t, ok := s.decodeToken(raw, "fba")
		if !ok || s.now().Sub(time.Unix(0, t.Issued)) > fbaTokenTTL {
			invalidInput(w, "Invalid nextToken: the token is invalid or has expired.")
			return
		}
		if t.KeyID != gid || t.After != start.UnixNano() {
			invalidInput(w, "Invalid nextToken: use it with the same startDateTime and marketplace.")
			return
		}
		offset = t.Offset
	}
	details := q.Get("details") == "true"
	mi := s.marketIndex(gid)

	s.mu.RLock()
	defer s.mu.RUnlock()
	loc := s.cat.Locations[mi].ID
	levels := map[int64]sandboxkit.Level{}
	for _, l := range s.cat.Levels {
		if l.LocationID == loc {
			levels[l.VariantID] = l
		}
	}
	type row struct {
		v     sandboxkit.Variant
		title string
		lv    sandboxkit.Level
	}
	var rows []row
	for _, p := range s.cat.Products {
		for _, v := range p.Variants {
			lv := levels[v.ID]
			if !start.IsZero() && lv.UpdatedAt.Before(start) {
				continue
			}
			title := p.Title
			if v.Title != "Default Title" {
				title += " - " + v.Title
			}
			rows = append(rows, row{v, title, lv})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].v.SKU < rows[j].v.SKU })
	end := min(offset+fbaPageSize, len(rows))
	list := make([]any, 0, max(end-offset, 0))
	for _, rw := range rows[min(offset, end):end] {
		sum := map[string]any{
			"asin": asin(rw.v.ID), "fnSku": fnsku(rw.v.ID), "sellerSku": rw.v.SKU, "condition": "NewItem",
			"lastUpdatedTime": rw.lv.UpdatedAt.UTC().Format(time.RFC3339), "productName": rw.title,
			"totalQuantity": rw.lv.OnHand, "stores": []any{},
		}
		if details {
			sum["inventoryDetails"] = map[string]any{
				"fulfillableQuantity": rw.lv.Available, "inboundWorkingQuantity": 0, "inboundShippedQuantity": 0,
				"inboundReceivingQuantity": 0,
				"reservedQuantity": map[string]any{"totalReservedQuantity": rw.lv.Committed,
					"pendingCustomerOrderQuantity": rw.lv.Committed, "pendingTransshipmentQuantity": 0, "fcProcessingQuantity": 0},
				"researchingQuantity":   map[string]any{"totalResearchingQuantity": 0, "researchingQuantityBreakdown": []any{}},
				"unfulfillableQuantity": map[string]any{"totalUnfulfillableQuantity": rw.lv.OnHand - rw.lv.Available - rw.lv.Committed},
			}
		}
		list = append(list, sum)
	}
	out := map[string]any{"payload": map[string]any{
		"granularity":        map[string]any{"granularityType": "Marketplace", "granularityId": gid},
		"inventorySummaries": list,
	}}
	if end < len(rows) {
		out["pagination"] = map[string]any{"nextToken": s.encodeToken(pageToken{Kind: "fba", KeyID: gid, After: start.UnixNano(), Offset: end})}
	}
	writeJSON(w, http.StatusOK, out)
}
