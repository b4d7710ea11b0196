package bigcommerce

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// money4 formats cents the way v2 does: a string with four decimals, "361.9500".
func money4(cents int64) string { return sandboxkit.Money(cents) + "00" }

// price is a v3 catalog price: a number.
func price(cents int64) float64 { return float64(cents) / 100 }

func v2Date(t time.Time) string { return t.UTC().Format(v2Time) }
func v3Date(t time.Time) string { return t.UTC().Format(v3Time) }

// orderStatus is the v2 status of a sandboxkit order status: id and label.
func orderStatus(s string) (int, string, string) {
	switch s {
	case "pending":
		return 7, "Awaiting Payment", "pending"
	case "paid":
		return 11, "Awaiting Fulfillment", "captured"
	case "partially_fulfilled":
		return 3, "Partially Shipped", "captured"
	case "fulfilled":
		return 2, "Shipped", "captured"
	case "cancelled":
		return 5, "Cancelled", "void"
	case "refunded":
		return 4, "Refunded", "refunded"
	}
	return 1, "Pending", ""
}

var countryNames = map[string]string{"US": "United States", "CA": "Canada", "NL": "Netherlands", "GB": "United Kingdom", "AU": "Australia"}

// v2Link is a sub-resource reference of a v2 order: {"url", "resource"}.
type v2Link struct {
	URL      string `json:"url"`
	Resource string `json:"resource"`
}

type v2Address struct {
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Company     string `json:"company"`
	Street1     string `json:"street_1"`
	Street2     string `json:"street_2"`
	City        string `json:"city"`
	State       string `json:"state"`
	Zip         string `json:"zip"`
	Country     string `json:"country"`
	CountryISO2 string `json:"country_iso2"`
	Phone       string `json:"phone"`
	Email       string `json:"email"`
	FormFields  []any  `json:"form_fields"`
}

// v2Order is an order as GET /v2/orders returns it (the fields of the API reference's example, in its order).
type v2Order struct {
	ID                     int64     `json:"id"`
	CustomerID             int64     `json:"customer_id"`
	DateCreated            string    `json:"date_created"`
	DateModified           string    `json:"date_modified"`
	DateShipped            string    `json:"date_shipped"`
	StatusID               int       `json:"status_id"`
	Status                 string    `json:"status"`
	SubtotalExTax          string    `json:"subtotal_ex_tax"`
	SubtotalIncTax         string    `json:"subtotal_inc_tax"`
	SubtotalTax            string    `json:"subtotal_tax"`
	BaseShippingCost       string    `json:"base_shipping_cost"`
	ShippingCostExTax      string    `json:"shipping_cost_ex_tax"`
	ShippingCostIncTax     string    `json:"shipping_cost_inc_tax"`
	ShippingCostTax        string    `json:"shipping_cost_tax"`
	ShippingCostTaxClassID int       `json:"shipping_cost_tax_class_id"`
	BaseHandlingCost       string    `json:"base_handling_cost"`
	HandlingCostExTax      string    `json:"handling_cost_ex_tax"`
	HandlingCostIncTax     string    `json:"handling_cost_inc_tax"`
	HandlingCostTax        string    `json:"handling_cost_tax"`
	HandlingCostTaxClassID int       `json:"handling_cost_tax_class_id"`
	BaseWrappingCost       string    `json:"base_wrapping_cost"`
	WrappingCostExTax      string    `json:"wrapping_cost_ex_tax"`
	WrappingCostIncTax     string    `json:"wrapping_cost_inc_tax"`
	WrappingCostTax        string    `json:"wrapping_cost_tax"`
	WrappingCostTaxClassID int       `json:"wrapping_cost_tax_class_id"`
	TotalExTax             string    `json:"total_ex_tax"`
	TotalIncTax            string    `json:"total_inc_tax"`
	TotalTax               string    `json:"total_tax"`
	IsTaxInclusivePricing  bool      `json:"is_tax_inclusive_pricing"`
	ItemsTotal             int       `json:"items_total"`
	ItemsShipped           int       `json:"items_shipped"`
	PaymentMethod          string    `json:"payment_method"`
	PaymentProviderID      string    `json:"payment_provider_id"`
	PaymentStatus          string    `json:"payment_status"`
	RefundedAmount         string    `json:"refunded_amount"`
	OrderIsDigital         bool      `json:"order_is_digital"`
	StoreCreditAmount      string    `json:"store_credit_amount"`
	GiftCertificateAmount  string    `json:"gift_certificate_amount"`
	IPAddress              string    `json:"ip_address"`
	GeoIPCountry           string    `json:"geoip_country"`
	GeoIPCountryISO2       string    `json:"geoip_country_iso2"`
	CurrencyID             int       `json:"currency_id"`
	CurrencyCode           string    `json:"currency_code"`
	CurrencyExchangeRate   string    `json:"currency_exchange_rate"`
	DefaultCurrencyID      int       `json:"default_currency_id"`
	DefaultCurrencyCode    string    `json:"default_currency_code"`
	StaffNotes             string    `json:"staff_notes"`
	CustomerMessage        string    `json:"customer_message"`
	DiscountAmount         string    `json:"discount_amount"`
	CouponDiscount         string    `json:"coupon_discount"`
	ShippingAddressCount   int       `json:"shipping_address_count"`
	IsDeleted              bool      `json:"is_deleted"`
	BillingAddress         v2Address `json:"billing_address"`
	OrderSource            string    `json:"order_source"`
	ChannelID              int       `json:"channel_id"`
	Products               v2Link    `json:"products"`
	ShippingAddresses      v2Link    `json:"shipping_addresses"`
	Coupons                v2Link    `json:"coupons"`
	CustomStatus           string    `json:"custom_status"`
	CustomerLocale         string    `json:"customer_locale"`
}

func (s *Sandbox) renderOrder(base string, o *sandboxkit.Order) v2Order {
	statusID, status, payment := orderStatus(o.Status)
	sub := o.Subtotal()
	items, shipped := 0, 0
	for _, l := range o.Lines {
		items += l.Quantity
	}
	dateShipped := ""
	switch o.Status {
	case "fulfilled":
		shipped, dateShipped = items, v2Date(o.UpdatedAt)
	case "partially_fulfilled":
		shipped, dateShipped = items/2, v2Date(o.UpdatedAt)
	}
	refunded := int64(0)
	if o.Status == "refunded" {
		refunded = o.Total()
	}
	c := o.Customer
	id := int64(o.Number)
	res := fmt.Sprintf("/orders/%d/", id)
	return v2Order{
		ID: id, CustomerID: c.ID, DateCreated: v2Date(o.CreatedAt), DateModified: v2Date(o.UpdatedAt), DateShipped: dateShipped,
		StatusID: statusID, Status: status,
		SubtotalExTax: money4(sub), SubtotalIncTax: money4(sub + o.TaxCents), SubtotalTax: money4(o.TaxCents),
		BaseShippingCost: money4(o.ShippingCents), ShippingCostExTax: money4(o.ShippingCents), ShippingCostIncTax: money4(o.ShippingCents),
		ShippingCostTax: money4(0), ShippingCostTaxClassID: 2,
		BaseHandlingCost: money4(0), HandlingCostExTax: money4(0), HandlingCostIncTax: money4(0), HandlingCostTax: money4(0), HandlingCostTaxClassID: 2,
		BaseWrappingCost: money4(0), WrappingCostExTax: money4(0), WrappingCostIncTax: money4(0), WrappingCostTax: money4(0), WrappingCostTaxClassID: 3,
		TotalExTax: money4(sub + o.ShippingCents), TotalIncTax: money4(o.Total()), TotalTax: money4(o.TaxCents),
		ItemsTotal: items, ItemsShipped: shipped, PaymentMethod: "Credit Card", PaymentStatus: payment,
		RefundedAmount: money4(refunded), StoreCreditAmount: money4(0), GiftCertificateAmount: money4(0),
		IPAddress: "203.0.113.10", GeoIPCountry: countryNames[c.CountryCode], GeoIPCountryISO2: c.CountryCode,
		CurrencyID: 1, CurrencyCode: o.Currency, CurrencyExchangeRate: "1.0000000000", DefaultCurrencyID: 1, DefaultCurrencyCode: o.Currency,
		DiscountAmount: money4(0), CouponDiscount: money4(0), ShippingAddressCount: 1,
		BillingAddress: v2Address{FirstName: c.FirstName, LastName: c.LastName, Street1: "1 Main Street", City: c.City, State: c.Region,
			Zip: c.PostalCode, Country: countryNames[c.CountryCode], CountryISO2: c.CountryCode, Email: c.Email, FormFields: []any{}},
		OrderSource: "www", ChannelID: 1,
		Products:          v2Link{URL: base + "/v2" + res + "products", Resource: res + "products"},
		ShippingAddresses: v2Link{URL: base + "/v2" + res + "shippingaddresses", Resource: res + "shippingaddresses"},
		Coupons:           v2Link{URL: base + "/v2" + res + "coupons", Resource: res + "coupons"},
		CustomStatus:      status, CustomerLocale: "en",
	}
}

// v2OrderProduct is an order line as GET /v2/orders/{id}/products returns it.
type v2OrderProduct struct {
	ID                  int64  `json:"id"`
	OrderID             int64  `json:"order_id"`
	ProductID           int64  `json:"product_id"`
	VariantID           int64  `json:"variant_id"`
	OrderAddressID      int64  `json:"order_address_id"`
	Name                string `json:"name"`
	NameCustomer        string `json:"name_customer"`
	NameMerchant        string `json:"name_merchant"`
	SKU                 string `json:"sku"`
	UPC                 string `json:"upc"`
	Type                string `json:"type"`
	BasePrice           string `json:"base_price"`
	PriceExTax          string `json:"price_ex_tax"`
	PriceIncTax         string `json:"price_inc_tax"`
	PriceTax            string `json:"price_tax"`
	BaseTotal           string `json:"base_total"`
	TotalExTax          string `json:"total_ex_tax"`
	TotalIncTax         string `json:"total_inc_tax"`
	TotalTax            string `json:"total_tax"`
	Weight              string `json:"weight"`
	Quantity            int    `json:"quantity"`
	BaseCostPrice       string `json:"base_cost_price"`
	IsRefunded          bool   `json:"is_refunded"`
	QuantityRefunded    int    `json:"quantity_refunded"`
	RefundAmount        string `json:"refund_amount"`
	ReturnID            int    `json:"return_id"`
	QuantityShipped     int    `json:"quantity_shipped"`
	FixedShippingCost   string `json:"fixed_shipping_cost"`
	ParentOrderProducID *int64 `json:"parent_order_product_id"`
	IsBundledProduct    bool   `json:"is_bundled_product"`
	BinPickingNumber    string `json:"bin_picking_number"`
	AppliedDiscounts    []any  `json:"applied_discounts"`
	ProductOptions      []any  `json:"product_options"`
}

func (s *Sandbox) renderLines(o *sandboxkit.Order) []v2OrderProduct {
	out := make([]v2OrderProduct, 0, len(o.Lines))
	for _, l := range o.Lines {
		tax := l.PriceCents * 8 / 100
		shipped := 0
		if o.Status == "fulfilled" {
			shipped = l.Quantity
		}
		q := int64(l.Quantity)
		out = append(out, v2OrderProduct{
			ID: l.ID, OrderID: int64(o.Number), ProductID: l.ProductID, VariantID: l.VariantID, OrderAddressID: int64(o.Number),
			Name: l.Title, NameCustomer: l.Title, NameMerchant: l.Title, SKU: l.SKU, UPC: "", Type: "physical",
			BasePrice: money4(l.PriceCents), PriceExTax: money4(l.PriceCents), PriceIncTax: money4(l.PriceCents + tax), PriceTax: money4(tax),
			BaseTotal: money4(l.PriceCents * q), TotalExTax: money4(l.PriceCents * q), TotalIncTax: money4((l.PriceCents + tax) * q),
			TotalTax: money4(tax * q), Weight: "1.0000", Quantity: l.Quantity, BaseCostPrice: money4(l.PriceCents / 2),
			RefundAmount: money4(0), QuantityShipped: shipped, FixedShippingCost: money4(0),
			AppliedDiscounts: []any{}, ProductOptions: []any{},
		})
	}
	return out
}

// parseV2Filter reads a v2 date filter in RFC 2822 or ISO 8601, the two formats the reference accepts.
func parseV2Filter(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC1123Z, time.RFC1123, time.RFC3339Nano, "2006-01-02T15:04:05-0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// filteredOrders lists the orders the v2 filters select, in the requested sort. A min_date_modified in a
// format BigCommerce cannot read is ignored, as the real API does: every order comes back.
func (s *Sandbox) filteredOrders(q url.Values) []*sandboxkit.Order {
	var min time.Time
	if v := q.Get("min_date_modified"); v != "" {
		min, _ = parseV2Filter(v)
	}
	out := make([]*sandboxkit.Order, 0, len(s.orders))
	for _, o := range s.orders {
		if !min.IsZero() && o.UpdatedAt.Before(min) {
			continue
		}
		out = append(out, o)
	}
	field, dir, _ := strings.Cut(q.Get("sort"), ":")
	desc := dir == "desc"
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if field == "date_modified" && !a.UpdatedAt.Equal(b.UpdatedAt) {
			return a.UpdatedAt.Before(b.UpdatedAt) != desc
		}
		if field == "date_created" && !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt) != desc
		}
		return (a.Number < b.Number) != (desc && (field == "id" || field == ""))
	})
	return out
}

func baseOf(s *Sandbox) string { return "https://api.bigcommerce.com/stores/" + s.opts.StoreHash }

func (s *Sandbox) serveStore(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]any{
		"id": s.opts.StoreHash, "domain": "tether-sandbox.mybigcommerce.com", "secure_url": "https://tether-sandbox.mybigcommerce.com",
		"name": "Tether Sandbox", "currency": s.cat.Currency, "plan_name": "Standard", "features": map[string]any{"multi_location": true},
	})
}

// serveOrders is GET /v2/orders: a bare array, 50 by default and at most 250 per page, and 204 No Content
// with no body when the page is empty.
func (s *Sandbox) serveOrders(w http.ResponseWriter, q url.Values) {
	page, limit := pageParams(q, 50, maxPageSize)
	s.mu.Lock()
	sel := window(s.filteredOrders(q), page, limit)
	out := make([]v2Order, len(sel))
	for i, o := range sel {
		out[i] = s.renderOrder(baseOf(s), o)
	}
	s.mu.Unlock()
	if len(out) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// serveOrderCount is GET /v2/orders/count: the matching orders by status, and their total.
func (s *Sandbox) serveOrderCount(w http.ResponseWriter, q url.Values) {
	s.mu.Lock()
	sel := s.filteredOrders(q)
	s.mu.Unlock()
	byStatus := map[int]int{}
	names := map[int]string{}
	for _, o := range sel {
		id, name, _ := orderStatus(o.Status)
		byStatus[id]++
		names[id] = name
	}
	var statuses []map[string]any
	for id, n := range byStatus {
		statuses = append(statuses, map[string]any{"id": id, "name": names[id], "system_label": names[id], "custom_label": names[id], "count": n})
	}
	sort.Slice(statuses, func(i, j int) bool { return statuses[i]["id"].(int) < statuses[j]["id"].(int) })
	writeJSON(w, http.StatusOK, map[string]any{"statuses": statuses, "count": len(sel)})
}

// serveOrderProducts is GET /v2/orders/{id}/products, 50 lines by default, 204 past the last.
func (s *Sandbox) serveOrderProducts(w http.ResponseWriter, rawID string, q url.Values) {
	id, err := strconv.ParseInt(rawID, 10, 64)
	s.mu.Lock()
	o, ok := s.orders[id]
	var lines []v2OrderProduct
	if ok {
		page, limit := pageParams(q, 50, maxPageSize)
		lines = window(s.renderLines(o), page, limit)
	}
	s.mu.Unlock()
	if err != nil || !ok {
		writeV2Error(w, http.StatusNotFound, "The requested resource was not found.")
		return
	}
	if len(lines) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, lines)
}

// ---- v3 ----

type v3Links struct {
	Previous string `json:"previous,omitempty"`
	Current  string `json:"current"`
	Next     string `json:"next,omitempty"`
}

type v3Pagination struct {
	Total       int     `json:"total"`
	Count       int     `json:"count"`
	PerPage     int     `json:"per_page"`
	CurrentPage int     `json:"current_page"`
	TotalPages  int     `json:"total_pages"`
	Links       v3Links `json:"links"`
}

type v3Meta struct {
	Pagination v3Pagination `json:"pagination"`
}

func pagination(total, count, page, limit int) v3Meta {
	pages := (total + limit - 1) / limit
	link := func(p int) string { return fmt.Sprintf("?page=%d&limit=%d", p, limit) }
	l := v3Links{Current: link(page)}
	if page > 1 {
		l.Previous = link(page - 1)
	}
	if page < pages {
		l.Next = link(page + 1)
	}
	return v3Meta{Pagination: v3Pagination{Total: total, Count: count, PerPage: limit, CurrentPage: page, TotalPages: pages, Links: l}}
}

// parseV3Filter reads a v3 date filter: ISO 8601 with or without a zone (UTC when absent), or a bare date,
// to which BigCommerce adds the current time of the request.
func parseV3Filter(v string, now time.Time) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		h, m, sec := now.Clock()
		return d.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second), true
	}
	return time.Time{}, false
}

type v3OptionValue struct {
	ID                int64  `json:"id"`
	Label             string `json:"label"`
	OptionID          int64  `json:"option_id"`
	OptionDisplayName string `json:"option_display_name"`
}

type v3Variant struct {
	ID                        int64           `json:"id"`
	ProductID                 int64           `json:"product_id"`
	SKU                       string          `json:"sku"`
	SKUID                     *int64          `json:"sku_id"`
	Price                     *float64        `json:"price"`
	CalculatedPrice           float64         `json:"calculated_price"`
	SalePrice                 *float64        `json:"sale_price"`
	RetailPrice               *float64        `json:"retail_price"`
	MapPrice                  *float64        `json:"map_price"`
	CostPrice                 float64         `json:"cost_price"`
	Weight                    *float64        `json:"weight"`
	CalculatedWeight          float64         `json:"calculated_weight"`
	Width                     *float64        `json:"width"`
	Height                    *float64        `json:"height"`
	Depth                     *float64        `json:"depth"`
	IsFreeShipping            bool            `json:"is_free_shipping"`
	FixedCostShippingPrice    *float64        `json:"fixed_cost_shipping_price"`
	PurchasingDisabled        bool            `json:"purchasing_disabled"`
	PurchasingDisabledMessage string          `json:"purchasing_disabled_message"`
	ImageURL                  string          `json:"image_url"`
	UPC                       string          `json:"upc"`
	MPN                       string          `json:"mpn"`
	GTIN                      string          `json:"gtin"`
	InventoryLevel            int             `json:"inventory_level"`
	InventoryWarningLevel     int             `json:"inventory_warning_level"`
	BinPickingNumber          string          `json:"bin_picking_number"`
	OptionValues              []v3OptionValue `json:"option_values"`
}

type v3Product struct {
	ID                    int64       `json:"id"`
	Name                  string      `json:"name"`
	Type                  string      `json:"type"`
	SKU                   string      `json:"sku"`
	Description           string      `json:"description"`
	Weight                float64     `json:"weight"`
	Width                 float64     `json:"width"`
	Depth                 float64     `json:"depth"`
	Height                float64     `json:"height"`
	Price                 float64     `json:"price"`
	CostPrice             float64     `json:"cost_price"`
	RetailPrice           float64     `json:"retail_price"`
	SalePrice             float64     `json:"sale_price"`
	MapPrice              float64     `json:"map_price"`
	TaxClassID            int         `json:"tax_class_id"`
	CalculatedPrice       float64     `json:"calculated_price"`
	Categories            []int       `json:"categories"`
	BrandID               int         `json:"brand_id"`
	InventoryLevel        int         `json:"inventory_level"`
	InventoryWarningLevel int         `json:"inventory_warning_level"`
	InventoryTracking     string      `json:"inventory_tracking"`
	IsVisible             bool        `json:"is_visible"`
	IsFeatured            bool        `json:"is_featured"`
	UPC                   string      `json:"upc"`
	MPN                   string      `json:"mpn"`
	GTIN                  string      `json:"gtin"`
	Availability          string      `json:"availability"`
	Condition             string      `json:"condition"`
	TotalSold             int         `json:"total_sold"`
	DateCreated           string      `json:"date_created"`
	DateModified          string      `json:"date_modified"`
	BaseVariantID         *int64      `json:"base_variant_id"`
	Variants              []v3Variant `json:"variants,omitempty"`
}

var categoryIDs = map[string]int{"Apparel": 23, "Home": 24, "Accessories": 25, "Outdoor": 26, "Kitchen": 27, "Stationery": 28}

// productSKU is a product's own SKU: its only variant's, or the code its variants' SKUs extend.
func productSKU(p *sandboxkit.Product) string {
	sku := p.Variants[0].SKU
	if len(p.Variants) > 1 {
		if i := strings.LastIndexByte(sku, '-'); i > 0 {
			sku = sku[:i]
		}
	}
	return sku
}

func (s *Sandbox) renderProduct(p *sandboxkit.Product, withVariants bool, stock map[int64]int) v3Product {
	base := p.Variants[0]
	out := v3Product{
		ID: p.ID, Name: p.Title, Type: "physical", SKU: productSKU(p), Description: "<p>" + p.Description + "</p>",
		Weight: float64(base.WeightGram) / 1000, Price: price(base.PriceCents), CostPrice: price(base.PriceCents / 2),
		CalculatedPrice: price(base.PriceCents), Categories: []int{categoryIDs[p.Category]}, BrandID: 30 + int(p.ID%5),
		InventoryTracking: "variant", IsVisible: true, Availability: "available", Condition: "New",
		DateCreated: v3Date(p.CreatedAt), DateModified: v3Date(p.UpdatedAt),
	}
	if len(p.Variants) == 1 {
		id := base.ID
		out.BaseVariantID = &id
		out.UPC = base.Barcode
	}
	for _, v := range p.Variants {
		out.InventoryLevel += stock[v.ID]
	}
	if !withVariants {
		return out
	}
	for i, v := range p.Variants {
		vv := v3Variant{
			ID: v.ID, ProductID: p.ID, SKU: v.SKU, CalculatedPrice: price(v.PriceCents), CostPrice: price(v.PriceCents / 2),
			CalculatedWeight: float64(v.WeightGram) / 1000, UPC: v.Barcode, InventoryLevel: stock[v.ID],
			OptionValues: []v3OptionValue{},
		}
		if len(p.Variants) > 1 {
			// A variant of a product with options has its own SKU ID and price; a base variant inherits.
			skuID, pr := v.ID-30000, price(v.PriceCents)
			vv.SKUID, vv.Price = &skuID, &pr
			vv.OptionValues = append(vv.OptionValues, v3OptionValue{ID: 100 + int64(i), Label: v.Option, OptionID: p.ID - 7000, OptionDisplayName: "Size"})
		}
		out.Variants = append(out.Variants, vv)
	}
	return out
}

// serveProducts is GET /v3/catalog/products: date_modified:min in ISO 8601 (an unreadable date is a 422),
// sort by id (default) or date_modified, direction, include=variants, 50 per page by default and at most
// 250.
func (s *Sandbox) serveProducts(w http.ResponseWriter, q url.Values) {
	page, limit := pageParams(q, 50, maxPageSize)
	var min time.Time
	if v := q.Get("date_modified:min"); v != "" {
		t, ok := parseV3Filter(v, s.now())
		if !ok {
			writeProblem(w, http.StatusUnprocessableEntity, fmt.Sprintf("The filter date_modified:min %q is not a valid ISO 8601 date.", v))
			return
		}
		min = t
	}
	withVariants := false
	for _, inc := range strings.Split(q.Get("include"), ",") {
		withVariants = withVariants || strings.TrimSpace(inc) == "variants"
	}
	sortBy, desc := q.Get("sort"), q.Get("direction") == "desc"
	s.mu.Lock()
	defer s.mu.Unlock()
	var sel []*sandboxkit.Product
	for i := range s.cat.Products {
		p := &s.cat.Products[i]
		if !min.IsZero() && p.UpdatedAt.Before(min) {
			continue
		}
		sel = append(sel, p)
	}
	sort.Slice(sel, func(i, j int) bool {
		a, b := sel[i], sel[j]
		if sortBy == "date_modified" && !a.UpdatedAt.Equal(b.UpdatedAt) {
			return a.UpdatedAt.Before(b.UpdatedAt) != desc
		}
		return (a.ID < b.ID) != (desc && sortBy != "date_modified")
	})
	stock := map[int64]int{}
	for _, l := range s.cat.Levels {
		stock[l.VariantID] += l.Available
	}
	pageItems := window(sel, page, limit)
	data := make([]v3Product, len(pageItems))
	for i, p := range pageItems {
		data[i] = s.renderProduct(p, withVariants, stock)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": pagination(len(sel), len(data), page, limit)})
}

type v3Geo struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

type v3LocationAddress struct {
	Address1       string `json:"address1"`
	Address2       string `json:"address2"`
	City           string `json:"city"`
	State          string `json:"state"`
	Zip            string `json:"zip"`
	Email          string `json:"email"`
	Phone          string `json:"phone"`
	GeoCoordinates v3Geo  `json:"geo_coordinates"`
	CountryCode    string `json:"country_code"`
}

type v3Location struct {
	ID                      int64             `json:"id"`
	Code                    string            `json:"code"`
	Label                   string            `json:"label"`
	Description             string            `json:"description"`
	ManagedByExternalSource bool              `json:"managed_by_external_source"`
	TypeID                  string            `json:"type_id"`
	Enabled                 bool              `json:"enabled"`
	OperatingHours          map[string]any    `json:"operating_hours"`
	TimeZone                string            `json:"time_zone"`
	CreatedAt               string            `json:"created_at"`
	UpdatedAt               string            `json:"updated_at"`
	Address                 v3LocationAddress `json:"address"`
	StorefrontVisibility    bool              `json:"storefront_visibility"`
	SpecialHours            []any             `json:"special_hours"`
}

func operatingHours() map[string]any {
	out := map[string]any{}
	for _, d := range []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"} {
		open := d != "sunday"
		out[d] = map[string]any{"open": open, "opening": "09:00", "closing": "17:00"}
	}
	return out
}

// serveLocations is GET /v3/inventory/locations, by ID, 50 per page by default.
func (s *Sandbox) serveLocations(w http.ResponseWriter, q url.Values) {
	page, limit := pageParams(q, 50, maxPageSize)
	locs := window(s.cat.Locations, page, limit)
	data := make([]v3Location, len(locs))
	for i, l := range locs {
		data[i] = v3Location{
			ID: l.ID, Code: l.Code, Label: l.Name, Description: l.Name + " (" + l.City + ")", TypeID: "PHYSICAL", Enabled: l.Active,
			OperatingHours: operatingHours(), TimeZone: "Etc/UTC", CreatedAt: l.CreatedAt.UTC().Format(time.RFC3339),
			UpdatedAt: l.UpdatedAt.UTC().Format(time.RFC3339),
			Address: v3LocationAddress{Address1: l.Address1, City: l.City, State: l.Region, Zip: l.PostalCode,
				Email: "warehouse@example.com", Phone: "800-555-0198", CountryCode: l.CountryCode,
				GeoCoordinates: v3Geo{Latitude: math.Round(float64(l.ID%90)*100) / 100, Longitude: float64(l.ID % 180)}},
			StorefrontVisibility: l.Active, SpecialHours: []any{},
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": pagination(len(s.cat.Locations), len(data), page, limit)})
}

type v3ItemSettings struct {
	SafetyStock      int    `json:"safety_stock"`
	IsInStock        bool   `json:"is_in_stock"`
	WarningLevel     int    `json:"warning_level"`
	BinPickingNumber string `json:"bin_picking_number"`
}

type v3ItemLocation struct {
	LocationID           int64          `json:"location_id"`
	LocationCode         string         `json:"location_code"`
	LocationName         string         `json:"location_name"`
	AvailableToSell      int            `json:"available_to_sell"`
	TotalInventoryOnhand int            `json:"total_inventory_onhand"`
	LocationEnabled      bool           `json:"location_enabled"`
	Settings             v3ItemSettings `json:"settings"`
}

type v3ItemIdentity struct {
	SKU       string `json:"sku"`
	VariantID int64  `json:"variant_id"`
	ProductID int64  `json:"product_id"`
	SKUID     *int64 `json:"sku_id"`
}

type v3Item struct {
	Identity  v3ItemIdentity   `json:"identity"`
	Locations []v3ItemLocation `json:"locations"`
}

// serveInventory is GET /v3/inventory/items: every variant with its stock at every location, by variant
// ID, 50 per page by default and at most 1000. available_to_sell is on hand less the safety stock.
func (s *Sandbox) serveInventory(w http.ResponseWriter, q url.Values) {
	page, limit := pageParams(q, 50, maxInventoryPageSize)
	s.mu.Lock()
	defer s.mu.Unlock()
	variants := s.cat.Variants()
	sort.Slice(variants, func(i, j int) bool { return variants[i].ID < variants[j].ID })
	locs := map[int64]sandboxkit.Location{}
	for _, l := range s.cat.Locations {
		locs[l.ID] = l
	}
	levels := map[int64][]sandboxkit.Level{}
	for _, l := range s.cat.Levels {
		levels[l.VariantID] = append(levels[l.VariantID], l)
	}
	sel := window(variants, page, limit)
	data := make([]v3Item, len(sel))
	for i, v := range sel {
		item := v3Item{Identity: v3ItemIdentity{SKU: v.SKU, VariantID: v.ID, ProductID: v.ProductID}, Locations: []v3ItemLocation{}}
		if len(s.products[v.ProductID].Variants) > 1 {
			skuID := v.ID - 30000
			item.Identity.SKUID = &skuID
		}
		for _, l := range levels[v.ID] {
			loc := locs[l.LocationID]
			item.Locations = append(item.Locations, v3ItemLocation{
				LocationID: l.LocationID, LocationCode: loc.Code, LocationName: loc.Name, AvailableToSell: l.Available,
				TotalInventoryOnhand: l.OnHand, LocationEnabled: loc.Active,
				Settings: v3ItemSettings{SafetyStock: l.OnHand - l.Available, IsInStock: l.Available > 0, WarningLevel: 5},
			})
		}
		data[i] = item
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": pagination(len(variants), len(data), page, limit)})
}
