package etsy

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// ID offsets turn the catalog's small IDs into Etsy-sized ones (all below 2^53, as Etsy's are).
const (
	receiptIDBase     = 3_000_000_000
	transactionIDBase = 4_000_000_000
	listingIDBase     = 1_000_000_000
	productIDBase     = 20_000_000_000
	offeringIDBase    = 30_000_000_000
	shipmentIDBase    = 5_000_000_000
	buyerIDBase       = 700_000_000
	// inactiveEvery makes every n-th listing inactive: listed in no active-listing page.
	inactiveEvery = 20
	// customProperty is the property ID of the variation the sandbox's listings vary by.
	customProperty = 513
)

// sbReceipt is a receipt in the sandbox.
type sbReceipt struct {
	ID                      int64
	Created, Updated        int64
	Status                  string
	Paid, Shipped           bool
	ShippedAt               int64
	Buyer                   sandboxkit.Customer
	Lines                   []sbLine
	Shipping, Tax           int64
	Currency, MessageSeller string
	RefundedAt, CancelledAt int64
	// rendered caches the receipt's JSON; every change clears it.
	rendered []byte
}

// json is the receipt's ShopReceipt JSON, rendered once until the receipt changes.
func (r *sbReceipt) json(shop sbShop) []byte {
	if r.rendered == nil {
		r.rendered, _ = json.Marshal(r.render(shop))
	}
	return r.rendered
}

type sbLine struct {
	ID, ListingID, ProductID int64
	SKU, Title               string
	Quantity                 int
	PriceCents               int64
}

func (r *sbReceipt) subtotal() int64 {
	var s int64
	for _, l := range r.Lines {
		s += l.PriceCents * int64(l.Quantity)
	}
	return s
}

// sbListing is a listing with its inventory products.
type sbListing struct {
	ID               int64
	Title, Desc      string
	State            string
	Created, Updated int64
	Products         []sbProduct
}

type sbProduct struct {
	ID, OfferingID int64
	SKU, Option    string
	PriceCents     int64
	Quantity       int
}

// sbShop is the one shop.
type sbShop struct {
	ID, UserID       int64
	Name             string
	Currency         string
	Country          string
	Created, Updated int64
}

// seed builds the sandbox's data from a sandboxkit catalog.
func seed(o SandboxOptions) (sbShop, []*sbReceipt, []*sbListing) {
	cat := sandboxkit.Generate(sandboxkit.Options{Seed: o.Seed, Orders: o.Orders, Products: o.Products,
		Locations: o.Locations, End: o.End})
	stock := map[int64]int{}
	for _, l := range cat.Levels {
		stock[l.VariantID] += l.Available
	}
	shop := sbShop{ID: 41_000_000 + int64(o.Seed%1000), UserID: 820_000_000 + int64(o.Seed%1000), Name: "TetherSandboxShop",
		Currency: cat.Currency, Country: "US"}
	if len(cat.Locations) > 0 {
		shop.Country = cat.Locations[0].CountryCode
		shop.Created = cat.Locations[0].CreatedAt.Unix()
		shop.Updated = cat.Locations[0].UpdatedAt.Unix()
	}
	var listings []*sbListing
	for i, p := range cat.Products {
		l := &sbListing{ID: listingIDBase + p.ID, Title: p.Title, Desc: p.Description, State: "active",
			Created: p.CreatedAt.Unix(), Updated: p.UpdatedAt.Unix()}
		if (i+1)%inactiveEvery == 0 {
			l.State = "inactive"
		}
		for _, v := range p.Variants {
			l.Products = append(l.Products, sbProduct{ID: productIDBase + v.ID, OfferingID: offeringIDBase + v.ID,
				SKU: v.SKU, Option: v.Option, PriceCents: v.PriceCents, Quantity: stock[v.ID]})
		}
		listings = append(listings, l)
	}
	receipts := make([]*sbReceipt, 0, len(cat.Orders))
	for _, ord := range cat.Orders {
		r := &sbReceipt{ID: receiptIDBase + ord.ID, Created: ord.CreatedAt.Unix(), Updated: ord.UpdatedAt.Unix(),
			Buyer: ord.Customer, Shipping: ord.ShippingCents, Tax: ord.TaxCents, Currency: ord.Currency}
		switch ord.Status {
		case "fulfilled":
			r.Status, r.Paid, r.Shipped = "completed", true, true
		case "paid", "partially_fulfilled":
			r.Status, r.Paid = "paid", true
		case "pending":
			r.Status = "payment processing"
		case "cancelled":
			r.Status, r.CancelledAt = "canceled", r.Updated
		case "refunded":
			r.Status, r.Paid, r.Shipped, r.RefundedAt = "fully refunded", true, true, r.Updated
		}
		if r.Shipped {
			r.ShippedAt = r.Created + (r.Updated-r.Created)/2
		}
		for _, ln := range ord.Lines {
			r.Lines = append(r.Lines, sbLine{ID: transactionIDBase + ln.ID, ListingID: listingIDBase + ln.ProductID,
				ProductID: productIDBase + ln.VariantID, SKU: ln.SKU, Title: ln.Title, Quantity: ln.Quantity, PriceCents: ln.PriceCents})
		}
		receipts = append(receipts, r)
	}
	return shop, receipts, listings
}

func moneyObject(cents int64, currency string) map[string]any {
	return map[string]any{"amount": cents, "divisor": 100, "currency_code": currency}
}

func nullableInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// render is the receipt as a ShopReceipt.
func (r *sbReceipt) render(shop sbShop) map[string]any {
	sub := r.subtotal()
	txs := make([]any, 0, len(r.Lines))
	for _, l := range r.Lines {
		var paid any
		if r.Paid {
			paid = r.Created
		}
		txs = append(txs, map[string]any{
			"transaction_id": l.ID, "title": l.Title, "description": "", "seller_user_id": shop.UserID,
			"buyer_user_id": buyerIDBase + r.Buyer.ID, "create_timestamp": r.Created, "created_timestamp": r.Created,
			"paid_timestamp": paid, "shipped_timestamp": nullableInt(r.ShippedAt), "quantity": l.Quantity,
			"listing_image_id": nil, "receipt_id": r.ID, "is_digital": false, "file_data": "", "listing_id": l.ListingID,
			"transaction_type": "listing", "product_id": l.ProductID, "sku": l.SKU,
			"price": moneyObject(l.PriceCents, r.Currency), "shipping_cost": moneyObject(0, r.Currency),
			"variations": []any{}, "product_data": []any{}, "shipping_profile_id": nil, "min_processing_days": 1,
			"max_processing_days": 3, "shipping_method": nil, "shipping_upgrade": nil,
			"expected_ship_date": r.Created + 3*86400, "buyer_coupon": 0, "shop_coupon": 0,
		})
	}
	shipments := []any{}
	if r.Shipped {
		shipments = append(shipments, map[string]any{"receipt_shipping_id": shipmentIDBase + r.ID - receiptIDBase,
			"shipment_notification_timestamp": r.ShippedAt, "carrier_name": "usps",
			"tracking_code": fmt.Sprintf("9400%018d", r.ID)})
	}
	refunds := []any{}
	if r.RefundedAt != 0 {
		refunds = append(refunds, map[string]any{"amount": moneyObject(sub+r.Shipping+r.Tax, r.Currency),
			"created_timestamp": r.RefundedAt, "reason": "Buyer requested", "note_from_issuer": "", "status": "completed"})
	}
	b := r.Buyer
	name := b.FirstName + " " + b.LastName
	return map[string]any{
		"receipt_id": r.ID, "receipt_type": 0, "seller_user_id": shop.UserID, "seller_email": "owner@example.com",
		"buyer_user_id": buyerIDBase + b.ID, "buyer_email": b.Email, "name": name, "first_line": "1 Main St",
		"second_line": nil, "city": b.City, "state": b.Region, "zip": b.PostalCode, "status": r.Status,
		"formatted_address": strings.Join([]string{name, "1 Main St", b.City + " " + b.Region + " " + b.PostalCode, b.CountryCode}, "\n"),
		"country_iso":       b.CountryCode, "payment_method": "cc", "payment_email": nil,
		"message_from_seller": nilIfEmpty(r.MessageSeller), "message_from_buyer": nil, "message_from_payment": nil,
		"is_paid": r.Paid, "is_shipped": r.Shipped, "create_timestamp": r.Created, "created_timestamp": r.Created,
		"update_timestamp": r.Updated, "updated_timestamp": r.Updated, "is_gift": false, "gift_message": "",
		"gift_sender": "", "grandtotal": moneyObject(sub+r.Shipping+r.Tax, r.Currency),
		"subtotal": moneyObject(sub, r.Currency), "total_price": moneyObject(sub, r.Currency),
		"total_shipping_cost": moneyObject(r.Shipping, r.Currency), "total_tax_cost": moneyObject(r.Tax, r.Currency),
		"total_vat_cost": moneyObject(0, r.Currency), "discount_amt": moneyObject(0, r.Currency),
		"gift_wrap_price": moneyObject(0, r.Currency), "shipments": shipments, "transactions": txs, "refunds": refunds,
	}
}

func (l *sbListing) quantity() int {
	n := 0
	for _, p := range l.Products {
		n += p.Quantity
	}
	return n
}

func (l *sbListing) minPrice() int64 {
	var m int64
	for i, p := range l.Products {
		if i == 0 || p.PriceCents < m {
			m = p.PriceCents
		}
	}
	return m
}

// render is the listing as a ShopListing.
func (l *sbListing) render(shop sbShop) map[string]any {
	return map[string]any{
		"listing_id": l.ID, "user_id": shop.UserID, "shop_id": shop.ID, "title": l.Title, "description": l.Desc,
		"state": l.State, "creation_timestamp": l.Created, "created_timestamp": l.Created,
		"ending_timestamp": l.Updated + 120*86400, "original_creation_timestamp": l.Created,
		"last_modified_timestamp": l.Updated, "updated_timestamp": l.Updated, "state_timestamp": l.Updated,
		"quantity": l.quantity(), "shop_section_id": nil, "featured_rank": -1,
		"url": fmt.Sprintf("https://www.etsy.com/listing/%d", l.ID), "num_favorers": 0, "non_taxable": false,
		"is_taxable": true, "is_customizable": false, "is_personalizable": false, "listing_type": "physical",
		"tags": []any{}, "materials": []any{}, "shipping_profile_id": nil, "return_policy_id": nil,
		"processing_min": 1, "processing_max": 3, "who_made": "i_did", "when_made": "made_to_order",
		"is_supply": false, "item_weight": nil, "item_weight_unit": nil, "item_length": nil, "item_width": nil,
		"item_height": nil, "item_dimensions_unit": nil, "is_private": false, "style": []any{}, "file_data": "",
		"has_variations": len(l.Products) > 1, "should_auto_renew": true, "language": "en-US",
		"price": moneyObject(l.minPrice(), shop.Currency), "taxonomy_id": 1,
	}
}

// renderInventory is the listing's ListingInventory.
func (l *sbListing) renderInventory(currency string) map[string]any {
	products := make([]any, 0, len(l.Products))
	for _, p := range l.Products {
		props := []any{}
		if p.Option != "" {
			props = append(props, map[string]any{"property_id": customProperty, "property_name": "Option",
				"scale_id": nil, "scale_name": nil, "value_ids": []any{p.OfferingID}, "values": []any{p.Option}})
		}
		products = append(products, map[string]any{
			"product_id": p.ID, "sku": p.SKU, "is_deleted": false,
			"offerings": []any{map[string]any{"offering_id": p.OfferingID, "quantity": p.Quantity, "is_enabled": true,
				"is_deleted": false, "price": moneyObject(p.PriceCents, currency)}},
			"property_values": props,
		})
	}
	onProperty := []any{}
	if len(l.Products) > 1 {
		onProperty = []any{customProperty}
	}
	return map[string]any{"products": products, "price_on_property": onProperty, "quantity_on_property": onProperty,
		"sku_on_property": onProperty}
}

// render is the shop as a Shop.
func (s sbShop) render(activeListings int, sold int) map[string]any {
	return map[string]any{
		"shop_id": s.ID, "user_id": s.UserID, "shop_name": s.Name, "create_date": s.Created,
		"created_timestamp": s.Created, "title": "Handmade goods", "announcement": nil, "currency_code": s.Currency,
		"is_vacation": false, "vacation_message": nil, "sale_message": nil, "digital_sale_message": nil,
		"update_date": s.Updated, "updated_timestamp": s.Updated, "listing_active_count": activeListings,
		"digital_listing_count": 0, "login_name": "tethersandbox", "accepts_custom_requests": false,
		"vacation_autoreply": nil, "url": "https://www.etsy.com/shop/" + s.Name, "image_url_760x100": nil,
		"num_favorers": 0, "languages": []any{"en-US"}, "icon_url_fullxfull": nil,
		"is_using_structured_policies": true, "has_onboarded_structured_policies": true,
		"include_dispute_form_link": false, "is_direct_checkout_onboarded": true, "is_etsy_payments_onboarded": true,
		"is_calculated_eligible": true, "is_opted_in_to_buyer_promise": true, "is_shop_us_based": s.Country == "US",
		"transaction_sold_count": sold, "shipping_from_country_iso": s.Country, "shop_location_country_iso": s.Country,
		"review_count": 0, "review_average": nil,
	}
}
