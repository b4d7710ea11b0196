package magento

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// The sandbox renders a sandboxkit catalog the way Magento stores it:
//
//   - A product with one variant is a simple product whose ID is the variant's. A product with several
//     variants is a configurable product (the product's ID, price 0, visibility 4) with one simple child per
//     variant (the variant's ID, visibility 1 "Not Visible Individually"), linked through
//     extension_attributes.configurable_product_links.
//   - An order line of a configurable's child is two order items, as Magento writes them: the parent
//     (product_type configurable, the configurable's product_id, the child's SKU, the price and quantity) and
//     the child (the simple's product_id, price 0, parent_item_id and a copy of the parent in parent_item).
//   - Locations are MSI sources; stock levels are source items (quantity = on hand).

// childItemOffset separates the item_id of a configurable's child item from the sandboxkit line IDs.
const childItemOffset = 1_000_000

// childProductName names a configurable's child the way the Luma sample data does: "Champ Tee-S".
func childProductName(p sandboxkit.Product, v sandboxkit.Variant) string {
	return p.Title + "-" + strings.ReplaceAll(v.Option, " / ", "-")
}

func money(cents int64) float64 { return float64(cents) / 100 }

// orderStates maps sandboxkit statuses to Magento's (state, status).
var orderStates = map[string][2]string{
	"pending":             {"new", "pending"},
	"paid":                {"processing", "processing"},
	"partially_fulfilled": {"processing", "processing"},
	"fulfilled":           {"complete", "complete"},
	"cancelled":           {"canceled", "canceled"},
	"refunded":            {"closed", "closed"},
}

// storeData is the sandbox's rendered store.
type storeData struct {
	products    []map[string]any
	orders      []map[string]any
	sources     []map[string]any
	sourceItems []map[string]any

	lines, skus int
}

func renderStore(cat *sandboxkit.Catalog) *storeData {
	d := &storeData{}
	type owner struct {
		p            sandboxkit.Product
		configurable bool
	}
	owners := map[int64]owner{}
	for _, p := range cat.Products {
		conf := len(p.Variants) > 1
		for _, v := range p.Variants {
			owners[v.ID] = owner{p, conf}
		}
		category := fmt.Sprint(11 + len(p.Category)%7)
		if !conf {
			v := p.Variants[0]
			d.products = append(d.products, simpleProduct(v.ID, v.SKU, p.Title, v, p, 4, p.CreatedAt, p.UpdatedAt, category))
			d.skus++
			continue
		}
		var links []any
		for _, v := range p.Variants {
			d.products = append(d.products, simpleProduct(v.ID, v.SKU, childProductName(p, v), v, p, 1, v.CreatedAt, v.UpdatedAt, category))
			links = append(links, v.ID)
			d.skus++
		}
		values := make([]any, len(p.Variants))
		for i := range p.Variants {
			values[i] = map[string]any{"value_index": 160 + i}
		}
		code := strings.SplitN(p.Variants[0].SKU, "-", 4)
		d.products = append(d.products, map[string]any{
			"id": p.ID, "sku": strings.Join(code[:min(3, len(code))], "-"), "name": p.Title, "attribute_set_id": 9,
			"price": 0, "status": 1, "visibility": 4, "type_id": "configurable",
			"created_at": formatDate(p.CreatedAt), "updated_at": formatDate(p.UpdatedAt), "weight": 0.5,
			"extension_attributes": map[string]any{
				"website_ids":    []any{1},
				"category_links": []any{map[string]any{"position": 0, "category_id": category}},
				"configurable_product_options": []any{map[string]any{
					"id": p.ID - 6000, "attribute_id": "144", "label": "Size", "position": 0, "values": values, "product_id": p.ID,
				}},
				"configurable_product_links": links,
			},
			"product_links": []any{}, "options": []any{}, "media_gallery_entries": []any{}, "tier_prices": []any{},
			"custom_attributes": []any{
				attr("description", p.Description), attr("url_key", p.Handle), attr("tax_class_id", "2"),
				attr("options_container", "container2"), attr("required_options", "0"), attr("has_options", "1"),
			},
		})
	}
	sort.Slice(d.products, func(i, j int) bool { return d.products[i]["id"].(int64) < d.products[j]["id"].(int64) })

	codes := map[int64]string{}
	for i, l := range cat.Locations {
		code := strings.ToLower(strings.ReplaceAll(l.Code, "-", "_"))
		codes[l.ID] = code
		d.sources = append(d.sources, map[string]any{
			"source_code": code, "name": l.Name, "email": fmt.Sprintf("%s@example.com", code),
			"contact_name": "Operations", "enabled": l.Active, "description": l.Name + ", " + l.City,
			"latitude": 40.7 - float64(i), "longitude": -74.0 + float64(i), "country_id": l.CountryCode,
			"region": l.Region, "city": l.City, "street": l.Address1, "postcode": l.PostalCode,
			"phone": "555-0100", "use_default_carrier_config": true, "carrier_links": []any{},
			"extension_attributes": map[string]any{"is_pickup_location_active": false, "frontend_name": l.Name, "frontend_description": ""},
		})
	}
	skuOf := map[int64]string{}
	for _, v := range cat.Variants() {
		skuOf[v.ID] = v.SKU
	}
	for _, lv := range cat.Levels {
		status := 0
		if lv.OnHand > 0 {
			status = 1
		}
		d.sourceItems = append(d.sourceItems, map[string]any{
			"sku": skuOf[lv.VariantID], "source_code": codes[lv.LocationID], "quantity": lv.OnHand, "status": status,
		})
	}

	for i := range cat.Orders {
		o := &cat.Orders[i]
		var items []any
		qty := 0
		for _, l := range o.Lines {
			ow := owners[l.VariantID]
			qty += l.Quantity
			if !ow.configurable {
				items = append(items, orderItem(o, l.ID, l.SKU, l.Title, l.VariantID, "simple", l.Quantity, l.PriceCents, 4))
				continue
			}
			parentItem := orderItem(o, l.ID, l.SKU, ow.p.Title, ow.p.ID, "configurable", l.Quantity, l.PriceCents, 4)
			var v sandboxkit.Variant
			for _, x := range ow.p.Variants {
				if x.ID == l.VariantID {
					v = x
				}
			}
			child := orderItem(o, l.ID+childItemOffset, l.SKU, childProductName(ow.p, v), l.VariantID, "simple", l.Quantity, 0, 0)
			child["parent_item_id"] = l.ID
			parentCopy := make(map[string]any, len(parentItem))
			for k, val := range parentItem {
				parentCopy[k] = val
			}
			child["parent_item"] = parentCopy
			items = append(items, parentItem, child)
		}
		d.lines += len(o.Lines)
		d.orders = append(d.orders, renderOrder(o, items, qty))
	}
	sort.Slice(d.orders, func(i, j int) bool { return d.orders[i]["entity_id"].(int64) < d.orders[j]["entity_id"].(int64) })
	return d
}

func attr(code string, value any) map[string]any {
	return map[string]any{"attribute_code": code, "value": value}
}

func simpleProduct(id int64, sku, name string, v sandboxkit.Variant, p sandboxkit.Product, visibility int, created, updated time.Time, category string) map[string]any {
	custom := []any{
		attr("description", p.Description), attr("url_key", strings.ToLower(strings.ReplaceAll(name, " ", "-"))+fmt.Sprintf("-%d", id)),
		attr("tax_class_id", "2"), attr("barcode", v.Barcode), attr("options_container", "container2"),
		attr("required_options", "0"), attr("has_options", "0"),
	}
	if v.Option != "" {
		custom = append(custom, attr("size", v.Option))
	}
	return map[string]any{
		"id": id, "sku": sku, "name": name, "attribute_set_id": 9, "price": money(v.PriceCents), "status": 1,
		"visibility": visibility, "type_id": "simple", "created_at": formatDate(created), "updated_at": formatDate(updated),
		"weight": math.Round(float64(v.WeightGram)/10) / 100,
		"extension_attributes": map[string]any{
			"website_ids":    []any{1},
			"category_links": []any{map[string]any{"position": 0, "category_id": category}},
		},
		"product_links": []any{}, "options": []any{}, "media_gallery_entries": []any{}, "tier_prices": []any{},
		"custom_attributes": custom,
	}
}

func orderItem(o *sandboxkit.Order, itemID int64, sku, name string, productID int64, productType string, qty int, priceCents int64, taxPercent int) map[string]any {
	row := priceCents * int64(qty)
	tax := row * int64(taxPercent) * 2 / 100
	q := float64(qty)
	var invoiced, shipped, refunded, canceled float64
	switch o.Status {
	case "paid", "partially_fulfilled":
		invoiced = q
	case "fulfilled":
		invoiced, shipped = q, q
	case "refunded":
		invoiced, refunded = q, q
	case "cancelled":
		canceled = q
	}
	if o.Status == "partially_fulfilled" {
		shipped = math.Floor(q / 2)
	}
	return map[string]any{
		"item_id": itemID, "order_id": o.ID, "quote_item_id": itemID + 300000, "store_id": 1,
		"created_at": formatDate(o.CreatedAt), "updated_at": formatDate(o.UpdatedAt),
		"product_id": productID, "product_type": productType, "sku": sku, "name": name,
		"is_virtual": 0, "is_qty_decimal": 0, "no_discount": 0, "free_shipping": 0, "weight": 1,
		"qty_ordered": q, "qty_invoiced": invoiced, "qty_shipped": shipped, "qty_refunded": refunded, "qty_canceled": canceled,
		"price": money(priceCents), "base_price": money(priceCents), "original_price": money(priceCents),
		"base_original_price": money(priceCents), "price_incl_tax": money(priceCents + priceCents*int64(taxPercent)*2/100),
		"base_price_incl_tax": money(priceCents + priceCents*int64(taxPercent)*2/100),
		"row_total":           money(row), "base_row_total": money(row), "row_total_incl_tax": money(row + tax),
		"base_row_total_incl_tax": money(row + tax), "row_weight": q,
		"tax_percent": float64(taxPercent * 2), "tax_amount": money(tax), "base_tax_amount": money(tax),
		"discount_amount": 0, "base_discount_amount": 0, "discount_percent": 0,
		"amount_refunded": money(int64(refunded) * priceCents), "base_amount_refunded": money(int64(refunded) * priceCents),
	}
}

func renderOrder(o *sandboxkit.Order, items []any, qty int) map[string]any {
	st := orderStates[o.Status]
	sub, ship, tax, total := money(o.Subtotal()), money(o.ShippingCents), money(o.TaxCents), money(o.Total())
	c := o.Customer
	address := func(kind string, id int64) map[string]any {
		return map[string]any{
			"address_type": kind, "entity_id": id, "parent_id": o.ID, "firstname": c.FirstName, "lastname": c.LastName,
			"email": c.Email, "street": []any{fmt.Sprintf("%d Main St", 100+c.ID%800)}, "city": c.City,
			"region": c.Region, "region_code": c.Region, "postcode": c.PostalCode, "country_id": c.CountryCode,
			"telephone": "555-0142",
		}
	}
	paid := 0.0
	if o.Status != "pending" && o.Status != "cancelled" {
		paid = total
	}
	return map[string]any{
		"entity_id": o.ID, "increment_id": fmt.Sprintf("%09d", o.Number), "quote_id": o.ID + 200000,
		"created_at": formatDate(o.CreatedAt), "updated_at": formatDate(o.UpdatedAt),
		"state": st[0], "status": st[1], "store_id": 1, "store_name": "Main Website\nMain Website Store\nDefault Store View",
		"customer_id": c.ID, "customer_email": c.Email, "customer_firstname": c.FirstName, "customer_lastname": c.LastName,
		"customer_group_id": 1, "customer_is_guest": 0, "customer_note_notify": 1, "email_sent": 1, "is_virtual": 0,
		"base_currency_code": o.Currency, "global_currency_code": o.Currency, "order_currency_code": o.Currency,
		"store_currency_code": o.Currency, "base_to_global_rate": 1, "base_to_order_rate": 1,
		"subtotal": sub, "base_subtotal": sub, "subtotal_incl_tax": sub + tax, "base_subtotal_incl_tax": sub + tax,
		"shipping_amount": ship, "base_shipping_amount": ship, "shipping_incl_tax": ship, "base_shipping_incl_tax": ship,
		"shipping_description": "Flat Rate - Fixed", "tax_amount": tax, "base_tax_amount": tax,
		"discount_amount": 0, "base_discount_amount": 0,
		"grand_total": total, "base_grand_total": total, "total_paid": paid, "base_total_paid": paid,
		"total_due": total - paid, "base_total_due": total - paid,
		"total_qty_ordered": float64(qty), "total_item_count": len(items), "weight": float64(qty),
		"billing_address_id": o.ID*2 + 1,
		"items":              items,
		"billing_address":    address("billing", o.ID*2+1),
		"payment": map[string]any{
			"entity_id": o.ID, "parent_id": o.ID, "method": "checkmo", "account_status": nil,
			"additional_information": []any{"Check / Money order"}, "cc_last4": nil,
			"amount_ordered": total, "base_amount_ordered": total, "amount_paid": paid, "base_amount_paid": paid,
			"shipping_amount": ship, "base_shipping_amount": ship,
		},
		"status_histories": []any{},
		"extension_attributes": map[string]any{
			"shipping_assignments": []any{map[string]any{
				"shipping": map[string]any{
					"address": address("shipping", o.ID*2),
					"method":  "flatrate_flatrate",
					"total": map[string]any{"shipping_amount": ship, "base_shipping_amount": ship,
						"shipping_incl_tax": ship, "base_shipping_incl_tax": ship, "shipping_tax_amount": 0, "base_shipping_tax_amount": 0},
				},
				"items": items,
			}},
		},
	}
}
