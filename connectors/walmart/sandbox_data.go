package walmart

import (
	"crypto/hmac"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// account is the sandbox's seller account: the generated catalog arranged the way Walmart keys it.
type account struct {
	cat      *sandboxkit.Catalog
	nodes    []node
	nodeByID map[int64]*node
	orders   []*order // by purchaseOrderId
	items    []item   // by variant ID
	bySKU    map[string]*item
}

// node is a ship node: one of the seller's locations.
type node struct {
	loc  sandboxkit.Location
	id   string
	kind string // SellerFulfilled or 3PLFulfilled
}

// item is a Walmart item: one variant, with its product.
type item struct {
	v       sandboxkit.Variant
	p       *sandboxkit.Product
	levels  []sandboxkit.Level
	variant bool // the product has several variants: the item belongs to a variant group
}

// order is a purchase order. lineStatus and modified change when the order is touched.
type order struct {
	o          sandboxkit.Order
	po         string
	nodeType   string
	node       *node
	lineStatus []string
	modified   time.Time // the newest line statusDate: what lastModified filters compare
}

func newAccount(cat *sandboxkit.Catalog, wfsEvery int) *account {
	st := &account{cat: cat, nodeByID: map[int64]*node{}, bySKU: map[string]*item{}}
	for i, l := range cat.Locations {
		kind := "SellerFulfilled"
		if i == len(cat.Locations)-1 && len(cat.Locations) >= 3 {
			kind = "3PLFulfilled"
		}
		st.nodes = append(st.nodes, node{loc: l, id: fmt.Sprintf("72140774%010d", l.ID), kind: kind})
	}
	for i := range st.nodes {
		st.nodeByID[st.nodes[i].loc.ID] = &st.nodes[i]
	}
	levels := map[int64][]sandboxkit.Level{}
	for _, l := range cat.Levels {
		levels[l.VariantID] = append(levels[l.VariantID], l)
	}
	for pi := range cat.Products {
		p := &cat.Products[pi]
		for _, v := range p.Variants {
			st.items = append(st.items, item{v: v, p: p, levels: levels[v.ID], variant: len(p.Variants) > 1})
		}
	}
	for i := range st.items {
		st.bySKU[st.items[i].v.SKU] = &st.items[i]
	}
	for i, o := range cat.Orders {
		so := &order{o: o, po: fmtPO(o.ID), node: st.nodeByID[o.LocationID],
			modified: o.UpdatedAt.UTC().Truncate(time.Millisecond)}
		so.nodeType = so.node.kind
		if wfsEvery > 0 && i%wfsEvery == wfsEvery-1 {
			so.nodeType, so.node = "WFSFulfilled", nil
		}
		for li := range o.Lines {
			so.lineStatus = append(so.lineStatus, lineStatus(o.Status, li))
		}
		st.orders = append(st.orders, so)
	}
	sort.Slice(st.orders, func(a, b int) bool { return st.orders[a].po < st.orders[b].po })
	return st
}

// lineStatus is the Walmart status of a line of an order in the catalog's status.
func lineStatus(status string, line int) string {
	switch status {
	case "pending":
		return "Created"
	case "paid":
		return "Acknowledged"
	case "partially_fulfilled":
		if line%2 == 0 {
			return "Shipped"
		}
		return "Acknowledged"
	case "cancelled":
		return "Cancelled"
	case "refunded":
		return "Refund"
	}
	return "Shipped"
}

// amount is money in cents that marshals as a JSON number with two decimals, as Walmart's JSON does.
type amount int64

func (a amount) MarshalJSON() ([]byte, error) { return []byte(sandboxkit.Money(int64(a))), nil }

type wmMoney struct {
	Currency string `json:"currency"`
	Amount   amount `json:"amount"`
}

type wmQuantity struct {
	UnitOfMeasurement string `json:"unitOfMeasurement"`
	Amount            string `json:"amount"`
}

type wmOrder struct {
	PurchaseOrderID string `json:"purchaseOrderId"`
	CustomerOrderID string `json:"customerOrderId"`
	CustomerEmailID string `json:"customerEmailId"`
	OrderDate       int64  `json:"orderDate"`
	ShippingInfo    struct {
		Phone                 string `json:"phone"`
		EstimatedDeliveryDate int64  `json:"estimatedDeliveryDate"`
		EstimatedShipDate     int64  `json:"estimatedShipDate"`
		MethodCode            string `json:"methodCode"`
		PostalAddress         struct {
			Name        string `json:"name"`
			Address1    string `json:"address1"`
			Address2    string `json:"address2,omitempty"`
			City        string `json:"city"`
			State       string `json:"state"`
			PostalCode  string `json:"postalCode"`
			Country     string `json:"country"`
			AddressType string `json:"addressType"`
		} `json:"postalAddress"`
	} `json:"shippingInfo"`
	OrderLines struct {
		OrderLine []wmLine `json:"orderLine"`
	} `json:"orderLines"`
	ShipNode wmShipNodeRef `json:"shipNode"`
}

// wmShipNodeRef is the order's fulfilment node (the current JSON API's shipNode; not in the 2016 XSD).
type wmShipNodeRef struct {
	Type string `json:"type"`
	Name string `json:"name"`
	ID   string `json:"id"`
}

type wmCharge struct {
	ChargeType   string  `json:"chargeType"`
	ChargeName   string  `json:"chargeName"`
	ChargeAmount wmMoney `json:"chargeAmount"`
	Tax          *wmTax  `json:"tax,omitempty"`
}

type wmTax struct {
	TaxName   string  `json:"taxName"`
	TaxAmount wmMoney `json:"taxAmount"`
}

type wmLine struct {
	LineNumber string `json:"lineNumber"`
	Item       struct {
		ProductName string `json:"productName"`
		SKU         string `json:"sku"`
	} `json:"item"`
	Charges struct {
		Charge []wmCharge `json:"charge"`
	} `json:"charges"`
	OrderLineQuantity wmQuantity `json:"orderLineQuantity"`
	StatusDate        int64      `json:"statusDate"`
	OrderLineStatuses struct {
		OrderLineStatus []wmLineStatus `json:"orderLineStatus"`
	} `json:"orderLineStatuses"`
	Refund      *wmRefund `json:"refund,omitempty"`
	Fulfillment struct {
		FulfillmentOption string `json:"fulfillmentOption"`
		ShipMethod        string `json:"shipMethod"`
		PickUpDateTime    int64  `json:"pickUpDateTime"`
	} `json:"fulfillment"`
}

type wmLineStatus struct {
	Status             string      `json:"status"`
	StatusQuantity     wmQuantity  `json:"statusQuantity"`
	CancellationReason string      `json:"cancellationReason,omitempty"`
	TrackingInfo       *wmTracking `json:"trackingInfo,omitempty"`
}

type wmTracking struct {
	ShipDateTime int64 `json:"shipDateTime"`
	CarrierName  struct {
		Carrier string `json:"carrier"`
	} `json:"carrierName"`
	MethodCode     string `json:"methodCode"`
	TrackingNumber string `json:"trackingNumber"`
	TrackingURL    string `json:"trackingURL"`
}

type wmRefund struct {
	RefundID      string `json:"refundId"`
	RefundCharges struct {
		RefundCharge []struct {
			RefundReason string   `json:"refundReason"`
			Charge       wmCharge `json:"charge"`
		} `json:"refundCharge"`
	} `json:"refundCharges"`
}

// usAddresses stand in for buyers outside the US: Walmart US ships to US addresses only.
var usAddresses = []struct{ street, city, state, zip string }{
	{"51000 Mott Rd", "Canton", "MI", "48188"}, {"7637 Steamboat St", "Riverside", "CA", "92507"},
	{"210 Elm St", "Springfield", "IL", "62701"}, {"88 Harbor Blvd", "Tampa", "FL", "33602"},
}

// render is the purchase order in Walmart's JSON.
func (st *account) render(so *order) wmOrder {
	o := so.o
	var w wmOrder
	w.PurchaseOrderID = so.po
	w.CustomerOrderID = strconv.FormatInt(5281956000000+o.ID*7, 10)
	w.CustomerEmailID = fmt.Sprintf("%032X@relay.walmart.com", uint64(o.Customer.ID)*0x9E3779B97F4A7C15)
	w.OrderDate = o.CreatedAt.UnixMilli()
	si := &w.ShippingInfo
	si.Phone = fmt.Sprintf("%03d555%04d", 200+o.Customer.ID%700, o.Customer.ID%10000)
	si.EstimatedShipDate = o.CreatedAt.Add(48 * time.Hour).UnixMilli()
	si.EstimatedDeliveryDate = o.CreatedAt.Add(6 * 24 * time.Hour).UnixMilli()
	si.MethodCode = "Value"
	if o.ShippingCents > 0 {
		si.MethodCode = "Standard"
	}
	pa := &si.PostalAddress
	pa.Name = o.Customer.FirstName + " " + o.Customer.LastName
	pa.Address1, pa.City, pa.State, pa.PostalCode = fmt.Sprintf("%d Main St", 100+o.Customer.ID%900), o.Customer.City, o.Customer.Region, o.Customer.PostalCode
	if o.Customer.CountryCode != "US" {
		a := usAddresses[o.Customer.ID%int64(len(usAddresses))]
		pa.Address1, pa.City, pa.State, pa.PostalCode = a.street, a.city, a.state, a.zip
	}
	pa.Country, pa.AddressType = "USA", "RESIDENTIAL"
	switch {
	case so.node != nil:
		w.ShipNode = wmShipNodeRef{Type: so.nodeType, Name: so.node.loc.Name, ID: so.node.id}
	default:
		w.ShipNode = wmShipNodeRef{Type: so.nodeType, Name: "Walmart Fulfillment Services", ID: "WFS"}
	}
	for i, l := range o.Lines {
		var wl wmLine
		wl.LineNumber = strconv.Itoa(i + 1)
		wl.Item.ProductName, wl.Item.SKU = l.Title, l.SKU
		lineCents := l.PriceCents * int64(l.Quantity)
		tax := &wmTax{TaxName: "Tax1", TaxAmount: wmMoney{o.Currency, amount(lineCents * 8 / 100)}}
		wl.Charges.Charge = []wmCharge{{ChargeType: "PRODUCT", ChargeName: "ItemPrice",
			ChargeAmount: wmMoney{o.Currency, amount(lineCents)}, Tax: tax}}
		if i == 0 && o.ShippingCents > 0 {
			wl.Charges.Charge = append(wl.Charges.Charge, wmCharge{ChargeType: "SHIPPING", ChargeName: "Shipping",
				ChargeAmount: wmMoney{o.Currency, amount(o.ShippingCents)}})
		}
		qty := strconv.Itoa(l.Quantity)
		wl.OrderLineQuantity = wmQuantity{"EACH", qty}
		wl.StatusDate = so.modified.UnixMilli()
		ls := wmLineStatus{Status: so.lineStatus[i], StatusQuantity: wmQuantity{"EACH", qty}}
		switch ls.Status {
		case "Cancelled":
			ls.CancellationReason = "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"
		case "Shipped", "Refund":
			t := &wmTracking{ShipDateTime: o.CreatedAt.Add(30 * time.Hour).UnixMilli(), MethodCode: si.MethodCode,
				TrackingNumber: fmt.Sprintf("1Z%06d%010d", o.ID%1000000, l.ID)}
			t.CarrierName.Carrier = "UPS"
			t.TrackingURL = "https://www.walmart.com/tracking?tracking_id=" + t.TrackingNumber
			ls.TrackingInfo = t
		}
		if ls.Status == "Refund" {
			r := &wmRefund{RefundID: fmt.Sprintf("RF%d", l.ID)}
			r.RefundCharges.RefundCharge = append(r.RefundCharges.RefundCharge, struct {
				RefundReason string   `json:"refundReason"`
				Charge       wmCharge `json:"charge"`
			}{"CustomerChangedMind", wmCharge{ChargeType: "PRODUCT", ChargeName: "Lost in Transit",
				ChargeAmount: wmMoney{o.Currency, amount(-lineCents)}}})
			wl.Refund = r
		}
		wl.OrderLineStatuses.OrderLineStatus = []wmLineStatus{ls}
		wl.Fulfillment.FulfillmentOption, wl.Fulfillment.ShipMethod = "S2H", strings.ToUpper(si.MethodCode)
		wl.Fulfillment.PickUpDateTime = o.CreatedAt.Add(72 * time.Hour).UnixMilli()
		w.OrderLines.OrderLine = append(w.OrderLines.OrderLine, wl)
	}
	return w
}

// ordersQuery is a GET /v3/orders query, from parameters or from a cursor.
type ordersQuery struct {
	limit                          int
	modStart, modEnd               time.Time
	createdStart, createdEnd       time.Time
	nodeType                       string
	afterPO                        string
	returned                       int
	rawStart, rawEnd, rawCS, rawCE string
}

func (q *ordersQuery) matches(so *order) bool {
	switch {
	case so.nodeType != q.nodeType,
		!q.modStart.IsZero() && so.modified.Before(q.modStart),
		!q.modEnd.IsZero() && so.modified.After(q.modEnd),
		!q.createdStart.IsZero() && so.o.CreatedAt.Before(q.createdStart),
		!q.createdEnd.IsZero() && so.o.CreatedAt.After(q.createdEnd):
		return false
	}
	return true
}

// cursor is the nextCursor after a page: a query string starting with '?', its dates unescaped, signed so
// that a client that decodes or re-encodes it is refused (with 401, as Walmart does).
func (s *Sandbox) ordersCursor(q *ordersQuery, lastPO string, returned int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "limit=%d&hasMoreElements=true&soIndex=%d&poIndex=%s&partnerId=10000%06d&sellerId=%d",
		q.limit, returned, lastPO, s.opts.Seed.Seed%1000000, 100000+s.opts.Seed.Seed%100000)
	for _, p := range []struct{ k, v string }{{"lastModifiedStartDate", q.rawStart}, {"lastModifiedEndDate", q.rawEnd},
		{"createdStartDate", q.rawCS}, {"createdEndDate", q.rawCE}} {
		if p.v != "" {
			b.WriteString("&" + p.k + "=" + p.v)
		}
	}
	fmt.Fprintf(&b, "&shipNodeType=%s&cursorTime=%d", q.nodeType, s.opts.Now().UnixMilli())
	payload := b.String()
	return "?" + payload + "&sig=" + s.sign(payload)
}

// serveOrders is GET /v3/orders.
func (s *Sandbox) serveOrders(w http.ResponseWriter, r *http.Request) {
	const api = "GMP_ORDER_API"
	raw := r.URL.RawQuery
	q := &ordersQuery{}
	params, err := url.ParseQuery(raw)
	if err != nil {
		badParam(w, api, "query", "malformed query string")
		return
	}
	if params.Has("sig") || params.Has("hasMoreElements") {
		payload, sig, ok := strings.Cut(raw, "&sig=")
		if !ok || !hmac.Equal([]byte(sig), []byte(s.sign(payload))) {
			// Walmart answers a cursor that was decoded or re-encoded with 401.
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED.GMP_GATEWAY_API", "nextCursor",
				"Unauthorized", "Unauthorized token or invalid token.", "ERROR")
			return
		}
		ms, _ := strconv.ParseInt(params.Get("cursorTime"), 10, 64)
		if s.opts.Now().Sub(time.UnixMilli(ms)) > s.opts.CursorTTL {
			badParam(w, api, "nextCursor", "nextCursor has expired")
			return
		}
		q.afterPO = params.Get("poIndex")
		q.returned, _ = strconv.Atoi(params.Get("soIndex"))
	}
	var ok bool
	if q.limit, ok = pageLimit(w, params, api, 100, 200); !ok {
		return
	}
	q.nodeType = params.Get("shipNodeType")
	switch q.nodeType {
	case "":
		q.nodeType = "SellerFulfilled"
	case "SellerFulfilled", "WFSFulfilled", "3PLFulfilled":
	default:
		badParam(w, api, "shipNodeType", "shipNodeType must be SellerFulfilled, WFSFulfilled or 3PLFulfilled")
		return
	}
	oldest := s.opts.Now().Add(-MaxHistory)
	for _, d := range []struct {
		name string
		raw  *string
		t    *time.Time
	}{{"lastModifiedStartDate", &q.rawStart, &q.modStart}, {"lastModifiedEndDate", &q.rawEnd, &q.modEnd},
		{"createdStartDate", &q.rawCS, &q.createdStart}, {"createdEndDate", &q.rawCE, &q.createdEnd}} {
		v := params.Get(d.name)
		if v == "" {
			continue
		}
		t, ok := parseDate(v)
		if !ok {
			badParam(w, api, d.name, d.name+" must be an ISO 8601 date or date-time, for example 2024-01-31T15:04:05.000Z")
			return
		}
		if strings.HasSuffix(d.name, "StartDate") && t.Before(oldest) {
			badParam(w, api, d.name, d.name+" must be within the last 180 days")
			return
		}
		*d.t = t
		*d.raw = t.Format(walmartTime)
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	total, page := 0, []*order{}
	capLeft := s.opts.MaxOrdersPerQuery - q.returned
	more := false
	for _, so := range s.account.orders {
		if !q.matches(so) {
			continue
		}
		total++
		if so.po <= q.afterPO {
			continue
		}
		if len(page) < q.limit && len(page) < capLeft {
			page = append(page, so)
		} else {
			more = true
		}
	}
	if len(page) == 0 {
		notFound(w, api, "No orders found")
		return
	}
	meta := map[string]any{"totalCount": total, "limit": q.limit}
	if more && q.returned+len(page) < s.opts.MaxOrdersPerQuery {
		meta["nextCursor"] = s.ordersCursor(q, page[len(page)-1].po, q.returned+len(page))
	}
	orders := make([]wmOrder, len(page))
	for i, so := range page {
		orders[i] = s.account.render(so)
	}
	writeJSON(w, http.StatusOK, map[string]any{"list": map[string]any{"meta": meta,
		"elements": map[string]any{"order": orders}}})
}

// wmItem is an item of GET /v3/items.
type wmItem struct {
	Mart             string  `json:"mart"`
	SKU              string  `json:"sku"`
	WPID             string  `json:"wpid"`
	UPC              string  `json:"upc"`
	GTIN             string  `json:"gtin"`
	ProductName      string  `json:"productName"`
	Shelf            string  `json:"shelf"`
	ProductType      string  `json:"productType"`
	Price            wmMoney `json:"price"`
	PublishedStatus  string  `json:"publishedStatus"`
	LifecycleStatus  string  `json:"lifecycleStatus"`
	VariantGroupID   string  `json:"variantGroupId,omitempty"`
	VariantGroupInfo *struct {
		IsPrimary bool `json:"isPrimary"`
	} `json:"variantGroupInfo,omitempty"`
}

func (st *account) renderItem(it *item) wmItem {
	v := it.v
	name := it.p.Title
	if it.variant {
		name += " - " + v.Title
	}
	w := wmItem{Mart: "WALMART_US", SKU: v.SKU, WPID: wpid(v.ID), UPC: v.Barcode, GTIN: "00" + v.Barcode,
		ProductName: name, Shelf: "Home Page/" + it.p.Category, ProductType: it.p.Category,
		Price: wmMoney{st.cat.Currency, amount(v.PriceCents)}, PublishedStatus: "PUBLISHED", LifecycleStatus: "ACTIVE"}
	if it.variant {
		w.VariantGroupID = fmt.Sprintf("VG-%d", it.p.ID)
		w.VariantGroupInfo = &struct {
			IsPrimary bool `json:"isPrimary"`
		}{IsPrimary: v.ID == it.p.Variants[0].ID}
	}
	return w
}

// wpid is Walmart's 12-character item ID.
func wpid(id int64) string {
	s := strings.ToUpper(strconv.FormatInt(id*2654435761%2176782336+2176782336, 36))
	for len(s) < 12 {
		s = "0" + s
	}
	return s[len(s)-12:]
}

// serveItems is GET /v3/items?limit&nextCursor (or offset).
func (s *Sandbox) serveItems(w http.ResponseWriter, r *http.Request) {
	const api = "GMP_ITEM_API"
	q := r.URL.Query()
	limit, ok := pageLimit(w, q, api, 20, 200)
	if !ok {
		return
	}
	offset := 0
	if c := q.Get("nextCursor"); c != "" && c != "*" {
		n, why := s.openOpaqueCursor(c)
		if why != "" {
			badParam(w, api, "nextCursor", why)
			return
		}
		offset = n
	} else if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			badParam(w, api, "offset", "offset must be a non-negative integer")
			return
		}
		offset = n
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	items := s.account.items
	if offset >= len(items) {
		notFound(w, api, "No items found")
		return
	}
	end := min(offset+limit, len(items))
	out := make([]wmItem, 0, end-offset)
	for i := offset; i < end; i++ {
		out = append(out, s.account.renderItem(&items[i]))
	}
	body := map[string]any{"ItemResponse": out, "totalItems": len(items)}
	if end < len(items) {
		body["nextCursor"] = s.opaqueCursor(end)
	}
	writeJSON(w, http.StatusOK, body)
}

type wmQty struct {
	Unit   string `json:"unit"`
	Amount int    `json:"amount"`
}

type wmNodeInventory struct {
	ShipNode       string `json:"shipNode"`
	InputQty       wmQty  `json:"inputQty"`
	AvailToSellQty wmQty  `json:"availToSellQty"`
	ReservedQty    wmQty  `json:"reservedQty"`
}

// serveInventories is GET /v3/inventories?limit&nextCursor: every SKU with its stock at each ship node.
func (s *Sandbox) serveInventories(w http.ResponseWriter, r *http.Request) {
	const api = "GMP_INVENTORY_API"
	q := r.URL.Query()
	limit, ok := pageLimit(w, q, api, 10, 50)
	if !ok {
		return
	}
	offset := 0
	if c := q.Get("nextCursor"); c != "" {
		n, why := s.openOpaqueCursor(c)
		if why != "" {
			badParam(w, api, "nextCursor", why)
			return
		}
		offset = n
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	items := s.account.items
	if offset >= len(items) {
		notFound(w, api, "No inventory found")
		return
	}
	end := min(offset+limit, len(items))
	type entry struct {
		SKU   string            `json:"sku"`
		Nodes []wmNodeInventory `json:"nodes"`
	}
	out := make([]entry, 0, end-offset)
	for i := offset; i < end; i++ {
		it := &items[i]
		e := entry{SKU: it.v.SKU, Nodes: []wmNodeInventory{}}
		for _, l := range it.levels {
			e.Nodes = append(e.Nodes, wmNodeInventory{ShipNode: s.account.nodeByID[l.LocationID].id,
				InputQty: wmQty{"EACH", l.OnHand}, AvailToSellQty: wmQty{"EACH", l.Available}, ReservedQty: wmQty{"EACH", l.Committed}})
		}
		out = append(out, e)
	}
	meta := map[string]any{"totalCount": len(items)}
	if end < len(items) {
		meta["nextCursor"] = s.opaqueCursor(end)
	}
	writeJSON(w, http.StatusOK, map[string]any{"meta": meta, "elements": map[string]any{"inventories": out}})
}

// serveInventory is GET /v3/inventory?sku=&shipNode=: one SKU's stock at one node (the first by default).
func (s *Sandbox) serveInventory(w http.ResponseWriter, r *http.Request) {
	const api = "GMP_INVENTORY_API"
	sku, nodeID := r.URL.Query().Get("sku"), r.URL.Query().Get("shipNode")
	if sku == "" {
		badParam(w, api, "sku", "sku is required")
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	it := s.account.bySKU[sku]
	if it == nil {
		notFound(w, api, "No inventory found for the sku")
		return
	}
	for _, l := range it.levels {
		n := s.account.nodeByID[l.LocationID]
		if nodeID == "" || nodeID == n.id {
			writeJSON(w, http.StatusOK, map[string]any{"sku": sku, "quantity": map[string]any{"unit": "EACH", "amount": l.Available},
				"fulfillmentLagTime": 1})
			return
		}
	}
	notFound(w, api, "No inventory found for the ship node")
}

var alpha3 = map[string]string{"US": "USA", "CA": "CAN", "NL": "NLD", "GB": "GBR", "AU": "AUS"}

// serveShipNodes is GET /v3/settings/shipping/shipnodes: the seller's ship nodes, not paged.
func (s *Sandbox) serveShipNodes(w http.ResponseWriter, _ *http.Request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]map[string]any, 0, len(s.account.nodes))
	for _, n := range s.account.nodes {
		status := "ACTIVE"
		if !n.loc.Active {
			status = "INACTIVE"
		}
		country := alpha3[n.loc.CountryCode]
		if country == "" {
			country = n.loc.CountryCode
		}
		out = append(out, map[string]any{"shipNode": n.id, "shipNodeName": n.loc.Name, "status": status,
			"shipNodeType": n.kind, "timeZone": "EST", "postalAddress": map[string]any{"addressLine1": n.loc.Address1,
				"city": n.loc.City, "state": n.loc.Region, "postalCode": n.loc.PostalCode, "country": country}})
	}
	if len(out) == 0 {
		notFound(w, "GMP_SETTINGS_API", "No ship nodes found")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// Counts are the sizes of the sandbox's data.
type Counts struct {
	Orders, Lines, Items, ShipNodes, InventoryLevels int
	// ByShipNodeType counts orders per ship node type.
	ByShipNodeType map[string]int
}

// Counts returns the sizes of the data the sandbox serves.
func (s *Sandbox) Counts() Counts {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := Counts{Orders: len(s.account.orders), Items: len(s.account.items), ShipNodes: len(s.account.nodes),
		ByShipNodeType: map[string]int{}}
	for _, so := range s.account.orders {
		c.Lines += len(so.o.Lines)
		c.ByShipNodeType[so.nodeType]++
	}
	for _, it := range s.account.items {
		c.InventoryLevels += len(it.levels)
	}
	return c
}

// TouchOrder moves an order's lines one status on (Created to Acknowledged to Shipped) and stamps them now.
// It reports whether the purchase order exists.
func (s *Sandbox) TouchOrder(po string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, so := range s.account.orders {
		if so.po == po {
			s.touch(so)
			return true
		}
	}
	return false
}

func (s *Sandbox) touch(so *order) {
	for i, st := range so.lineStatus {
		switch st {
		case "Created":
			so.lineStatus[i] = "Acknowledged"
		case "Acknowledged":
			so.lineStatus[i] = "Shipped"
		}
	}
	now := s.opts.Now().UTC().Truncate(time.Millisecond)
	if !now.After(so.modified) {
		now = so.modified.Add(time.Millisecond)
	}
	so.modified = now
}

// fmtPO is the purchase order ID of a catalog order.
func fmtPO(id int64) string { return strconv.FormatInt(1796277000000+id, 10) }
