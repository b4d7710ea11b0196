// Package sandboxkit is what platform sandboxes share: a realistic, deterministic merchant catalog (products
// with variants, locations, stock and a few thousand orders) that each sandbox serves in its platform's wire
// format, a rate-limit bucket, fault injection and request counting. Wire formats and platform rules stay in
// each platform's sandbox.
package sandboxkit

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// Options size the catalog. Zero values take the defaults.
type Options struct {
	// Seed makes the catalog deterministic.
	Seed uint64
	// Orders (default 3000), Products (default 200), MaxVariants per product (default 4) and Locations
	// (default 4).
	Orders, Products, MaxVariants, Locations int
	// History is how far back orders go (default two years before End); End is the newest time (default now).
	History time.Duration
	End     time.Time
	// Currency of prices (default USD).
	Currency string
}

func (o Options) withDefaults() Options {
	if o.Orders == 0 {
		o.Orders = 3000
	}
	if o.Products == 0 {
		o.Products = 200
	}
	if o.MaxVariants == 0 {
		o.MaxVariants = 4
	}
	if o.Locations == 0 {
		o.Locations = 4
	}
	if o.History == 0 {
		o.History = 2 * 365 * 24 * time.Hour
	}
	if o.End.IsZero() {
		o.End = time.Now().UTC().Truncate(time.Second)
	}
	if o.Currency == "" {
		o.Currency = "USD"
	}
	return o
}

// Catalog is a merchant's data, platform-neutral. IDs are positive integers unique within their kind;
// sandboxes format them the way their platform does.
type Catalog struct {
	Currency  string
	Products  []Product
	Locations []Location
	Orders    []Order
	// Levels holds the stock of every variant at every location.
	Levels []Level
}

// Product is a sellable product with one or more variants.
type Product struct {
	ID          int64
	Title       string
	Handle      string
	Vendor      string
	Category    string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Variants    []Variant
}

// Variant is one SKU of a product.
type Variant struct {
	ID         int64
	ProductID  int64
	SKU        string
	Title      string // "Default Title" for single-variant products
	Option     string // the option value ("Small", "Blue / Large")
	Barcode    string
	PriceCents int64
	WeightGram int
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Location is a warehouse, store or fulfilment centre.
type Location struct {
	ID          int64
	Code        string
	Name        string
	Address1    string
	City        string
	Region      string
	PostalCode  string
	CountryCode string
	Active      bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Order is a customer order.
type Order struct {
	ID          int64
	Number      int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CancelledAt *time.Time
	// Status is one of pending, paid, fulfilled, partially_fulfilled, cancelled, refunded; sandboxes map it
	// to their platform's status words.
	Status        string
	Currency      string
	Customer      Customer
	Lines         []Line
	ShippingCents int64
	TaxCents      int64
	// LocationID is where it ships from.
	LocationID int64
}

// Customer is who ordered.
type Customer struct {
	ID          int64
	FirstName   string
	LastName    string
	Email       string
	City        string
	Region      string
	PostalCode  string
	CountryCode string
}

// Line is one order line.
type Line struct {
	ID         int64
	ProductID  int64
	VariantID  int64
	SKU        string
	Title      string
	Quantity   int
	PriceCents int64 // unit price
}

// Level is the stock of one variant at one location.
type Level struct {
	VariantID  int64
	LocationID int64
	Available  int
	OnHand     int
	Committed  int
	UpdatedAt  time.Time
}

// Subtotal is the sum of line prices.
func (o *Order) Subtotal() int64 {
	var s int64
	for _, l := range o.Lines {
		s += l.PriceCents * int64(l.Quantity)
	}
	return s
}

// Total is subtotal plus shipping and tax.
func (o *Order) Total() int64 { return o.Subtotal() + o.ShippingCents + o.TaxCents }

// Money formats cents as a decimal string, "12.50".
func Money(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

var (
	adjectives = []string{"Classic", "Organic", "Everyday", "Premium", "Vintage", "Urban", "Coastal", "Alpine",
		"Essential", "Heritage", "Nordic", "Sunset", "Midnight", "Trail", "Studio", "Harbor"}
	nouns = []string{"Tee", "Hoodie", "Mug", "Backpack", "Water Bottle", "Candle", "Notebook", "Cap", "Scarf",
		"Tote Bag", "Sneakers", "Socks", "Blanket", "Lamp", "Planter", "Jacket", "Apron", "Wallet"}
	vendors    = []string{"Acme Goods", "Northwind", "Blue Harbor Co", "Fernwood", "Oak & Ash"}
	categories = []string{"Apparel", "Home", "Accessories", "Outdoor", "Kitchen", "Stationery"}
	sizes      = []string{"Small", "Medium", "Large", "X-Large"}
	colours    = []string{"Black", "White", "Navy", "Olive", "Sand", "Red"}
	firstNames = []string{"Ava", "Noah", "Mia", "Liam", "Zoe", "Ethan", "Lena", "Omar", "Priya", "Kenji", "Sofia", "Lucas"}
	lastNames  = []string{"Smith", "Garcia", "Chen", "Müller", "Okafor", "Rossi", "Nguyen", "Kowalski", "Silva", "Brown"}
	places     = []struct{ city, region, zip, country, street string }{
		{"Columbus", "OH", "43215", "US", "1200 Logistics Pkwy"}, {"Reno", "NV", "89502", "US", "55 Distribution Way"},
		{"Toronto", "ON", "M5V 2T6", "CA", "400 Front St W"}, {"Rotterdam", "ZH", "3011 AA", "NL", "Blaak 10"},
		{"Atlanta", "GA", "30303", "US", "77 Peachtree St"}, {"Dallas", "TX", "75201", "US", "2100 Ross Ave"},
		{"Leeds", "WYK", "LS1 4AP", "GB", "12 Wellington St"}, {"Sydney", "NSW", "2000", "AU", "1 Market St"},
	}
	statuses = []struct {
		s string
		w int
	}{{"fulfilled", 60}, {"paid", 18}, {"partially_fulfilled", 6}, {"pending", 6}, {"cancelled", 6}, {"refunded", 4}}
)

// Generate builds a catalog. The same Options give the same catalog, except that End defaults to now.
func Generate(opts Options) *Catalog {
	o := opts.withDefaults()
	rnd := rand.New(rand.NewPCG(o.Seed, 0x7e7e7e))
	start := o.End.Add(-o.History)
	at := func(from time.Time) time.Time {
		span := o.End.Sub(from)
		if span <= 0 {
			return o.End
		}
		return from.Add(time.Duration(rnd.Int64N(int64(span)))).Truncate(time.Second)
	}
	c := &Catalog{Currency: o.Currency}

	for i := 0; i < o.Locations; i++ {
		p := places[i%len(places)]
		created := start.Add(-time.Duration(i+1) * 24 * time.Hour)
		c.Locations = append(c.Locations, Location{
			ID: int64(1001 + i), Code: fmt.Sprintf("WH-%s-%d", strings.ToUpper(p.city[:3]), i+1),
			Name: fmt.Sprintf("%s Warehouse", p.city), Address1: p.street, City: p.city, Region: p.region,
			PostalCode: p.zip, CountryCode: p.country, Active: i < o.Locations-1 || o.Locations < 3,
			CreatedAt: created, UpdatedAt: at(created),
		})
	}

	variantID := int64(40001)
	for i := 0; i < o.Products; i++ {
		adj, noun := adjectives[rnd.IntN(len(adjectives))], nouns[(i+rnd.IntN(3))%len(nouns)]
		title := fmt.Sprintf("%s %s", adj, noun)
		created := at(start.Add(-180 * 24 * time.Hour))
		p := Product{
			ID: int64(7001 + i), Title: title, Handle: strings.ToLower(strings.ReplaceAll(title, " ", "-")) + fmt.Sprintf("-%d", i+1),
			Vendor: vendors[rnd.IntN(len(vendors))], Category: categories[rnd.IntN(len(categories))],
			Description: fmt.Sprintf("The %s, made to last.", strings.ToLower(title)), CreatedAt: created,
		}
		n := 1 + rnd.IntN(o.MaxVariants)
		base := int64(500 + rnd.IntN(15000))
		code := fmt.Sprintf("%s-%s-%04d", strings.ToUpper(adj[:3]), strings.ToUpper(strings.ReplaceAll(noun, " ", "")[:3]), i+1)
		for v := 0; v < n; v++ {
			vt, opt := "Default Title", ""
			sku := code
			if n > 1 {
				opt = sizes[v%len(sizes)]
				if v >= len(sizes) {
					opt = colours[v%len(colours)] + " / " + opt
				}
				vt = opt
				sku = fmt.Sprintf("%s-%s", code, strings.ToUpper(strings.ReplaceAll(opt, " / ", "")[:2]))
				if v >= len(sizes) {
					sku += fmt.Sprint(v)
				}
			}
			vc := created.Add(time.Duration(v) * time.Minute)
			p.Variants = append(p.Variants, Variant{
				ID: variantID, ProductID: p.ID, SKU: sku, Title: vt, Option: opt,
				Barcode:    fmt.Sprintf("0%011d", 84000000000+variantID),
				PriceCents: base + int64(v)*200 - (base+int64(v)*200)%5, WeightGram: 100 + rnd.IntN(2000),
				CreatedAt: vc, UpdatedAt: at(vc),
			})
			variantID++
		}
		p.UpdatedAt = p.CreatedAt
		for _, v := range p.Variants {
			if v.UpdatedAt.After(p.UpdatedAt) {
				p.UpdatedAt = v.UpdatedAt
			}
		}
		c.Products = append(c.Products, p)
	}

	var variants []Variant
	for _, p := range c.Products {
		variants = append(variants, p.Variants...)
	}
	for _, v := range variants {
		for _, l := range c.Locations {
			onHand := rnd.IntN(400)
			committed := 0
			if onHand > 0 {
				committed = rnd.IntN(onHand/4 + 1)
			}
			c.Levels = append(c.Levels, Level{VariantID: v.ID, LocationID: l.ID, OnHand: onHand, Committed: committed,
				Available: onHand - committed, UpdatedAt: at(start)})
		}
	}

	totalWeight := 0
	for _, s := range statuses {
		totalWeight += s.w
	}
	lineID := int64(900001)
	for i := 0; i < o.Orders; i++ {
		created := at(start)
		pl := places[rnd.IntN(len(places))]
		cust := Customer{ID: int64(3001 + rnd.IntN(o.Orders/3+1)), FirstName: firstNames[rnd.IntN(len(firstNames))],
			LastName: lastNames[rnd.IntN(len(lastNames))], City: pl.city, Region: pl.region, PostalCode: pl.zip, CountryCode: pl.country}
		cust.Email = strings.ToLower(fmt.Sprintf("%s.%s%d@example.com", cust.FirstName, cust.LastName, cust.ID))
		ord := Order{ID: int64(500001 + i), CreatedAt: created, Currency: o.Currency, Customer: cust,
			LocationID: c.Locations[rnd.IntN(len(c.Locations))].ID, ShippingCents: int64(rnd.IntN(3) * 499)}
		w := rnd.IntN(totalWeight)
		for _, s := range statuses {
			if w < s.w {
				ord.Status = s.s
				break
			}
			w -= s.w
		}
		nLines := 1 + rnd.IntN(4)
		if i%97 == 0 {
			nLines = 12 // a few large orders, to exercise line pagination
		}
		for l := 0; l < nLines; l++ {
			v := variants[rnd.IntN(len(variants))]
			title := productTitle(c.Products, v)
			ord.Lines = append(ord.Lines, Line{ID: lineID, ProductID: v.ProductID, VariantID: v.ID, SKU: v.SKU,
				Title: title, Quantity: 1 + rnd.IntN(3), PriceCents: v.PriceCents})
			lineID++
		}
		ord.TaxCents = ord.Subtotal() * 8 / 100
		// Most orders change within days of creation (payment, fulfilment); some much later (refunds).
		upd := created.Add(time.Duration(rnd.Int64N(int64(72 * time.Hour))))
		if rnd.IntN(10) == 0 {
			upd = at(created)
		}
		if upd.After(o.End) {
			upd = o.End
		}
		ord.UpdatedAt = upd.Truncate(time.Second)
		if ord.Status == "cancelled" {
			t := ord.UpdatedAt
			ord.CancelledAt = &t
		}
		c.Orders = append(c.Orders, ord)
	}
	// Numbers follow creation order, as on every platform.
	idx := make([]int, len(c.Orders))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return c.Orders[idx[a]].CreatedAt.Before(c.Orders[idx[b]].CreatedAt) })
	for n, i := range idx {
		c.Orders[i].Number = 1001 + n
	}
	return c
}

func productTitle(ps []Product, v Variant) string {
	for _, p := range ps {
		if p.ID == v.ProductID {
			if v.Title == "Default Title" {
				return p.Title
			}
			return p.Title + " - " + v.Title
		}
	}
	return ""
}

// Variants lists every variant of the catalog.
func (c *Catalog) Variants() []Variant {
	var out []Variant
	for _, p := range c.Products {
		out = append(out, p.Variants...)
	}
	return out
}

// LineCount is the number of order lines.
func (c *Catalog) LineCount() int {
	n := 0
	for _, o := range c.Orders {
		n += len(o.Lines)
	}
	return n
}
