// Package storetest is the conformance suite of store.Store: the behaviour every implementation (SQLite,
// PostgreSQL, ...) must show, as one Run call from the implementation's tests.
//
// Besides what the store.Store documentation says, the suite holds implementations to these rules:
//
//   - Written+Skipped of a WritePage is the page's Batch.Len(). A record whose stored content is identical
//     (same fields, same times as instants, an order's lines as a set keyed by ExternalID, the same
//     channel) is Skipped; otherwise it is Written. A changed order's lines are replaced by the page's.
//   - When a page holds the same kind and ExternalID more than once, the last occurrence is stored and the
//     earlier ones count as Skipped.
//   - WritePage fails, storing neither records nor checkpoint, for a page with an empty Integration or
//     Entity, sales orders with an empty Channel, a record or order line with an empty ExternalID, two lines
//     with the same ExternalID in one order, or a context that is already done.
//   - WritePage creates the page's channel when EnsureChannel has not; a sales order rewritten under another
//     channel moves to it.
//   - Records of different integrations are separate, whatever their ExternalIDs.
//   - Times may come back in another location (UTC, typically) but are the same instants, to the
//     nanosecond; the zero time comes back zero. A kind with no records, and an order without lines, may be a
//     nil or an empty slice. Counts may leave out kinds with no records.
//   - WritePage, SaveCheckpoint and the reads may be called from several goroutines at once.
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tether/integration-operator/internal/store"
	"github.com/tether/integration-operator/internal/tether"
)

// Run runs the conformance suite. open must return a new, empty store for each call; the suite closes it.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Empty", testEmpty},
		{"RoundTrip", testRoundTrip},
		{"Idempotent", testIdempotent},
		{"Changed", testChanged},
		{"OrderLinesReplaced", testOrderLinesReplaced},
		{"DuplicatesInPage", testDuplicatesInPage},
		{"Checkpoints", testCheckpoints},
		{"AtomicFailure", testAtomicFailure},
		{"IntegrationIsolation", testIsolation},
		{"Channels", testChannels},
		{"Counts", testCounts},
		{"ConcurrentWriters", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

const (
	intA     = "shop/acme"
	intB     = "shop/globex"
	channelX = "sales/web"
	channelY = "sales/retail"
)

var (
	// zone gives the records non-UTC times, so that implementations are tested on instants, not locations.
	zone = time.FixedZone("UTC+2", 2*60*60)
	t0   = time.Date(2025, 3, 14, 15, 9, 26, 535897932, zone)
)

// at returns a time i seconds and i nanoseconds after t0.
func at(i int) time.Time { return t0.Add(time.Duration(i)*time.Second + time.Duration(i)) }

// skus, warehouses, levels and orders make n distinct records whose ExternalIDs start with prefix.
func skus(prefix string, n int) []tether.SKU {
	r := make([]tether.SKU, n)
	for i := range r {
		r[i] = tether.SKU{
			ExternalID: fmt.Sprintf("%s-sku-%04d", prefix, i),
			Code:       fmt.Sprintf("CODE-%d", i),
			Name:       fmt.Sprintf("Item %d ✓", i),
			ProductID:  fmt.Sprintf("%s-product-%d", prefix, i/3),
			Barcode:    fmt.Sprintf("40%011d", i),
			Price:      fmt.Sprintf("%d.%02d", 10+i, i%100),
			UpdatedAt:  at(i),
		}
	}
	return r
}

func warehouses(prefix string, n int) []tether.Warehouse {
	r := make([]tether.Warehouse, n)
	for i := range r {
		r[i] = tether.Warehouse{
			ExternalID: fmt.Sprintf("%s-wh-%04d", prefix, i),
			Name:       fmt.Sprintf("Warehouse %d", i),
			Code:       fmt.Sprintf("WH%d", i),
			Country:    "NL",
			Active:     i%2 == 0,
			UpdatedAt:  at(i),
		}
	}
	return r
}

func levels(prefix string, n int) []tether.InventoryLevel {
	r := make([]tether.InventoryLevel, n)
	for i := range r {
		r[i] = tether.InventoryLevel{
			ExternalID:          fmt.Sprintf("%s-level-%04d", prefix, i),
			SKUExternalID:       fmt.Sprintf("%s-sku-%04d", prefix, i),
			SKUCode:             fmt.Sprintf("CODE-%d", i),
			WarehouseExternalID: fmt.Sprintf("%s-wh-%04d", prefix, i%3),
			Available:           int64(i * 10),
			OnHand:              int64(i*10 + 5),
			Committed:           -int64(i),
			UpdatedAt:           at(i),
		}
	}
	return r
}

func orders(prefix string, n, lines int) []tether.SalesOrder {
	r := make([]tether.SalesOrder, n)
	for i := range r {
		o := tether.SalesOrder{
			ExternalID: fmt.Sprintf("%s-order-%04d", prefix, i),
			OrderID:    fmt.Sprintf("#%d", 1000+i),
			Status:     "open",
			Currency:   "EUR",
			Total:      fmt.Sprintf("%d.00", 100+i),
			OrderedAt:  at(i),
			UpdatedAt:  at(i + 1),
		}
		if i%5 == 4 {
			o.OrderedAt = time.Time{} // the zero time must round-trip
		}
		// Lines come in descending ExternalID order: the store sorts them.
		for j := lines - 1; j >= 0; j-- {
			o.Lines = append(o.Lines, tether.SalesOrderLine{
				ExternalID:    fmt.Sprintf("%s-line-%02d", o.ExternalID, j),
				SKUExternalID: fmt.Sprintf("%s-sku-%04d", prefix, j),
				SKUCode:       fmt.Sprintf("CODE-%d", j),
				Quantity:      int64(j + 1),
				Price:         fmt.Sprintf("%d.50", j),
			})
		}
		r[i] = o
	}
	return r
}

// fullBatch has records of every kind.
func fullBatch(prefix string) tether.Batch {
	return tether.Batch{
		SKUs:            skus(prefix, 7),
		Warehouses:      warehouses(prefix, 3),
		SalesOrders:     orders(prefix, 6, 3),
		InventoryLevels: levels(prefix, 5),
	}
}

// model is what a store should hold, kept by applying the same writes to plain maps.
type model struct {
	skus       map[string]tether.SKU
	warehouses map[string]tether.Warehouse
	orders     map[string]tether.SalesOrder
	levels     map[string]tether.InventoryLevel
	channels   map[string]string
}

func newModel() *model {
	return &model{
		skus:       map[string]tether.SKU{},
		warehouses: map[string]tether.Warehouse{},
		orders:     map[string]tether.SalesOrder{},
		levels:     map[string]tether.InventoryLevel{},
		channels:   map[string]string{},
	}
}

func (m *model) apply(w store.PageWrite) {
	for _, r := range w.Batch.SKUs {
		m.skus[r.ExternalID] = r
	}
	for _, r := range w.Batch.Warehouses {
		m.warehouses[r.ExternalID] = r
	}
	for _, r := range w.Batch.SalesOrders {
		m.orders[r.ExternalID] = r
		m.channels[r.ExternalID] = w.Channel
	}
	for _, r := range w.Batch.InventoryLevels {
		m.levels[r.ExternalID] = r
	}
}

func sortedValues[T any](m map[string]T) []T {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	r := make([]T, 0, len(keys))
	for _, k := range keys {
		r = append(r, m[k])
	}
	return r
}

func (m *model) snapshot() store.Snapshot {
	return store.Snapshot{
		SKUs:            sortedValues(m.skus),
		Warehouses:      sortedValues(m.warehouses),
		SalesOrders:     sortedValues(m.orders),
		InventoryLevels: sortedValues(m.levels),
		OrderChannels:   m.channels,
	}
}

func (m *model) counts() map[tether.Kind]int64 {
	var lines int64
	for _, o := range m.orders {
		lines += int64(len(o.Lines))
	}
	return map[tether.Kind]int64{
		tether.KindSKU:            int64(len(m.skus)),
		tether.KindWarehouse:      int64(len(m.warehouses)),
		tether.KindSalesOrder:     int64(len(m.orders)),
		tether.KindSalesOrderLine: lines,
		tether.KindInventoryLevel: int64(len(m.levels)),
	}
}

// normalize makes snapshots comparable with reflect.DeepEqual: times in UTC without monotonic readings,
// empty slices and maps nil, order lines sorted by ExternalID.
func normalize(s store.Snapshot) store.Snapshot {
	utc := func(t time.Time) time.Time {
		if t.IsZero() {
			return time.Time{}
		}
		return t.UTC().Round(0)
	}
	var n store.Snapshot
	for _, r := range s.SKUs {
		r.UpdatedAt = utc(r.UpdatedAt)
		n.SKUs = append(n.SKUs, r)
	}
	for _, r := range s.Warehouses {
		r.UpdatedAt = utc(r.UpdatedAt)
		n.Warehouses = append(n.Warehouses, r)
	}
	for _, r := range s.SalesOrders {
		r.OrderedAt, r.UpdatedAt = utc(r.OrderedAt), utc(r.UpdatedAt)
		var lines []tether.SalesOrderLine
		lines = append(lines, r.Lines...)
		slices.SortFunc(lines, func(a, b tether.SalesOrderLine) int { return strings.Compare(a.ExternalID, b.ExternalID) })
		r.Lines = lines
		n.SalesOrders = append(n.SalesOrders, r)
	}
	for _, r := range s.InventoryLevels {
		r.UpdatedAt = utc(r.UpdatedAt)
		n.InventoryLevels = append(n.InventoryLevels, r)
	}
	if len(s.OrderChannels) > 0 {
		n.OrderChannels = s.OrderChannels
	}
	return n
}

// checkSnapshot fails t unless the store's snapshot of integration is want's. It does not normalise order
// lines of the store's answer: the store must sort them.
func checkSnapshot(t *testing.T, s store.Store, integration string, want store.Snapshot) {
	t.Helper()
	got, err := s.Snapshot(context.Background(), integration)
	if err != nil {
		t.Fatalf("Snapshot(%s): %v", integration, err)
	}
	checkSorted(t, got)
	if g, w := normalize(got), normalize(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("Snapshot(%s) differs from what was written:\n%s", integration, diff(g, w))
	}
}

// checkSorted fails t unless every kind of the snapshot, and every order's lines, are sorted by ExternalID.
func checkSorted(t *testing.T, s store.Snapshot) {
	t.Helper()
	sorted := func(what string, n int, id func(i int) string) {
		for i := 1; i < n; i++ {
			if id(i-1) >= id(i) {
				t.Fatalf("Snapshot %s not sorted by ExternalID: %q before %q", what, id(i-1), id(i))
			}
		}
	}
	sorted("SKUs", len(s.SKUs), func(i int) string { return s.SKUs[i].ExternalID })
	sorted("Warehouses", len(s.Warehouses), func(i int) string { return s.Warehouses[i].ExternalID })
	sorted("SalesOrders", len(s.SalesOrders), func(i int) string { return s.SalesOrders[i].ExternalID })
	sorted("InventoryLevels", len(s.InventoryLevels), func(i int) string { return s.InventoryLevels[i].ExternalID })
	for _, o := range s.SalesOrders {
		sorted("lines of "+o.ExternalID, len(o.Lines), func(i int) string { return o.Lines[i].ExternalID })
	}
}

// diff describes the first differences between two normalised snapshots.
func diff(got, want store.Snapshot) string {
	var b strings.Builder
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		g, w := gv.Field(i), wv.Field(i)
		if reflect.DeepEqual(g.Interface(), w.Interface()) {
			continue
		}
		if g.Kind() == reflect.Slice {
			fmt.Fprintf(&b, "%s: got %d, want %d\n", name, g.Len(), w.Len())
			for j := range max(g.Len(), w.Len()) {
				switch {
				case j >= g.Len():
					fmt.Fprintf(&b, "  [%d] missing, want %+v\n", j, w.Index(j))
				case j >= w.Len():
					fmt.Fprintf(&b, "  [%d] got %+v, want none\n", j, g.Index(j))
				case !reflect.DeepEqual(g.Index(j).Interface(), w.Index(j).Interface()):
					fmt.Fprintf(&b, "  [%d] got  %+v\n       want %+v\n", j, g.Index(j), w.Index(j))
				default:
					continue
				}
				if b.Len() > 4000 {
					return b.String() + "...\n"
				}
			}
			continue
		}
		fmt.Fprintf(&b, "%s: got %v, want %v\n", name, g, w)
	}
	return b.String()
}

// checkCounts fails t unless the store's counts of integration are want's; missing kinds count zero.
func checkCounts(t *testing.T, s store.Store, integration string, want map[tether.Kind]int64) {
	t.Helper()
	got, err := s.Counts(context.Background(), integration)
	if err != nil {
		t.Fatalf("Counts(%s): %v", integration, err)
	}
	kinds := []tether.Kind{tether.KindSKU, tether.KindWarehouse, tether.KindSalesOrder, tether.KindSalesOrderLine, tether.KindInventoryLevel}
	for _, k := range kinds {
		if got[k] != want[k] {
			t.Errorf("Counts(%s)[%s] = %d, want %d (all: %v)", integration, k, got[k], want[k], got)
		}
	}
	for k, n := range got {
		if !slices.Contains(kinds, k) && n != 0 {
			t.Errorf("Counts(%s) has unknown kind %q = %d", integration, k, n)
		}
	}
}

// checkCheckpoint fails t unless the store's checkpoint of (integration, entity) is want.
func checkCheckpoint(t *testing.T, s store.Store, integration, entity string, want store.Checkpoint) {
	t.Helper()
	got, err := s.Checkpoint(context.Background(), integration, entity)
	if err != nil {
		t.Fatalf("Checkpoint(%s, %s): %v", integration, entity, err)
	}
	if !checkpointsEqual(got, want) {
		t.Fatalf("Checkpoint(%s, %s) = %+v, want %+v", integration, entity, got, want)
	}
}

func checkpointsEqual(a, b store.Checkpoint) bool {
	return a.Watermark.Equal(b.Watermark) && a.RunSince.Equal(b.RunSince) && a.RunMax.Equal(b.RunMax) &&
		a.Resume == b.Resume && a.Watermark.IsZero() == b.Watermark.IsZero() &&
		a.RunSince.IsZero() == b.RunSince.IsZero() && a.RunMax.IsZero() == b.RunMax.IsZero()
}

// write calls WritePage, fails t on an error, and checks the result against want.
func write(t *testing.T, s store.Store, w store.PageWrite, want store.WriteResult) {
	t.Helper()
	got, err := s.WritePage(context.Background(), w)
	if err != nil {
		t.Fatalf("WritePage(%s/%s): %v", w.Integration, w.Entity, err)
	}
	if got != want {
		t.Fatalf("WritePage(%s/%s) = %+v, want %+v", w.Integration, w.Entity, got, want)
	}
}

func page(integration, channel string, b tether.Batch, cp store.Checkpoint) store.PageWrite {
	return store.PageWrite{Integration: integration, Channel: channel, Entity: "Orders", Batch: b, Checkpoint: cp}
}

func written(n int) store.WriteResult { return store.WriteResult{Written: int64(n)} }

func testEmpty(t *testing.T, s store.Store) {
	ctx := context.Background()
	checkSnapshot(t, s, intA, store.Snapshot{})
	checkCounts(t, s, intA, nil)
	checkCheckpoint(t, s, intA, "Orders", store.Checkpoint{})
	got, err := s.ChannelOrders(ctx, channelX)
	if err != nil {
		t.Fatalf("ChannelOrders: %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("ChannelOrders of an empty store = %v, want none", got)
	}
}

func testRoundTrip(t *testing.T, s store.Store) {
	m := newModel()
	b := fullBatch("a")
	// Fields that are empty or extreme must round-trip too.
	b.SKUs = append(b.SKUs, tether.SKU{ExternalID: "a-sku-empty"})
	b.InventoryLevels = append(b.InventoryLevels, tether.InventoryLevel{ExternalID: "a-level-max",
		Available: 1<<63 - 1, OnHand: -1 << 63, UpdatedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)})
	b.SalesOrders = append(b.SalesOrders, tether.SalesOrder{ExternalID: "a-order-nolines", Total: "0"})
	w := page(intA, channelX, b, store.Checkpoint{Resume: "cursor-1", RunSince: at(-100), RunMax: at(5)})
	write(t, s, w, written(b.Len()))
	m.apply(w)
	checkSnapshot(t, s, intA, m.snapshot())
	checkCheckpoint(t, s, intA, "Orders", w.Checkpoint)
}

func testIdempotent(t *testing.T, s store.Store) {
	m := newModel()
	w := page(intA, channelX, fullBatch("a"), store.Checkpoint{Resume: "p1", RunSince: at(0)})
	n := w.Batch.Len()
	write(t, s, w, written(n))
	m.apply(w)
	checkSnapshot(t, s, intA, m.snapshot())

	// The same content again, in another order, with times in another location and lines reordered.
	again := fullBatch("a")
	slices.Reverse(again.SKUs)
	slices.Reverse(again.SalesOrders)
	for i := range again.SalesOrders {
		o := &again.SalesOrders[i]
		o.UpdatedAt = o.UpdatedAt.UTC()
		slices.Reverse(o.Lines)
	}
	w2 := page(intA, channelX, again, store.Checkpoint{Resume: "p2", RunSince: at(0)})
	write(t, s, w2, store.WriteResult{Skipped: int64(n)})
	checkSnapshot(t, s, intA, m.snapshot())
	checkCounts(t, s, intA, m.counts())
	// The checkpoint is saved even when every record was skipped.
	checkCheckpoint(t, s, intA, "Orders", w2.Checkpoint)
}

func testChanged(t *testing.T, s store.Store) {
	m := newModel()
	w := page(intA, channelX, fullBatch("a"), store.Checkpoint{})
	write(t, s, w, written(w.Batch.Len()))
	m.apply(w)

	b := fullBatch("a")
	b.SKUs[2].Price = "99.99"
	b.Warehouses[1].Active = !b.Warehouses[1].Active
	b.SalesOrders[3].Status = "shipped"
	b.SalesOrders[4].OrderedAt = at(44) // zero before
	b.InventoryLevels[0].UpdatedAt = b.InventoryLevels[0].UpdatedAt.Add(time.Nanosecond)
	b.InventoryLevels[4].Committed = 7
	// And one new record of each kind.
	b.SKUs = append(b.SKUs, skus("new", 1)...)
	b.Warehouses = append(b.Warehouses, warehouses("new", 1)...)
	b.SalesOrders = append(b.SalesOrders, orders("new", 1, 2)...)
	b.InventoryLevels = append(b.InventoryLevels, levels("new", 1)...)
	w = page(intA, channelX, b, store.Checkpoint{})
	write(t, s, w, store.WriteResult{Written: 6 + 4, Skipped: int64(b.Len() - 10)})
	m.apply(w)
	checkSnapshot(t, s, intA, m.snapshot())
	checkCounts(t, s, intA, m.counts())
}

func testOrderLinesReplaced(t *testing.T, s store.Store) {
	m := newModel()
	b := tether.Batch{SalesOrders: orders("a", 3, 4)}
	w := page(intA, channelX, b, store.Checkpoint{})
	write(t, s, w, written(3))
	m.apply(w)

	// Order 0: a line removed, one changed and one added. Order 1: all lines removed. Order 2: unchanged.
	b = tether.Batch{SalesOrders: orders("a", 3, 4)}
	o := &b.SalesOrders[0]
	o.Lines = slices.Delete(o.Lines, 1, 2)
	o.Lines[0].Quantity = 42
	o.Lines = append(o.Lines, tether.SalesOrderLine{ExternalID: "a-added-line", SKUCode: "X", Quantity: 1, Price: "1"})
	b.SalesOrders[1].Lines = nil
	w = page(intA, channelX, b, store.Checkpoint{})
	write(t, s, w, store.WriteResult{Written: 2, Skipped: 1})
	m.apply(w)
	checkSnapshot(t, s, intA, m.snapshot())
	checkCounts(t, s, intA, m.counts())

	// Lines come back when the order gets them again.
	b = tether.Batch{SalesOrders: orders("a", 3, 4)}
	w = page(intA, channelX, b, store.Checkpoint{})
	write(t, s, w, store.WriteResult{Written: 2, Skipped: 1})
	m.apply(w)
	checkSnapshot(t, s, intA, m.snapshot())
	checkCounts(t, s, intA, m.counts())
}

func testDuplicatesInPage(t *testing.T, s store.Store) {
	m := newModel()
	first := orders("a", 2, 2)
	last := orders("a", 2, 3)
	last[0].Status = "cancelled"
	sk := skus("a", 2)
	skChanged := skus("a", 1)
	skChanged[0].Name = "renamed"
	b := tether.Batch{
		SKUs:        append(sk, skChanged...),
		SalesOrders: []tether.SalesOrder{first[0], first[1], last[0]},
	}
	w := page(intA, channelX, b, store.Checkpoint{})
	write(t, s, w, store.WriteResult{Written: 4, Skipped: 2})
	m.apply(w)
	checkSnapshot(t, s, intA, m.snapshot())
	checkCounts(t, s, intA, m.counts())
}

func testCheckpoints(t *testing.T, s store.Store) {
	ctx := context.Background()
	cp1 := store.Checkpoint{Watermark: at(10)}
	cp2 := store.Checkpoint{Watermark: at(10), Resume: `{"cursor":"abc=="}`, RunSince: at(5), RunMax: at(20)}
	if err := s.SaveCheckpoint(ctx, intA, "Orders", cp1); err != nil {
		t.Fatalf("SaveCheckpoint: %v", err)
	}
	if err := s.SaveCheckpoint(ctx, intA, "Products", cp2); err != nil {
		t.Fatalf("SaveCheckpoint: %v", err)
	}
	checkCheckpoint(t, s, intA, "Orders", cp1)
	checkCheckpoint(t, s, intA, "Products", cp2)
	checkCheckpoint(t, s, intB, "Orders", store.Checkpoint{})
	checkCheckpoint(t, s, intA, "Inventory", store.Checkpoint{})

	// WritePage replaces the checkpoint of its entity only.
	w := page(intA, channelX, tether.Batch{SalesOrders: orders("a", 1, 1)}, cp2)
	write(t, s, w, written(1))
	checkCheckpoint(t, s, intA, "Orders", cp2)
	// A completed run: the resume state cleared.
	done := store.Checkpoint{Watermark: at(20)}
	if err := s.SaveCheckpoint(ctx, intA, "Orders", done); err != nil {
		t.Fatalf("SaveCheckpoint: %v", err)
	}
	checkCheckpoint(t, s, intA, "Orders", done)
	checkCheckpoint(t, s, intA, "Products", cp2)
}

func testAtomicFailure(t *testing.T, s store.Store) {
	m := newModel()
	cp := store.Checkpoint{Resume: "good", RunSince: at(1), RunMax: at(2)}
	good := page(intA, channelX, fullBatch("a"), cp)
	write(t, s, good, written(good.Batch.Len()))
	m.apply(good)

	// Each bad page changes stored records and adds new ones before the record that makes it fail, so a
	// store that wrote record by record without a transaction would show it.
	bad := func(edit func(w *store.PageWrite)) store.PageWrite {
		b := fullBatch("a")
		for i := range b.SKUs {
			b.SKUs[i].Price = "0.01"
		}
		for i := range b.SalesOrders {
			b.SalesOrders[i].Status = "changed"
			b.SalesOrders[i].Lines = b.SalesOrders[i].Lines[:1]
		}
		b.SalesOrders = append(b.SalesOrders, orders("new", 3, 2)...)
		b.InventoryLevels = append(b.InventoryLevels, levels("new", 2)...)
		w := page(intA, channelX, b, store.Checkpoint{Resume: "bad", RunMax: at(99)})
		edit(&w)
		return w
	}
	lastOrder := func(w *store.PageWrite) *tether.SalesOrder { return &w.Batch.SalesOrders[len(w.Batch.SalesOrders)-1] }
	cases := []struct {
		name string
		page store.PageWrite
		ctx  func() context.Context
	}{
		{"EmptyLineExternalID", bad(func(w *store.PageWrite) { lastOrder(w).Lines[1].ExternalID = "" }), nil},
		{"DuplicateLineExternalID", bad(func(w *store.PageWrite) {
			o := lastOrder(w)
			o.Lines[1].ExternalID = o.Lines[0].ExternalID
		}), nil},
		{"EmptyOrderExternalID", bad(func(w *store.PageWrite) { lastOrder(w).ExternalID = "" }), nil},
		{"EmptySKUExternalID", bad(func(w *store.PageWrite) {
			w.Batch.SKUs = append(w.Batch.SKUs, tether.SKU{Name: "no id"})
		}), nil},
		{"EmptyWarehouseExternalID", bad(func(w *store.PageWrite) {
			w.Batch.Warehouses = append(w.Batch.Warehouses, tether.Warehouse{Name: "no id"})
		}), nil},
		{"EmptyInventoryLevelExternalID", bad(func(w *store.PageWrite) {
			w.Batch.InventoryLevels = append(w.Batch.InventoryLevels, tether.InventoryLevel{Available: 1})
		}), nil},
		{"OrdersWithoutChannel", bad(func(w *store.PageWrite) { w.Channel = "" }), nil},
		{"EmptyEntity", bad(func(w *store.PageWrite) { w.Entity = "" }), nil},
		{"ContextDone", bad(func(*store.PageWrite) {}), func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.ctx != nil {
				ctx = tc.ctx()
			}
			res, err := s.WritePage(ctx, tc.page)
			if err == nil {
				t.Fatalf("WritePage = %+v, want an error", res)
			}
			checkSnapshot(t, s, intA, m.snapshot())
			checkCounts(t, s, intA, m.counts())
			checkCheckpoint(t, s, intA, "Orders", cp)
		})
	}
	// An empty integration stores nothing anywhere.
	w := bad(func(w *store.PageWrite) { w.Integration = "" })
	if res, err := s.WritePage(context.Background(), w); err == nil {
		t.Fatalf("WritePage with an empty integration = %+v, want an error", res)
	}
	checkSnapshot(t, s, "", store.Snapshot{})

	// The store still works after the failures.
	write(t, s, good, store.WriteResult{Skipped: int64(good.Batch.Len())})
}

func testIsolation(t *testing.T, s store.Store) {
	ma, mb := newModel(), newModel()
	wa := page(intA, channelX, fullBatch("same"), store.Checkpoint{Resume: "a"})
	write(t, s, wa, written(wa.Batch.Len()))
	ma.apply(wa)

	// The same ExternalIDs under another integration are new records, even with identical content.
	wb := page(intB, channelX, fullBatch("same"), store.Checkpoint{Resume: "b"})
	write(t, s, wb, written(wb.Batch.Len()))
	mb.apply(wb)
	// And changing them there leaves the first integration's alone.
	b := fullBatch("same")
	b.SKUs[0].Name = "only in B"
	b.SalesOrders[0].Lines = nil
	b.SalesOrders = b.SalesOrders[:2]
	wb = page(intB, channelY, b, store.Checkpoint{Resume: "b2"})
	write(t, s, wb, store.WriteResult{Written: 3, Skipped: int64(b.Len() - 3)})
	mb.apply(wb)

	checkSnapshot(t, s, intA, ma.snapshot())
	checkSnapshot(t, s, intB, mb.snapshot())
	checkCounts(t, s, intA, ma.counts())
	checkCounts(t, s, intB, mb.counts())
	checkCheckpoint(t, s, intA, "Orders", store.Checkpoint{Resume: "a"})
	checkCheckpoint(t, s, intB, "Orders", store.Checkpoint{Resume: "b2"})
}

func testChannels(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.EnsureChannel(ctx, channelX, "Web shop"); err != nil {
		t.Fatalf("EnsureChannel: %v", err)
	}
	if err := s.EnsureChannel(ctx, channelX, "Web shop (renamed)"); err != nil {
		t.Fatalf("EnsureChannel again: %v", err)
	}
	write(t, s, page(intA, channelX, tether.Batch{SalesOrders: orders("a", 5, 1)}, store.Checkpoint{}), written(5))
	write(t, s, page(intB, channelX, tether.Batch{SalesOrders: orders("b", 3, 1)}, store.Checkpoint{}), written(3))
	// channelY was never ensured: WritePage creates it.
	write(t, s, page("shop/initech", channelY, tether.Batch{SalesOrders: orders("c", 2, 1)}, store.Checkpoint{}), written(2))
	if err := s.EnsureChannel(ctx, channelY, "Retail"); err != nil {
		t.Fatalf("EnsureChannel of a channel WritePage created: %v", err)
	}
	checkChannel := func(channel string, want map[string]int64) {
		t.Helper()
		got, err := s.ChannelOrders(ctx, channel)
		if err != nil {
			t.Fatalf("ChannelOrders(%s): %v", channel, err)
		}
		if len(got) != len(want) {
			t.Fatalf("ChannelOrders(%s) = %v, want %v", channel, got, want)
		}
		for k, n := range want {
			if got[k] != n {
				t.Fatalf("ChannelOrders(%s) = %v, want %v", channel, got, want)
			}
		}
	}
	checkChannel(channelX, map[string]int64{intA: 5, intB: 3})
	checkChannel(channelY, map[string]int64{"shop/initech": 2})
	checkChannel("sales/none", nil)

	// Two of A's orders move to channelY: the same content under another channel is a change.
	m := newModel()
	m.apply(page(intA, channelX, tether.Batch{SalesOrders: orders("a", 5, 1)}, store.Checkpoint{}))
	w := page(intA, channelY, tether.Batch{SalesOrders: orders("a", 2, 1)}, store.Checkpoint{})
	write(t, s, w, written(2))
	m.apply(w)
	checkChannel(channelX, map[string]int64{intA: 3, intB: 3})
	checkChannel(channelY, map[string]int64{intA: 2, "shop/initech": 2})
	checkSnapshot(t, s, intA, m.snapshot())
}

func testCounts(t *testing.T, s store.Store) {
	b := tether.Batch{
		SKUs:            skus("a", 11),
		Warehouses:      warehouses("a", 2),
		SalesOrders:     orders("a", 9, 3),
		InventoryLevels: levels("a", 13),
	}
	write(t, s, page(intA, channelX, b, store.Checkpoint{}), written(b.Len()))
	want := map[tether.Kind]int64{
		tether.KindSKU:            11,
		tether.KindWarehouse:      2,
		tether.KindSalesOrder:     9,
		tether.KindSalesOrderLine: 27,
		tether.KindInventoryLevel: 13,
	}
	checkCounts(t, s, intA, want)
	checkCounts(t, s, intB, nil)
	// Counts grow with new records only.
	b2 := tether.Batch{SKUs: skus("a", 12), SalesOrders: orders("a", 10, 1)}
	write(t, s, page(intA, channelX, b2, store.Checkpoint{}), store.WriteResult{Written: 1 + 10, Skipped: 11})
	want[tether.KindSKU] = 12
	want[tether.KindSalesOrder] = 10
	want[tether.KindSalesOrderLine] = 10
	checkCounts(t, s, intA, want)
}

// testConcurrent has several integrations write pages of orders and inventory levels at once, while other
// goroutines read, and checks that nothing fails and everything is stored.
func testConcurrent(t *testing.T, s store.Store) {
	const (
		integrations = 6
		pages        = 8
		perPage      = 40
	)
	ctx := context.Background()
	var (
		wg   sync.WaitGroup
		errs = make(chan error, 4*integrations*pages)
		stop = make(chan struct{})
	)
	for i := range integrations {
		integ := fmt.Sprintf("shop/concurrent-%d", i)
		channel := []string{channelX, channelY}[i%2]
		for _, entity := range []string{"Orders", "Inventory"} {
			wg.Go(func() {
				for p := range pages {
					var b tether.Batch
					if entity == "Orders" {
						b.SalesOrders = orders(fmt.Sprintf("p%d", p), perPage, 2)
					} else {
						b.InventoryLevels = levels(fmt.Sprintf("p%d", p), perPage)
					}
					w := store.PageWrite{Integration: integ, Channel: channel, Entity: entity, Batch: b,
						Checkpoint: store.Checkpoint{Resume: fmt.Sprint(p), RunMax: at(p)}}
					res, err := s.WritePage(ctx, w)
					if err == nil && res != written(perPage) {
						err = fmt.Errorf("result %+v, want %d written", res, perPage)
					}
					if err != nil {
						errs <- fmt.Errorf("WritePage(%s/%s) page %d: %w", integ, entity, p, err)
						return
					}
				}
			})
		}
	}
	var readers sync.WaitGroup
	for i := range 3 {
		integ := fmt.Sprintf("shop/concurrent-%d", i)
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				snap, err := s.Snapshot(ctx, integ)
				if err == nil && len(snap.SalesOrders)%perPage != 0 {
					err = fmt.Errorf("snapshot with %d orders: saw a page half written", len(snap.SalesOrders))
				}
				if err == nil {
					_, err = s.Counts(ctx, integ)
				}
				if err == nil {
					_, err = s.ChannelOrders(ctx, channelX)
				}
				if err != nil {
					errs <- fmt.Errorf("reading %s: %w", integ, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	for i := range integrations {
		integ := fmt.Sprintf("shop/concurrent-%d", i)
		checkCounts(t, s, integ, map[tether.Kind]int64{
			tether.KindSalesOrder:     pages * perPage,
			tether.KindSalesOrderLine: pages * perPage * 2,
			tether.KindInventoryLevel: pages * perPage,
		})
		for _, entity := range []string{"Orders", "Inventory"} {
			checkCheckpoint(t, s, integ, entity, store.Checkpoint{Resume: fmt.Sprint(pages - 1), RunMax: at(pages - 1)})
		}
	}
	got, err := s.ChannelOrders(ctx, channelX)
	if err != nil {
		t.Fatalf("ChannelOrders: %v", err)
	}
	if len(got) != integrations/2 {
		t.Fatalf("ChannelOrders(%s) = %v, want %d integrations", channelX, got, integrations/2)
	}
	for integ, n := range got {
		if n != pages*perPage {
			t.Errorf("ChannelOrders(%s)[%s] = %d, want %d", channelX, integ, n, pages*perPage)
		}
	}
}
