package ebay

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// sandboxData is the seller's data; the Sandbox's mutex guards it.
type sandboxData struct {
	currency  string
	orders    []sandboxkit.Order // by ID
	products  []sandboxkit.Product
	variants  []sandboxkit.Variant
	locations []sandboxkit.Location
	levels    map[int64][]sandboxkit.Level // by variant, in location order
}

func newSandboxData(cat *sandboxkit.Catalog) *sandboxData {
	d := &sandboxData{currency: cat.Currency, orders: cat.Orders, products: cat.Products, variants: cat.Variants(),
		locations: cat.Locations, levels: map[int64][]sandboxkit.Level{}}
	sort.Slice(d.orders, func(i, j int) bool { return d.orders[i].ID < d.orders[j].ID })
	for _, l := range cat.Levels {
		d.levels[l.VariantID] = append(d.levels[l.VariantID], l)
	}
	return d
}

// listed reports whether getOrders lists the order: eBay leaves out orders still awaiting upfront payment.
func listed(o *sandboxkit.Order) bool { return o.Status != "pending" }

// wireTime is eBay's timestamp format: UTC, milliseconds, Z.
func wireTime(t time.Time) string { return t.UTC().Format(filterTimeLayout) }

// orderID formats a catalog order ID the way eBay's order IDs look since 2020: 12-34567-89012.
func orderID(id int64) string {
	return fmt.Sprintf("%02d-%05d-%05d", 10+id%89, (id/100000)%100000, id%100000)
}

func lineItemID(id int64) string      { return strconv.FormatInt(10000000000000+id, 10) }
func legacyItemID(id int64) string    { return strconv.FormatInt(110000000000+id, 10) }
func variationID(id int64) string     { return strconv.FormatInt(400000000000+id, 10) }
func transactionID(id int64) string   { return strconv.FormatInt(2000000000000+id, 10) }
func groupKey(productID int64) string { return fmt.Sprintf("GRP-%d", productID) }

type amount struct {
	Value    string `json:"value"`
	Currency string `json:"currency"`
}

func money(cents int64, currency string) amount {
	return amount{Value: sandboxkit.Money(cents), Currency: currency}
}

// Wire shapes of the Sell Fulfillment API, with the fields the sandbox fills.
type (
	wireOrder struct {
		OrderID                string            `json:"orderId"`
		LegacyOrderID          string            `json:"legacyOrderId"`
		CreationDate           string            `json:"creationDate"`
		LastModifiedDate       string            `json:"lastModifiedDate"`
		OrderFulfillmentStatus string            `json:"orderFulfillmentStatus"`
		OrderPaymentStatus     string            `json:"orderPaymentStatus"`
		SellerID               string            `json:"sellerId"`
		Buyer                  wireBuyer         `json:"buyer"`
		PricingSummary         wirePricing       `json:"pricingSummary"`
		CancelStatus           wireCancelStatus  `json:"cancelStatus"`
		PaymentSummary         wirePaymentSum    `json:"paymentSummary"`
		FulfillmentHrefs       []string          `json:"fulfillmentHrefs"`
		LineItems              []wireLineItem    `json:"lineItems"`
		SalesRecordReference   string            `json:"salesRecordReference"`
		TotalFeeBasisAmount    amount            `json:"totalFeeBasisAmount"`
		StartInstructions      []wireInstruction `json:"fulfillmentStartInstructions"`
	}
	wireBuyer struct {
		Username   string         `json:"username"`
		TaxAddress wireTaxAddress `json:"taxAddress"`
	}
	wireTaxAddress struct {
		City            string `json:"city"`
		StateOrProvince string `json:"stateOrProvince"`
		PostalCode      string `json:"postalCode"`
		CountryCode     string `json:"countryCode"`
	}
	wirePricing struct {
		PriceSubtotal amount `json:"priceSubtotal"`
		DeliveryCost  amount `json:"deliveryCost"`
		Tax           amount `json:"tax"`
		Total         amount `json:"total"`
	}
	wireCancelStatus struct {
		CancelState    string `json:"cancelState"`
		CancelledDate  string `json:"cancelledDate,omitempty"`
		CancelRequests []any  `json:"cancelRequests"`
	}
	wirePaymentSum struct {
		TotalDueSeller amount        `json:"totalDueSeller"`
		Payments       []wirePayment `json:"payments"`
	}
	wirePayment struct {
		PaymentMethod string `json:"paymentMethod"`
		PaymentDate   string `json:"paymentDate"`
		PaymentStatus string `json:"paymentStatus"`
		Amount        amount `json:"amount"`
	}
	wireInstruction struct {
		FulfillmentInstructionsType string       `json:"fulfillmentInstructionsType"`
		ShippingStep                wireShipStep `json:"shippingStep"`
	}
	wireShipStep struct {
		ShipTo              wireRecipient `json:"shipTo"`
		ShippingServiceCode string        `json:"shippingServiceCode"`
	}
	wireRecipient struct {
		FullName       string         `json:"fullName"`
		ContactAddress wireTaxAddress `json:"contactAddress"`
	}
	wireLineItem struct {
		LineItemID                string        `json:"lineItemId"`
		LegacyItemID              string        `json:"legacyItemId"`
		LegacyVariationID         string        `json:"legacyVariationId,omitempty"`
		SKU                       string        `json:"sku,omitempty"`
		Title                     string        `json:"title"`
		Quantity                  int           `json:"quantity"`
		LineItemCost              amount        `json:"lineItemCost"`
		Total                     amount        `json:"total"`
		DeliveryCost              wireDelivery  `json:"deliveryCost"`
		LineItemFulfillmentStatus string        `json:"lineItemFulfillmentStatus"`
		SoldFormat                string        `json:"soldFormat"`
		ListingMarketplaceID      string        `json:"listingMarketplaceId"`
		PurchaseMarketplaceID     string        `json:"purchaseMarketplaceId"`
		Taxes                     []any         `json:"taxes"`
		AppliedPromotions         []any         `json:"appliedPromotions"`
		Properties                wireLineProps `json:"properties"`
	}
	wireDelivery struct {
		ShippingCost amount `json:"shippingCost"`
	}
	wireLineProps struct {
		BuyerProtection bool `json:"buyerProtection"`
	}
)

var (
	fulfillmentStatus = map[string]string{"fulfilled": "FULFILLED", "refunded": "FULFILLED",
		"partially_fulfilled": "IN_PROGRESS", "paid": "NOT_STARTED", "cancelled": "NOT_STARTED", "pending": "NOT_STARTED"}
	paymentStatus = map[string]string{"fulfilled": "PAID", "partially_fulfilled": "PAID", "paid": "PAID",
		"refunded": "FULLY_REFUNDED", "cancelled": "FULLY_REFUNDED", "pending": "PENDING"}
)

func (d *sandboxData) variantOf(id int64) (sandboxkit.Variant, int) {
	for _, p := range d.products {
		for _, v := range p.Variants {
			if v.ID == id {
				return v, len(p.Variants)
			}
		}
	}
	return sandboxkit.Variant{}, 0
}

func (d *sandboxData) wireOrder(o *sandboxkit.Order) wireOrder {
	cur := o.Currency
	status := fulfillmentStatus[o.Status]
	w := wireOrder{
		OrderID:                orderID(o.ID),
		CreationDate:           wireTime(o.CreatedAt),
		LastModifiedDate:       wireTime(o.UpdatedAt),
		OrderFulfillmentStatus: status,
		OrderPaymentStatus:     paymentStatus[o.Status],
		SellerID:               "acme-outfitters",
		Buyer: wireBuyer{
			Username: strings.ToLower(fmt.Sprintf("%s_%s%d", o.Customer.FirstName, o.Customer.LastName[:1], o.Customer.ID)),
			TaxAddress: wireTaxAddress{City: o.Customer.City, StateOrProvince: o.Customer.Region,
				PostalCode: o.Customer.PostalCode, CountryCode: o.Customer.CountryCode},
		},
		PricingSummary: wirePricing{
			PriceSubtotal: money(o.Subtotal(), cur), DeliveryCost: money(o.ShippingCents, cur),
			Tax: money(o.TaxCents, cur), Total: money(o.Total(), cur),
		},
		// getOrders always returns cancelRequests empty; only getOrder fills it.
		CancelStatus: wireCancelStatus{CancelState: "NONE_REQUESTED", CancelRequests: []any{}},
		PaymentSummary: wirePaymentSum{TotalDueSeller: money(o.Total(), cur), Payments: []wirePayment{{
			PaymentMethod: "EBAY", PaymentDate: wireTime(o.CreatedAt.Add(time.Minute)), PaymentStatus: "PAID",
			Amount: money(o.Total(), cur)}}},
		FulfillmentHrefs:     []string{},
		SalesRecordReference: strconv.Itoa(o.Number),
		TotalFeeBasisAmount:  money(o.Total(), cur),
		StartInstructions: []wireInstruction{{FulfillmentInstructionsType: "SHIP_TO",
			ShippingStep: wireShipStep{ShippingServiceCode: "USPSPriority", ShipTo: wireRecipient{
				FullName: o.Customer.FirstName + " " + o.Customer.LastName,
				ContactAddress: wireTaxAddress{City: o.Customer.City, StateOrProvince: o.Customer.Region,
					PostalCode: o.Customer.PostalCode, CountryCode: o.Customer.CountryCode}}}}},
	}
	if o.CancelledAt != nil {
		w.CancelStatus.CancelState = "CANCELED"
		w.CancelStatus.CancelledDate = wireTime(*o.CancelledAt)
	}
	if len(o.Lines) > 0 {
		w.LegacyOrderID = legacyItemID(o.Lines[0].ProductID) + "-" + transactionID(o.Lines[0].ID)
	}
	for i, l := range o.Lines {
		lineStatus := status
		if status == "IN_PROGRESS" {
			lineStatus = "NOT_STARTED"
			if i == 0 {
				lineStatus = "FULFILLED"
			}
		}
		wl := wireLineItem{
			LineItemID: lineItemID(l.ID), LegacyItemID: legacyItemID(l.ProductID), SKU: l.SKU, Title: l.Title,
			Quantity: l.Quantity, LineItemCost: money(l.PriceCents*int64(l.Quantity), cur),
			Total:        money(l.PriceCents*int64(l.Quantity), cur),
			DeliveryCost: wireDelivery{ShippingCost: money(0, cur)}, LineItemFulfillmentStatus: lineStatus,
			SoldFormat: "FIXED_PRICE", ListingMarketplaceID: "EBAY_US", PurchaseMarketplaceID: "EBAY_US",
			Taxes: []any{}, AppliedPromotions: []any{}, Properties: wireLineProps{BuyerProtection: true},
		}
		if _, n := d.variantOf(l.VariantID); n > 1 {
			wl.LegacyVariationID = variationID(l.VariantID)
		}
		w.LineItems = append(w.LineItems, wl)
	}
	return w
}

// orderFilter is a parsed getOrders filter.
type orderFilter struct {
	field    string // creationdate or lastmodifieddate
	from, to time.Time
	statuses []string
}

func (f orderFilter) matches(o *sandboxkit.Order) bool {
	t := o.UpdatedAt
	if f.field == "creationdate" {
		t = o.CreatedAt
	}
	if t.Before(f.from) || (!f.to.IsZero() && t.After(f.to)) {
		return false
	}
	return f.statuses == nil || slices.Contains(f.statuses, fulfillmentStatus[o.Status])
}

func filterError(id int, msg string) *apiError {
	return &apiError{ErrorID: id, Domain: "API_FULFILLMENT", Category: "REQUEST", Message: msg, LongMessage: msg}
}

// parseOrderFilter parses getOrders' filter the way eBay documents it: comma-separated criteria,
// creationdate:[start..end] and lastmodifieddate:[start..end] with UTC timestamps in milliseconds (end
// optional), orderfulfillmentstatus:{A|B}. Without a date criterion, orders created in the last 90 days match.
func parseOrderFilter(filter string, now time.Time) (orderFilter, *apiError) {
	f := orderFilter{field: "creationdate", from: now.Add(-90 * 24 * time.Hour)}
	var creation, modified *orderFilter
	if strings.TrimSpace(filter) == "" {
		return f, nil
	}
	for _, crit := range strings.Split(filter, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(crit), ":")
		if !ok {
			return f, filterError(30700, "Invalid filter name: "+crit)
		}
		switch name {
		case "creationdate", "lastmodifieddate":
			r, err := parseRange(name, value, now)
			if err != nil {
				return f, err
			}
			if name == "creationdate" {
				creation = &r
			} else {
				modified = &r
			}
		case "orderfulfillmentstatus":
			set := strings.Split(strings.TrimSuffix(strings.TrimPrefix(value, "{"), "}"), "|")
			slices.Sort(set)
			if !strings.HasPrefix(value, "{") || !strings.HasSuffix(value, "}") ||
				(!slices.Equal(set, []string{"IN_PROGRESS", "NOT_STARTED"}) && !slices.Equal(set, []string{"FULFILLED", "IN_PROGRESS"})) {
				return f, filterError(30800, fmt.Sprintf("Invalid filter value %s for filter %s", value, name))
			}
			f.statuses = set
		default:
			return f, filterError(30700, "Invalid filter name: "+name)
		}
	}
	// When both dates are given, only creationdate is used.
	switch {
	case creation != nil:
		f.field, f.from, f.to = creation.field, creation.from, creation.to
	case modified != nil:
		f.field, f.from, f.to = modified.field, modified.from, modified.to
	}
	return f, nil
}

func parseRange(name, value string, now time.Time) (orderFilter, *apiError) {
	r := orderFilter{field: name}
	if !strings.HasPrefix(value, "[") || !strings.HasSuffix(value, "]") || !strings.Contains(value, "..") {
		return r, filterError(30800, fmt.Sprintf("Invalid filter value %s for filter %s", value, name))
	}
	start, end, _ := strings.Cut(value[1:len(value)-1], "..")
	if start == "" {
		return r, filterError(30820, "Start date is missing")
	}
	var err error
	if r.from, err = time.Parse(filterTimeLayout, start); err != nil {
		return r, filterError(30810, "Invalid date format")
	}
	if end != "" {
		if r.to, err = time.Parse(filterTimeLayout, end); err != nil {
			return r, filterError(30810, "Invalid date format")
		}
	}
	switch {
	case r.from.After(now) || r.to.After(now):
		return r, filterError(30850, "Start and end dates can't be in the future")
	case !r.to.IsZero() && r.from.After(r.to):
		return r, filterError(30840, "Start date should be before end date")
	case r.from.Before(now.AddDate(-2, 0, 0)):
		return r, filterError(30830, "Time range between start date and end date must be within '2' years.")
	}
	return r, nil
}

// intParam reads a non-negative integer query parameter, def when absent.
func intParam(q url.Values, name string, def int) (int, bool) {
	v := q.Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 0
}

// pageLink is the href of the same request with another offset.
func pageLink(r *http.Request, offset int) string {
	q := r.URL.Query()
	q.Set("offset", strconv.Itoa(offset))
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host + r.URL.Path + "?" + q.Encode()
}

// serveOrders is getOrders: GET /sell/fulfillment/v1/order.
func (s *Sandbox) serveOrders(w http.ResponseWriter, r *http.Request) {
	if strings.ContainsAny(r.URL.RawQuery, "[]{}|") {
		// eBay requires [ ] { } | to be percent-encoded in the query string.
		writeErrors(w, http.StatusBadRequest, *filterError(30800, "Invalid filter value: the characters [ ] { } | must be percent-encoded"))
		return
	}
	q := r.URL.Query()
	limit, ok := intParam(q, "limit", 50)
	if !ok || limit < 1 || limit > MaxOrdersPerPage {
		writeErrors(w, http.StatusBadRequest, *filterError(31100, "Invalid limit: "+q.Get("limit")))
		return
	}
	offset, ok := intParam(q, "offset", 0)
	if !ok {
		writeErrors(w, http.StatusBadRequest, *filterError(31000, "Invalid offset: "+q.Get("offset")))
		return
	}
	now := s.now()
	var match func(o *sandboxkit.Order) bool
	if ids := q.Get("orderIds"); ids != "" {
		want := strings.Split(ids, ",")
		if len(want) > 50 {
			writeErrors(w, http.StatusBadRequest, *filterError(30900, "Exceeded maximum number of order IDs (the current limit is 50)"))
			return
		}
		match = func(o *sandboxkit.Order) bool { return slices.Contains(want, orderID(o.ID)) }
		offset, limit = 0, 50
	} else {
		f, apiErr := parseOrderFilter(q.Get("filter"), now)
		if apiErr != nil {
			writeErrors(w, http.StatusBadRequest, *apiErr)
			return
		}
		match = f.matches
	}

	s.mu.Lock()
	var hits []*sandboxkit.Order
	for i := range s.data.orders {
		if o := &s.data.orders[i]; listed(o) && match(o) {
			hits = append(hits, o)
		}
	}
	// Newest first by creation date: an order's place does not move when it is modified.
	sort.SliceStable(hits, func(i, j int) bool {
		if !hits[i].CreatedAt.Equal(hits[j].CreatedAt) {
			return hits[i].CreatedAt.After(hits[j].CreatedAt)
		}
		return hits[i].ID > hits[j].ID
	})
	page := []wireOrder{}
	for i := offset; i < len(hits) && i < offset+limit; i++ {
		page = append(page, s.data.wireOrder(hits[i]))
	}
	s.mu.Unlock()

	resp := map[string]any{"href": pageLink(r, offset), "total": len(hits), "limit": limit, "offset": offset, "orders": page}
	if offset+limit < len(hits) {
		resp["next"] = pageLink(r, offset+limit)
	}
	if offset > 0 {
		resp["prev"] = pageLink(r, max(offset-limit, 0))
	}
	writeJSON(w, resp)
}

func inventoryError(id int, msg string) apiError {
	return apiError{ErrorID: id, Domain: "API_INVENTORY", Category: "REQUEST", Message: msg, LongMessage: msg}
}

// Wire shapes of the Sell Inventory API.
type (
	wireInventoryItem struct {
		SKU                    string           `json:"sku"`
		Locale                 string           `json:"locale"`
		Product                wireProduct      `json:"product"`
		Condition              string           `json:"condition"`
		Availability           wireAvailability `json:"availability"`
		InventoryItemGroupKeys []string         `json:"inventoryItemGroupKeys,omitempty"`
	}
	wireProduct struct {
		Title       string              `json:"title"`
		Description string              `json:"description"`
		Brand       string              `json:"brand"`
		MPN         string              `json:"mpn"`
		Aspects     map[string][]string `json:"aspects"`
		UPC         []string            `json:"upc,omitempty"`
		ImageURLs   []string            `json:"imageUrls"`
	}
	wireAvailability struct {
		ShipToLocationAvailability wireShipTo `json:"shipToLocationAvailability"`
	}
	wireShipTo struct {
		Quantity                  int                `json:"quantity"`
		AvailabilityDistributions []wireDistribution `json:"availabilityDistributions"`
	}
	wireDistribution struct {
		MerchantLocationKey string       `json:"merchantLocationKey"`
		Quantity            int          `json:"quantity"`
		FulfillmentTime     wireDuration `json:"fulfillmentTime"`
	}
	wireDuration struct {
		Unit  string `json:"unit"`
		Value int    `json:"value"`
	}
	wireLocation struct {
		MerchantLocationKey    string          `json:"merchantLocationKey"`
		Name                   string          `json:"name"`
		MerchantLocationStatus string          `json:"merchantLocationStatus"`
		LocationTypes          []string        `json:"locationTypes"`
		Location               wireLocationAdr `json:"location"`
		TimeZoneID             string          `json:"timeZoneId,omitempty"`
	}
	wireLocationAdr struct {
		LocationID string      `json:"locationId"`
		Address    wireAddress `json:"address"`
	}
	wireAddress struct {
		AddressLine1    string `json:"addressLine1"`
		City            string `json:"city"`
		StateOrProvince string `json:"stateOrProvince"`
		PostalCode      string `json:"postalCode"`
		Country         string `json:"country"`
	}
)

func (d *sandboxData) wireItem(p *sandboxkit.Product, v sandboxkit.Variant) wireInventoryItem {
	it := wireInventoryItem{
		SKU: v.SKU, Locale: "en_US", Condition: "NEW",
		Product: wireProduct{Title: p.Title, Description: p.Description, Brand: p.Vendor, MPN: v.SKU,
			Aspects: map[string][]string{"Brand": {p.Vendor}, "Type": {p.Category}}, UPC: []string{v.Barcode},
			ImageURLs: []string{fmt.Sprintf("https://i.ebayimg.com/images/g/%d/s-l1600.jpg", v.ID)}},
	}
	if v.Option != "" {
		it.Product.Aspects["Size"] = []string{v.Option}
	}
	if len(p.Variants) > 1 {
		it.InventoryItemGroupKeys = []string{groupKey(p.ID)}
	}
	ship := wireShipTo{AvailabilityDistributions: []wireDistribution{}}
	for _, l := range d.levels[v.ID] {
		ship.Quantity += l.Available
		ship.AvailabilityDistributions = append(ship.AvailabilityDistributions, wireDistribution{
			MerchantLocationKey: d.locationKey(l.LocationID), Quantity: l.Available,
			FulfillmentTime: wireDuration{Unit: "BUSINESS_DAY", Value: 1}})
	}
	it.Availability.ShipToLocationAvailability = ship
	return it
}

func (d *sandboxData) locationKey(id int64) string {
	for _, l := range d.locations {
		if l.ID == id {
			return l.Code
		}
	}
	return ""
}

// serveInventoryItems is getInventoryItems: GET /sell/inventory/v1/inventory_item. Its offset is a page
// number, and size is the number of pages.
func (s *Sandbox) serveInventoryItems(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := intParam(q, "limit", 25)
	if !ok || limit < 1 || limit > MaxInventoryItemsPerPage {
		writeErrors(w, http.StatusBadRequest, inventoryError(25706, "You have provided invalid pagination values. limit must be between 1 and 200."))
		return
	}
	page, ok := intParam(q, "offset", 0)
	if !ok {
		writeErrors(w, http.StatusBadRequest, inventoryError(25706, "You have provided invalid pagination values. offset must be a page number from 0."))
		return
	}
	s.mu.Lock()
	total := len(s.data.variants)
	items := []wireInventoryItem{}
	n := 0
	for pi := range s.data.products {
		p := &s.data.products[pi]
		for _, v := range p.Variants {
			if n >= page*limit && n < (page+1)*limit {
				items = append(items, s.data.wireItem(p, v))
			}
			n++
		}
	}
	s.mu.Unlock()
	pages := (total + limit - 1) / limit
	resp := map[string]any{"href": pageLink(r, page), "total": total, "size": pages, "limit": limit, "inventoryItems": items}
	if page+1 < pages {
		resp["next"] = pageLink(r, page+1)
	}
	if page > 0 {
		resp["prev"] = pageLink(r, page-1)
	}
	writeJSON(w, resp)
}

// serveLocations is getInventoryLocations: GET /sell/inventory/v1/location. Its offset counts locations.
func (s *Sandbox) serveLocations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := intParam(q, "limit", 100)
	if !ok || limit < 1 {
		writeErrors(w, http.StatusBadRequest, inventoryError(25709, "Invalid value for limit."))
		return
	}
	offset, ok := intParam(q, "offset", 0)
	if !ok {
		writeErrors(w, http.StatusBadRequest, inventoryError(25709, "Invalid value for offset."))
		return
	}
	s.mu.Lock()
	locs := []wireLocation{}
	for i := offset; i < len(s.data.locations) && i < offset+limit; i++ {
		l := s.data.locations[i]
		status := "ENABLED"
		if !l.Active {
			status = "DISABLED"
		}
		locs = append(locs, wireLocation{MerchantLocationKey: l.Code, Name: l.Name, MerchantLocationStatus: status,
			LocationTypes: []string{"WAREHOUSE"},
			Location: wireLocationAdr{LocationID: strconv.FormatInt(l.ID, 10), Address: wireAddress{
				AddressLine1: l.Address1, City: l.City, StateOrProvince: l.Region, PostalCode: l.PostalCode, Country: l.CountryCode}}})
	}
	total := len(s.data.locations)
	s.mu.Unlock()
	resp := map[string]any{"href": pageLink(r, offset), "total": total, "limit": limit, "offset": offset, "locations": locs}
	if offset+limit < total {
		resp["next"] = pageLink(r, offset+limit)
	}
	if offset > 0 {
		resp["prev"] = pageLink(r, max(offset-limit, 0))
	}
	writeJSON(w, resp)
}

// Counts are the sizes of the sandbox's data as the connector sees it.
type Counts struct {
	Orders, LineItems, SKUs, Locations, InventoryLevels int
}

// Counts counts the listed orders (not those awaiting payment) and their lines, the inventory items, the
// locations and the inventory levels (one per item and location).
func (s *Sandbox) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c Counts
	for i := range s.data.orders {
		if o := &s.data.orders[i]; listed(o) {
			c.Orders++
			c.LineItems += len(o.Lines)
		}
	}
	c.SKUs = len(s.data.variants)
	c.Locations = len(s.data.locations)
	for _, ls := range s.data.levels {
		c.InventoryLevels += len(ls)
	}
	return c
}

// ListedOrders returns the orders getOrders lists, by ID.
func (s *Sandbox) ListedOrders() []sandboxkit.Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sandboxkit.Order
	for _, o := range s.data.orders {
		if listed(&o) {
			o.Lines = slices.Clone(o.Lines)
			out = append(out, o)
		}
	}
	return out
}

// Products returns the products with their variants.
func (s *Sandbox) Products() []sandboxkit.Product {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.data.products)
}

// Locations returns the inventory locations.
func (s *Sandbox) Locations() []sandboxkit.Location {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.data.locations)
}

// Levels returns the stock of every variant at every location.
func (s *Sandbox) Levels() []sandboxkit.Level {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sandboxkit.Level
	for _, v := range s.data.variants {
		out = append(out, s.data.levels[v.ID]...)
	}
	return out
}

// TouchOrder marks a listed order modified now (a fulfilment or payment update); it returns the order's eBay
// ID, or false when no listed order has that catalog ID.
func (s *Sandbox) TouchOrder(id int64) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.data.orders {
		o := &s.data.orders[i]
		if o.ID != id || !listed(o) {
			continue
		}
		t := s.now().UTC().Truncate(time.Millisecond)
		if !t.After(o.UpdatedAt) {
			t = o.UpdatedAt.Add(time.Millisecond)
		}
		o.UpdatedAt = t
		if o.Status == "paid" {
			o.Status = "fulfilled"
		}
		return orderID(o.ID), true
	}
	return "", false
}

// TouchOrders marks the first n listed orders (by ID) modified now.
func (s *Sandbox) TouchOrders(n int) {
	for _, o := range s.ListedOrders() {
		if n <= 0 {
			return
		}
		if _, ok := s.TouchOrder(o.ID); ok {
			n--
		}
	}
}

// PayOrder completes the payment of an order awaiting it: from now on getOrders lists it.
func (s *Sandbox) PayOrder(id int64) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.data.orders {
		if o := &s.data.orders[i]; o.ID == id && o.Status == "pending" {
			o.Status = "paid"
			o.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
			return orderID(o.ID), true
		}
	}
	return "", false
}

// SetAvailable sets a variant's available quantity at a location.
func (s *Sandbox) SetAvailable(variantID, locationID int64, n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, l := range s.data.levels[variantID] {
		if l.LocationID == locationID {
			s.data.levels[variantID][i].Available = n
			return true
		}
	}
	return false
}

// PendingOrders returns the catalog IDs of the orders awaiting payment, which getOrders does not list.
func (s *Sandbox) PendingOrders() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int64
	for _, o := range s.data.orders {
		if !listed(&o) {
			ids = append(ids, o.ID)
		}
	}
	return ids
}
