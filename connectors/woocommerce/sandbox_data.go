package woocommerce

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// siteDate is a non-_gmt date: the site's wall clock, without a zone, as WooCommerce writes it.
func (s *Sandbox) siteDate(t time.Time) string { return t.In(s.loc).Format(gmtLayout) }

func gmtDate(t time.Time) string { return t.UTC().Format(gmtLayout) }

// dates renders name and name_gmt.
func (s *Sandbox) dates(m map[string]any, name string, t *time.Time) {
	if t == nil {
		m[name], m[name+"_gmt"] = nil, nil
		return
	}
	m[name], m[name+"_gmt"] = s.siteDate(*t), gmtDate(*t)
}

func (s *Sandbox) links(path string, extra map[string]string) map[string]any {
	l := map[string]any{
		"self":       []any{map[string]any{"href": s.opts.StoreURL + APIPath + path}},
		"collection": []any{map[string]any{"href": s.opts.StoreURL + APIPath + path[:strings.LastIndexByte(path, '/')]}},
	}
	for k, v := range extra {
		l[k] = []any{map[string]any{"href": s.opts.StoreURL + APIPath + v}}
	}
	return l
}

// orderStatus maps the catalog's status to WooCommerce's: core has no partial fulfilment, and paid orders wait
// in processing until they ship.
func orderStatus(o *sandboxkit.Order) string {
	switch o.Status {
	case "pending":
		if o.ID%2 == 0 {
			return "on-hold"
		}
		return "pending"
	case "paid", "partially_fulfilled":
		return "processing"
	case "fulfilled":
		return "completed"
	}
	return o.Status // cancelled, refunded
}

func (s *Sandbox) renderOrder(o *sandboxkit.Order) map[string]any {
	c := o.Customer
	status := orderStatus(o)
	m := map[string]any{
		"id":                   o.ID,
		"parent_id":            0,
		"number":               strconv.FormatInt(o.ID, 10),
		"order_key":            fmt.Sprintf("wc_order_%013x", o.ID*7919)[:22],
		"created_via":          "checkout",
		"version":              "9.4.2",
		"status":               status,
		"currency":             o.Currency,
		"discount_total":       "0.00",
		"discount_tax":         "0.00",
		"shipping_total":       sandboxkit.Money(o.ShippingCents),
		"shipping_tax":         "0.00",
		"cart_tax":             sandboxkit.Money(o.TaxCents),
		"total":                sandboxkit.Money(o.Total()),
		"total_tax":            sandboxkit.Money(o.TaxCents),
		"prices_include_tax":   false,
		"customer_id":          c.ID,
		"customer_ip_address":  fmt.Sprintf("203.0.113.%d", c.ID%250+1),
		"customer_user_agent":  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		"customer_note":        "",
		"payment_method":       "stripe",
		"payment_method_title": "Credit Card (Stripe)",
		"transaction_id":       "",
		"cart_hash":            fmt.Sprintf("%032x", o.ID*2654435761),
		"meta_data":            []any{},
		"fee_lines":            []any{},
		"coupon_lines":         []any{},
		"refunds":              []any{},
		"billing": map[string]any{
			"first_name": c.FirstName, "last_name": c.LastName, "company": "", "address_1": fmt.Sprintf("%d Main St", 100+c.ID%900),
			"address_2": "", "city": c.City, "state": c.Region, "postcode": c.PostalCode, "country": c.CountryCode,
			"email": c.Email, "phone": fmt.Sprintf("(555) 555-%04d", c.ID%10000),
		},
		"shipping": map[string]any{
			"first_name": c.FirstName, "last_name": c.LastName, "company": "", "address_1": fmt.Sprintf("%d Main St", 100+c.ID%900),
			"address_2": "", "city": c.City, "state": c.Region, "postcode": c.PostalCode, "country": c.CountryCode,
		},
		"_links": s.links(fmt.Sprintf("/orders/%d", o.ID), map[string]string{"customer": fmt.Sprintf("/customers/%d", c.ID)}),
	}
	s.dates(m, "date_created", &o.CreatedAt)
	s.dates(m, "date_modified", &o.UpdatedAt)
	var paid, completed *time.Time
	if status == "processing" || status == "completed" || status == "refunded" {
		t := o.CreatedAt.Add(2 * time.Minute)
		paid = &t
		m["transaction_id"] = fmt.Sprintf("ch_%024x", o.ID*104729)
	}
	if status == "completed" {
		completed = &o.UpdatedAt
	}
	s.dates(m, "date_paid", paid)
	s.dates(m, "date_completed", completed)
	if status == "refunded" {
		m["refunds"] = []any{map[string]any{"id": o.ID + 9000000, "reason": "Customer request", "total": "-" + sandboxkit.Money(o.Total())}}
	}
	lines := make([]any, 0, len(o.Lines))
	for _, l := range o.Lines {
		sub := l.PriceCents * int64(l.Quantity)
		tax := sub * 8 / 100
		variationID := l.VariantID
		var meta []any
		if !s.variable[l.ProductID] {
			variationID = 0
		} else {
			for i, a := range variationAttributes(l.Title[strings.LastIndex(l.Title, " - ")+3:]) {
				meta = append(meta, map[string]any{"id": l.ID*10 + int64(i), "key": strings.ToLower(a.name), "value": a.option,
					"display_key": a.name, "display_value": a.option})
			}
		}
		if meta == nil {
			meta = []any{}
		}
		lines = append(lines, map[string]any{
			"id": l.ID, "name": l.Title, "product_id": l.ProductID, "variation_id": variationID, "quantity": l.Quantity,
			"tax_class": "", "subtotal": sandboxkit.Money(sub), "subtotal_tax": sandboxkit.Money(tax),
			"total": sandboxkit.Money(sub), "total_tax": sandboxkit.Money(tax),
			"taxes":     []any{map[string]any{"id": 1, "total": sandboxkit.Money(tax), "subtotal": sandboxkit.Money(tax)}},
			"meta_data": meta, "sku": l.SKU,
			// WooCommerce sends the unit price as a JSON number, although its docs call it a string.
			"price": float64(l.PriceCents) / 100,
		})
	}
	m["line_items"] = lines
	m["tax_lines"] = []any{map[string]any{"id": o.ID*10 + 1, "rate_code": "US-STATE TAX-1", "rate_id": 1, "label": "State Tax",
		"compound": false, "tax_total": sandboxkit.Money(o.TaxCents), "shipping_tax_total": "0.00", "meta_data": []any{}}}
	if o.ShippingCents > 0 {
		m["shipping_lines"] = []any{map[string]any{"id": o.ID*10 + 2, "method_title": "Flat rate", "method_id": "flat_rate",
			"total": sandboxkit.Money(o.ShippingCents), "total_tax": "0.00", "taxes": []any{}, "meta_data": []any{}}}
	} else {
		m["shipping_lines"] = []any{}
	}
	return m
}

func productType(p *sbProduct) string {
	if p.variable() {
		return "variable"
	}
	return "simple"
}

type attribute struct{ name, option string }

// variationAttributes splits a catalog option ("Large", "Navy / X-Large") into WooCommerce attributes.
func variationAttributes(option string) []attribute {
	parts := strings.Split(option, " / ")
	if len(parts) == 2 {
		return []attribute{{"Color", parts[0]}, {"Size", parts[1]}}
	}
	return []attribute{{"Size", option}}
}

func stockStatus(qty int) string {
	if qty > 0 {
		return "instock"
	}
	return "outofstock"
}

func (s *Sandbox) common(m map[string]any, weightGram int, priceCents int64) {
	m["price"] = sandboxkit.Money(priceCents)
	m["regular_price"] = sandboxkit.Money(priceCents)
	m["sale_price"] = ""
	s.dates(m, "date_on_sale_from", nil)
	s.dates(m, "date_on_sale_to", nil)
	m["on_sale"] = false
	m["status"] = "publish"
	m["purchasable"] = true
	m["virtual"] = false
	m["downloadable"] = false
	m["downloads"] = []any{}
	m["download_limit"] = -1
	m["download_expiry"] = -1
	m["tax_status"] = "taxable"
	m["tax_class"] = ""
	m["backorders"] = "no"
	m["backorders_allowed"] = false
	m["backordered"] = false
	m["weight"] = strconv.FormatFloat(float64(weightGram)/1000, 'f', -1, 64)
	m["dimensions"] = map[string]any{"length": "30", "width": "20", "height": "5"}
	m["shipping_class"] = ""
	m["shipping_class_id"] = 0
	m["menu_order"] = 0
	m["meta_data"] = []any{}
}

func (s *Sandbox) renderProduct(p *sbProduct) map[string]any {
	v0 := p.Variants[0]
	m := map[string]any{
		"id": p.ID, "name": p.Title, "slug": p.Handle, "permalink": s.opts.StoreURL + "/product/" + p.Handle + "/",
		"type": productType(p), "featured": false, "catalog_visibility": "visible",
		"description": "<p>" + p.Description + "</p>\n", "short_description": "<p>" + p.Description + "</p>\n",
		"external_url": "", "button_text": "", "sold_individually": false, "shipping_required": true, "shipping_taxable": true,
		"reviews_allowed": true, "average_rating": "0.00", "rating_count": 0, "related_ids": []any{}, "upsell_ids": []any{},
		"cross_sell_ids": []any{}, "parent_id": 0, "purchase_note": "", "total_sales": 0,
		"categories": []any{map[string]any{"id": 10 + len(p.Category), "name": p.Category, "slug": strings.ToLower(p.Category)}},
		"tags":       []any{}, "images": []any{}, "default_attributes": []any{}, "grouped_products": []any{},
		"variations": []any{}, "attributes": []any{}, "global_unique_id": "",
		"_links": s.links(fmt.Sprintf("/products/%d", p.ID), nil),
	}
	s.dates(m, "date_created", &p.CreatedAt)
	s.dates(m, "date_modified", &p.UpdatedAt)
	s.common(m, v0.WeightGram, v0.PriceCents)
	m["price_html"] = fmt.Sprintf(`<span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-currencySymbol">&#36;</span>%s</bdi></span>`, sandboxkit.Money(v0.PriceCents))
	switch {
	case !p.variable():
		m["sku"], m["global_unique_id"] = v0.SKU, v0.Barcode
		m["manage_stock"] = p.mode == stockManaged
		if p.mode == stockManaged {
			m["stock_quantity"], m["stock_status"] = p.stock[v0.ID], stockStatus(p.stock[v0.ID])
		} else {
			m["stock_quantity"], m["stock_status"] = nil, "instock"
		}
	default:
		m["sku"] = v0.SKU[:strings.LastIndexByte(v0.SKU, '-')]
		ids := make([]any, len(p.Variants))
		options := map[string][]any{}
		var names []string
		for i, v := range p.Variants {
			ids[i] = v.ID
			for _, a := range variationAttributes(v.Option) {
				if _, ok := options[a.name]; !ok {
					names = append(names, a.name)
				}
				if !containsAny(options[a.name], a.option) {
					options[a.name] = append(options[a.name], a.option)
				}
			}
		}
		m["variations"] = ids
		attrs := make([]any, 0, len(names))
		for i, n := range names {
			attrs = append(attrs, map[string]any{"id": 0, "name": n, "position": i, "visible": true, "variation": true, "options": options[n]})
		}
		m["attributes"] = attrs
		if p.mode == stockParent {
			m["manage_stock"], m["stock_quantity"], m["stock_status"] = true, p.stock[p.ID], stockStatus(p.stock[p.ID])
		} else {
			m["manage_stock"], m["stock_quantity"], m["stock_status"] = false, nil, "instock"
		}
	}
	return m
}

func containsAny(xs []any, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func (s *Sandbox) renderVariation(p *sbProduct, v *sandboxkit.Variant) map[string]any {
	m := map[string]any{
		"id": v.ID, "description": "", "sku": v.SKU, "global_unique_id": v.Barcode,
		"permalink": fmt.Sprintf("%s/product/%s/?attribute_size=%s", s.opts.StoreURL, p.Handle, strings.ToLower(v.Option)),
		"image":     nil,
		"_links":    s.links(fmt.Sprintf("/products/%d/variations/%d", p.ID, v.ID), map[string]string{"up": fmt.Sprintf("/products/%d", p.ID)}),
	}
	s.dates(m, "date_created", &v.CreatedAt)
	s.dates(m, "date_modified", &v.UpdatedAt)
	s.common(m, v.WeightGram, v.PriceCents)
	attrs := []any{}
	for _, a := range variationAttributes(v.Option) {
		attrs = append(attrs, map[string]any{"id": 0, "name": a.name, "option": a.option})
	}
	m["attributes"] = attrs
	switch p.mode {
	case stockManaged:
		m["manage_stock"], m["stock_quantity"], m["stock_status"] = true, p.stock[v.ID], stockStatus(p.stock[v.ID])
	case stockParent:
		// The variation inherits its product's stock: WooCommerce says "parent" and shows the product's pool.
		m["manage_stock"], m["stock_quantity"], m["stock_status"] = "parent", p.stock[p.ID], stockStatus(p.stock[p.ID])
	default:
		m["manage_stock"], m["stock_quantity"], m["stock_status"] = false, nil, "instock"
	}
	return m
}
