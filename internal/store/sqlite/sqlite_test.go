package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tether/integration-operator/internal/store"
	"github.com/tether/integration-operator/internal/store/storetest"
	"github.com/tether/integration-operator/internal/tether"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestConformanceInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), ":memory:")
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	cp := store.Checkpoint{
		Watermark: time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("x", -3600)),
		Resume:    "cursor",
		RunSince:  time.Date(2024, 12, 31, 0, 0, 0, 1, time.UTC),
		RunMax:    time.Date(2025, 1, 3, 0, 0, 0, 999999999, time.UTC),
	}
	w := store.PageWrite{
		Integration: "ns/shop",
		Channel:     "ns/web",
		Entity:      "Orders",
		Batch:       benchBatch(0, 10, 3),
		Checkpoint:  cp,
	}
	w.Batch.SKUs = []tether.SKU{{ExternalID: "sku-1", Code: "A", UpdatedAt: time.Now()}}
	if _, err := s.WritePage(ctx, w); err != nil {
		t.Fatalf("WritePage: %v", err)
	}
	if err := s.SaveCheckpoint(ctx, "ns/shop", "Products", store.Checkpoint{Watermark: cp.RunMax}); err != nil {
		t.Fatalf("SaveCheckpoint: %v", err)
	}
	before, err := s.Snapshot(ctx, "ns/shop")
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	after, err := s.Snapshot(ctx, "ns/shop")
	if err != nil {
		t.Fatalf("Snapshot after reopen: %v", err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("Snapshot after reopen differs:\nbefore %+v\nafter  %+v", before, after)
	}
	if len(after.SalesOrders) != 10 || len(after.SalesOrders[0].Lines) != 3 || len(after.SKUs) != 1 {
		t.Fatalf("Snapshot after reopen = %+v, want 10 orders of 3 lines and 1 SKU", after)
	}
	if got, err := s.Checkpoint(ctx, "ns/shop", "Orders"); err != nil || !got.Watermark.Equal(cp.Watermark) ||
		got.Resume != cp.Resume || !got.RunSince.Equal(cp.RunSince) || !got.RunMax.Equal(cp.RunMax) {
		t.Fatalf("Checkpoint after reopen = %+v, %v; want %+v", got, err, cp)
	}
	if got, err := s.Checkpoint(ctx, "ns/shop", "Products"); err != nil || !got.Watermark.Equal(cp.RunMax) {
		t.Fatalf("Checkpoint(Products) after reopen = %+v, %v", got, err)
	}
	// The stored hashes survive too: the same page is skipped.
	res, err := s.WritePage(ctx, w)
	if err != nil || res != (store.WriteResult{Skipped: 11}) {
		t.Fatalf("WritePage after reopen = %+v, %v; want 11 skipped", res, err)
	}
}

// TestTwoStoresOneFile has two Stores (as two processes would) write the same database file at once: the
// busy timeout and immediate transactions must keep SQLITE_BUSY from reaching the caller.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	var stores [2]*Store
	for i := range stores {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer s.Close()
		stores[i] = s
	}
	const pages = 10
	var wg sync.WaitGroup
	errs := make(chan error, len(stores)*pages)
	for i, s := range stores {
		wg.Go(func() {
			for p := range pages {
				w := store.PageWrite{Integration: fmt.Sprintf("ns/shop-%d", i), Channel: "ns/web", Entity: "Orders",
					Batch: benchBatch(p*50, 50, 2)}
				if _, err := s.WritePage(ctx, w); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := stores[1].ChannelOrders(ctx, "ns/web")
	if err != nil {
		t.Fatalf("ChannelOrders: %v", err)
	}
	if want := map[string]int64{"ns/shop-0": pages * 50, "ns/shop-1": pages * 50}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ChannelOrders = %v, want %v", got, want)
	}
}

func TestSchemaVersion(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	defer s.Close()
	var v int
	if err := s.write.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != len(migrations) {
		t.Fatalf("user_version = %d, want %d", v, len(migrations))
	}
	var mode string
	if err := s.read.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.write.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v; want 1", fk, err)
	}
}

func TestNewerSchemaRejected(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := s.write.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(ctx, path); err == nil {
		s.Close()
		t.Fatal("Open of a database with a newer schema succeeded")
	}
}

func TestInvalidWrapsErrInvalid(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	_, err := s.WritePage(context.Background(), store.PageWrite{Integration: "ns/x", Entity: "Orders",
		Batch: tether.Batch{SKUs: []tether.SKU{{}}}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("WritePage of a SKU without ExternalID: %v, want ErrInvalid", err)
	}
	_, err = s.WritePage(context.Background(), store.PageWrite{Integration: "ns/x", Entity: "Orders",
		Batch: tether.Batch{SKUs: []tether.SKU{{ExternalID: "a", UpdatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("WritePage of a time in year 10000: %v, want ErrInvalid", err)
	}
}

func TestChunks(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 127, 128, 129, 250, 1000} {
		next, total := 0, 0
		err := chunks(n, func(start, count, stmt int) error {
			if start != next || count != 1<<stmt || stmt > maxRowsLog2 {
				return fmt.Errorf("chunk start %d count %d stmt %d after %d", start, count, stmt, next)
			}
			next += count
			total += count
			return nil
		})
		if err != nil || total != n {
			t.Fatalf("chunks(%d): total %d, %v", n, total, err)
		}
	}
}

func TestIsMemory(t *testing.T) {
	for dsn, want := range map[string]bool{
		":memory:":                               true,
		":memory:?_pragma=foo(1)":                true,
		"file::memory:?cache=shared":             true,
		"file:x?mode=memory&cache=shared":        true,
		"/var/lib/tether/store.db":               false,
		"file:/var/lib/tether/store.db?mode=rwc": false,
	} {
		if got := isMemory(dsn); got != want {
			t.Errorf("isMemory(%q) = %v, want %v", dsn, got, want)
		}
	}
}

// benchBatch returns n orders of lines lines each, with ExternalIDs numbered from first.
func benchBatch(first, n, lines int) tether.Batch {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	b := tether.Batch{SalesOrders: make([]tether.SalesOrder, n)}
	for i := range n {
		id := first + i
		o := tether.SalesOrder{
			ExternalID: fmt.Sprintf("gid://shopify/Order/%d", 5000000000+id),
			OrderID:    fmt.Sprintf("#%d", 1000+id),
			Status:     "paid",
			Currency:   "EUR",
			Total:      fmt.Sprintf("%d.95", 10+id%500),
			OrderedAt:  t0.Add(time.Duration(id) * time.Second),
			UpdatedAt:  t0.Add(time.Duration(id)*time.Second + time.Minute),
			Lines:      make([]tether.SalesOrderLine, lines),
		}
		for j := range lines {
			o.Lines[j] = tether.SalesOrderLine{
				ExternalID:    fmt.Sprintf("gid://shopify/LineItem/%d", (5000000000+id)*10+j),
				SKUExternalID: fmt.Sprintf("gid://shopify/ProductVariant/%d", 40000+j),
				SKUCode:       fmt.Sprintf("SKU-%d", j),
				Quantity:      int64(j + 1),
				Price:         "9.95",
			}
		}
		b.SalesOrders[i] = o
	}
	return b
}

const (
	benchPage  = 250
	benchLines = 3
)

// BenchmarkWritePageOrders writes pages of new orders into a file database.
func BenchmarkWritePageOrders(b *testing.B) {
	ctx := context.Background()
	s := openTemp(b)
	defer s.Close()
	pages := make([]tether.Batch, 0, 64)
	for i := range cap(pages) {
		pages = append(pages, benchBatch(i*benchPage, benchPage, benchLines))
	}
	b.ResetTimer()
	n := 0
	for i := range b.N {
		// After the first 64 pages, new IDs are made on the fly, outside the timer.
		batch := pages[i%len(pages)]
		if i >= len(pages) {
			b.StopTimer()
			batch = benchBatch(i*benchPage, benchPage, benchLines)
			b.StartTimer()
		}
		res, err := s.WritePage(ctx, store.PageWrite{Integration: "ns/shop", Channel: "ns/web", Entity: "Orders",
			Batch: batch, Checkpoint: store.Checkpoint{Resume: fmt.Sprint(i)}})
		if err != nil {
			b.Fatal(err)
		}
		if res.Written != benchPage {
			b.Fatalf("WritePage = %+v, want %d written", res, benchPage)
		}
		n += benchPage
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "orders/s")
}

// BenchmarkWritePageSkipped rewrites pages of orders the database already holds unchanged.
func BenchmarkWritePageSkipped(b *testing.B) {
	ctx := context.Background()
	s := openTemp(b)
	defer s.Close()
	pages := make([]store.PageWrite, 16)
	for i := range pages {
		pages[i] = store.PageWrite{Integration: "ns/shop", Channel: "ns/web", Entity: "Orders",
			Batch: benchBatch(i*benchPage, benchPage, benchLines)}
		if _, err := s.WritePage(ctx, pages[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		res, err := s.WritePage(ctx, pages[i%len(pages)])
		if err != nil {
			b.Fatal(err)
		}
		if res.Skipped != benchPage {
			b.Fatalf("WritePage = %+v, want %d skipped", res, benchPage)
		}
	}
	b.ReportMetric(float64(b.N*benchPage)/b.Elapsed().Seconds(), "orders/s")
}
