package shopify

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// SeedOptions controls the data a Sandbox is seeded with. The same options (including Seed and End) always
// produce the same data.
type SeedOptions struct {
	// Seed drives every random choice.
	Seed uint64
	// Orders is the number of orders (default 3000).
	Orders int
	// Products is the number of products (default 200); each has 1 to MaxVariants variants.
	Products int
	// MaxVariants is the largest number of variants a product gets (default 4).
	MaxVariants int
	// Locations is the number of locations (default 4, at most 8). Every variant is stocked at every location.
	Locations int
	// LargeOrderEvery makes every n-th order a large one with 20 to 60 lines, so line items need their own
	// pages (default 97; negative disables).
	LargeOrderEvery int
	// History is how far back the data reaches (default two years).
	History time.Duration
	// End is the newest timestamp in the seeded data (default one minute before now, to the second).
	End time.Time
}

func (o SeedOptions) withDefaults() SeedOptions {
	if o.Orders == 0 {
		o.Orders = 3000
	}
	if o.Products <= 0 {
		o.Products = 200
	}
	if o.MaxVariants <= 0 {
		o.MaxVariants = 4
	}
	if o.Locations <= 0 {
		o.Locations = 4
	}
	if o.Locations > len(seedLocations) {
		o.Locations = len(seedLocations)
	}
	if o.LargeOrderEvery == 0 {
		o.LargeOrderEvery = 97
	}
	if o.History <= 0 {
		o.History = 2 * 365 * 24 * time.Hour
	}
	if o.End.IsZero() {
		o.End = time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	}
	o.End = o.End.UTC().Truncate(time.Second)
	return o
}

// Order is a seeded order. Money is kept in cents and rendered as Shopify's decimal strings.
type Order struct {
	ID                int64
	Number            int
	CreatedAt         time.Time
	UpdatedAt         time.Time
	CancelledAt       *time.Time
	FinancialStatus   string // an OrderDisplayFinancialStatus value, e.g. PAID
	FulfillmentStatus string // an OrderDisplayFulfillmentStatus value, e.g. FULFILLED
	Currency          string
	Lines             []LineItem
}

// Name is the order name the merchant sees, for example "#1001".
func (o Order) Name() string { return fmt.Sprintf("#%d", o.Number) }

// TotalCents is the order total in cents.
func (o Order) TotalCents() int64 {
	var t int64
	for _, l := range o.Lines {
		t += l.UnitPriceCents * int64(l.Quantity)
	}
	return t
}

// GID is the order's global ID.
func (o Order) GID() string { return gid("Order", o.ID) }

// LineItem is one line of a seeded order.
type LineItem struct {
	ID             int64
	VariantID      int64
	SKU            string
	Title          string
	Quantity       int
	UnitPriceCents int64
}

// Product is a seeded product with its variants.
type Product struct {
	ID          int64
	Title       string
	Handle      string
	Vendor      string
	ProductType string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Variants    []Variant
}

// Variant is a seeded product variant; its inventory item has the same SKU.
type Variant struct {
	ID              int64
	ProductID       int64
	InventoryItemID int64
	SKU             string
	Title           string
	Barcode         string
	PriceCents      int64
	Position        int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Location is a seeded location.
type Location struct {
	ID          int64
	Name        string
	IsActive    bool
	Address1    string
	City        string
	Province    string
	Zip         string
	Country     string
	CountryCode string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// InventoryLevel is the stock of one variant's inventory item at one location.
type InventoryLevel struct {
	ID              int64
	InventoryItemID int64
	VariantID       int64
	SKU             string
	LocationID      int64
	Available       int
	Committed       int
	OnHand          int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// internal, mutable state: pointers so mutations are seen by every index.
type sbOrder struct{ Order }
type sbProduct struct {
	Product
	variants []*sbVariant
}
type sbVariant struct {
	Variant
	product *sbProduct
	item    *sbItem
}
type sbItem struct {
	ID        int64
	variant   *sbVariant
	CreatedAt time.Time
	UpdatedAt time.Time
	levels    []*sbLevel
}
type sbLocation struct{ Location }
type sbLevel struct {
	InventoryLevel
	item     *sbItem
	location *sbLocation
}

type store struct {
	orders    []*sbOrder
	products  []*sbProduct
	variants  map[int64]*sbVariant
	items     []*sbItem
	locations []*sbLocation
	levels    []*sbLevel
	lastTick  time.Time
	nextID    map[string]int64
	nextOrder int
}

// ID bases keep each kind's numeric IDs in a realistic range.
var idBase = map[string]int64{
	"Order":          5_600_000_000_000,
	"LineItem":       14_100_000_000_000,
	"Product":        8_100_000_000_000,
	"ProductVariant": 45_200_000_000_000,
	"InventoryItem":  47_300_000_000_000,
	"InventoryLevel": 120_000_000_000,
	"Location":       71_000_000_000,
	"BulkOperation":  3_900_000_000_000,
}

func (st *store) id(kind string) int64 {
	st.nextID[kind]++
	return idBase[kind] + st.nextID[kind]
}

var seedLocations = []Location{
	{Name: "Main Warehouse", Address1: "500 Commerce Way", City: "Columbus", Province: "Ohio", Zip: "43004", Country: "United States", CountryCode: "US"},
	{Name: "East Coast DC", Address1: "12 Harbor Rd", City: "Edison", Province: "New Jersey", Zip: "08817", Country: "United States", CountryCode: "US"},
	{Name: "Toronto Fulfilment", Address1: "88 Front St W", City: "Toronto", Province: "Ontario", Zip: "M5J 2N8", Country: "Canada", CountryCode: "CA"},
	{Name: "Berlin Store", Address1: "Friedrichstrasse 68", City: "Berlin", Province: "Berlin", Zip: "10117", Country: "Germany", CountryCode: "DE"},
	{Name: "London Shop", Address1: "221 Oxford St", City: "London", Province: "England", Zip: "W1D 2LL", Country: "United Kingdom", CountryCode: "GB"},
	{Name: "Sydney Depot", Address1: "4 Bourke Rd", City: "Alexandria", Province: "New South Wales", Zip: "2015", Country: "Australia", CountryCode: "AU"},
	{Name: "Dallas Overflow", Address1: "900 Logistics Blvd", City: "Dallas", Province: "Texas", Zip: "75201", Country: "United States", CountryCode: "US"},
	{Name: "Pop-up Market", Address1: "1 Pier 39", City: "San Francisco", Province: "California", Zip: "94133", Country: "United States", CountryCode: "US"},
}

var (
	adjectives = []string{"Everyday", "Classic", "Organic", "Rugged", "Lightweight", "Heritage", "Urban", "Alpine", "Coastal", "Essential", "Premium", "Vintage"}
	materials  = []string{"Linen", "Cotton", "Merino", "Canvas", "Leather", "Bamboo", "Ceramic", "Steel", "Oak", "Wool"}
	nouns      = []struct{ noun, typ, code string }{
		{"Shirt", "Apparel", "SH"}, {"Hoodie", "Apparel", "HD"}, {"Tote Bag", "Bags", "TB"}, {"Backpack", "Bags", "BP"},
		{"Mug", "Kitchen", "MG"}, {"Water Bottle", "Kitchen", "WB"}, {"Beanie", "Accessories", "BN"}, {"Scarf", "Accessories", "SC"},
		{"Notebook", "Stationery", "NB"}, {"Candle", "Home", "CD"}, {"Blanket", "Home", "BL"}, {"Sneaker", "Footwear", "SN"},
	}
	vendors    = []string{"Northwind Goods", "Tether Supply Co", "Blue Harbor", "Kestrel & Pine"}
	sizes      = []string{"S", "M", "L", "XL"}
	colors     = []struct{ name, code string }{{"Black", "BLK"}, {"Navy", "NVY"}, {"Sand", "SND"}, {"Forest", "FRS"}, {"Rust", "RST"}}
	financials = []string{"PAID", "PAID", "PAID", "PAID", "PAID", "PAID", "PENDING", "AUTHORIZED", "PARTIALLY_REFUNDED", "REFUNDED"}
)

func seedStore(o SeedOptions) *store {
	o = o.withDefaults()
	r := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5eed5eed5eed5eed))
	st := &store{variants: map[int64]*sbVariant{}, nextID: map[string]int64{}, nextOrder: 1001}
	start := o.End.Add(-o.History)
	between := func(a, b time.Time) time.Time {
		if !b.After(a) {
			return a
		}
		return a.Add(time.Duration(r.Int64N(int64(b.Sub(a))))).Truncate(time.Second)
	}

	for i := 0; i < o.Locations; i++ {
		l := seedLocations[i]
		l.ID = st.id("Location")
		l.IsActive = true
		l.CreatedAt = start.Add(time.Duration(i) * 24 * time.Hour)
		l.UpdatedAt = between(l.CreatedAt, o.End)
		st.locations = append(st.locations, &sbLocation{l})
	}

	for i := 0; i < o.Products; i++ {
		n := nouns[r.IntN(len(nouns))]
		title := fmt.Sprintf("%s %s %s", adjectives[r.IntN(len(adjectives))], materials[r.IntN(len(materials))], n.noun)
		p := &sbProduct{Product: Product{
			ID:          st.id("Product"),
			Title:       title,
			Handle:      fmt.Sprintf("%s-%d", strings.ToLower(strings.ReplaceAll(title, " ", "-")), i+1),
			Vendor:      vendors[r.IntN(len(vendors))],
			ProductType: n.typ,
			CreatedAt:   between(start, o.End.Add(-30*24*time.Hour)),
		}}
		price := int64(5+r.IntN(195))*100 + []int64{0, 95, 99, 50}[r.IntN(4)]
		nv := 1 + r.IntN(o.MaxVariants)
		color := colors[r.IntN(len(colors))]
		for v := 0; v < nv; v++ {
			vt, vc := "Default Title", "OS"
			if nv > 1 {
				vt, vc = sizes[v%len(sizes)]+" / "+color.name, sizes[v%len(sizes)]+"-"+color.code
				if v >= len(sizes) {
					vt += fmt.Sprintf(" %d", v)
					vc += fmt.Sprintf("%d", v)
				}
			}
			created := p.CreatedAt.Add(time.Duration(v) * time.Minute)
			sv := &sbVariant{Variant: Variant{
				ID:         st.id("ProductVariant"),
				ProductID:  p.ID,
				SKU:        fmt.Sprintf("%s-%04d-%s", n.code, i+1, vc),
				Title:      vt,
				Barcode:    fmt.Sprintf("0%011d", r.Int64N(1e11)),
				PriceCents: price + int64(v)*100,
				Position:   v + 1,
				CreatedAt:  created,
				UpdatedAt:  between(created, o.End),
			}, product: p}
			item := &sbItem{ID: st.id("InventoryItem"), variant: sv, CreatedAt: created, UpdatedAt: between(created, o.End)}
			sv.InventoryItemID = item.ID
			sv.item = item
			if sv.UpdatedAt.After(p.UpdatedAt) {
				p.UpdatedAt = sv.UpdatedAt
			}
			p.variants = append(p.variants, sv)
			st.variants[sv.ID] = sv
			st.items = append(st.items, item)
			for _, loc := range st.locations {
				committed := r.IntN(8)
				avail := r.IntN(250)
				lv := &sbLevel{InventoryLevel: InventoryLevel{
					ID:              st.id("InventoryLevel"),
					InventoryItemID: item.ID,
					VariantID:       sv.ID,
					LocationID:      loc.ID,
					Available:       avail,
					Committed:       committed,
					OnHand:          avail + committed,
					CreatedAt:       created,
					UpdatedAt:       between(created, o.End),
				}, item: item, location: loc}
				item.levels = append(item.levels, lv)
				st.levels = append(st.levels, lv)
			}
		}
		if p.UpdatedAt.Before(p.CreatedAt) {
			p.UpdatedAt = p.CreatedAt
		}
		st.products = append(st.products, p)
	}

	allVariants := make([]*sbVariant, 0, len(st.variants))
	for _, p := range st.products {
		allVariants = append(allVariants, p.variants...)
	}
	created := make([]time.Time, o.Orders)
	for i := range created {
		created[i] = between(start, o.End)
	}
	sort.Slice(created, func(i, j int) bool { return created[i].Before(created[j]) })
	for i := 0; i < o.Orders && len(allVariants) > 0; i++ {
		nl := 1 + r.IntN(4)
		if o.LargeOrderEvery > 0 && (i+1)%o.LargeOrderEvery == 0 {
			nl = 20 + r.IntN(41)
		}
		ord := &sbOrder{Order{
			ID:                st.id("Order"),
			Number:            st.nextOrder,
			CreatedAt:         created[i],
			FinancialStatus:   financials[r.IntN(len(financials))],
			FulfillmentStatus: "FULFILLED",
			Currency:          "USD",
		}}
		st.nextOrder++
		// Orders change for a few weeks after they are placed (payment, fulfilment, refunds).
		ord.UpdatedAt = between(ord.CreatedAt, minTime(ord.CreatedAt.Add(20*24*time.Hour), o.End))
		if o.End.Sub(ord.CreatedAt) < 3*24*time.Hour {
			ord.FulfillmentStatus = []string{"UNFULFILLED", "PARTIALLY_FULFILLED", "FULFILLED"}[r.IntN(3)]
		}
		if r.IntN(50) == 0 {
			c := between(ord.CreatedAt, ord.UpdatedAt)
			ord.CancelledAt = &c
			ord.FinancialStatus = "REFUNDED"
			ord.FulfillmentStatus = "UNFULFILLED"
		}
		for l := 0; l < nl; l++ {
			v := allVariants[r.IntN(len(allVariants))]
			ord.Lines = append(ord.Lines, LineItem{
				ID:             st.id("LineItem"),
				VariantID:      v.ID,
				SKU:            v.SKU,
				Title:          v.product.Title,
				Quantity:       1 + r.IntN(3),
				UnitPriceCents: v.PriceCents,
			})
		}
		st.orders = append(st.orders, ord)
	}
	st.lastTick = o.End
	return st
}

// tick returns a modification time that is now, but always at least a second after the previous one, so
// every mutation moves updatedAt strictly forward at Shopify's one-second resolution.
func (st *store) tick(now time.Time) time.Time {
	t := now.UTC().Truncate(time.Second)
	if !t.After(st.lastTick) {
		t = st.lastTick.Add(time.Second)
	}
	st.lastTick = t
	return t
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func cents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

func gid(kind string, id int64) string { return fmt.Sprintf("gid://shopify/%s/%d", kind, id) }

func (p *sbProduct) snapshot() Product {
	out := p.Product
	out.Variants = make([]Variant, len(p.variants))
	for i, v := range p.variants {
		out.Variants[i] = v.Variant
	}
	return out
}

func (o *sbOrder) snapshot() Order {
	out := o.Order
	out.Lines = append([]LineItem(nil), o.Lines...)
	if o.CancelledAt != nil {
		c := *o.CancelledAt
		out.CancelledAt = &c
	}
	return out
}
