package engine_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/shopify"
	"github.com/tether/integration-operator/internal/engine"
	"github.com/tether/integration-operator/internal/mapping"
	"github.com/tether/integration-operator/internal/store"
	"github.com/tether/integration-operator/internal/store/sqlite"
	"github.com/tether/integration-operator/internal/tether"
)

const integration = "shop/acme"

var allEntities = []v1alpha1.DataType{v1alpha1.DataLocations, v1alpha1.DataProducts, v1alpha1.DataInventory, v1alpha1.DataOrders}

type fixture struct {
	sb  *shopify.Sandbox
	url string
}

func newFixture(t testing.TB, orders int) *fixture {
	sb := shopify.NewSandbox(shopify.SandboxOptions{
		Unlimited:           true,
		BulkPollsToComplete: 1,
		BulkRunTime:         20 * time.Millisecond,
		Seed:                shopify.SeedOptions{Seed: 7, Orders: orders, Products: 40, Locations: 3},
	})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &fixture{sb: sb, url: srv.URL}
}

func (f *fixture) job(t testing.TB, st store.Store) engine.Job {
	p, ok := connectors.Lookup(v1alpha1.PlatformShopify)
	if !ok {
		t.Fatal("shopify is not registered")
	}
	conn, err := p.New(connectors.Config{
		Connection:  v1alpha1.Connection{ShopDomain: "acme.myshopify.com", Endpoint: f.url},
		Credentials: map[string][]byte{"accessToken": []byte(f.sb.AccessToken())},
		HTTPClient:  &http.Client{Timeout: 30 * time.Second},
		Log:         logr.Discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Poll bulk jobs quickly: the sandbox finishes them in milliseconds.
	sc := conn.(*shopify.Connector)
	sc.BulkPollInterval, sc.BulkMaxPollInterval = 5*time.Millisecond, 50*time.Millisecond
	m, err := mapping.Compile(p.DefaultMapping, nil)
	if err != nil {
		t.Fatal(err)
	}
	return engine.Job{
		Integration:  integration,
		Channel:      "shop/online",
		Connector:    conn,
		Mapping:      m,
		Entities:     allEntities,
		HistoryStart: time.Now().Add(-5 * 365 * 24 * time.Hour),
		Overlap:      5 * time.Minute,
	}
}

func openStore(t testing.TB) *sqlite.Store {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tether.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// crashingStore stops the process, as far as the engine can tell, at one page boundary: either just before a
// page is committed, or just after.
type crashingStore struct {
	store.Store
	pages       atomic.Int64
	crashAt     int64
	afterCommit bool
}

var errKilled = errors.New("killed")

func (s *crashingStore) WritePage(ctx context.Context, w store.PageWrite) (store.WriteResult, error) {
	n := s.pages.Add(1)
	if n == s.crashAt && !s.afterCommit {
		return store.WriteResult{}, errKilled
	}
	res, err := s.Store.WritePage(ctx, w)
	if n == s.crashAt && err == nil {
		return store.WriteResult{}, errKilled
	}
	return res, err
}

func TestCrashAtEveryPageBoundaryResumesToTheSameResult(t *testing.T) {
	f := newFixture(t, 1200)

	// The uninterrupted run.
	ref := openStore(t)
	counting := &crashingStore{Store: ref}
	res := (&engine.Engine{Store: counting}).Run(context.Background(), f.job(t, counting))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want, err := ref.Snapshot(context.Background(), integration)
	if err != nil {
		t.Fatal(err)
	}
	c := f.sb.Counts()
	if len(want.SalesOrders) != c.Orders || len(want.SKUs) != c.Variants || len(want.Warehouses) != c.Locations ||
		len(want.InventoryLevels) != c.InventoryLevels {
		t.Fatalf("uninterrupted run stored %d orders, %d SKUs, %d warehouses, %d levels; sandbox has %+v",
			len(want.SalesOrders), len(want.SKUs), len(want.Warehouses), len(want.InventoryLevels), c)
	}
	pages := counting.pages.Load()
	if pages < 8 {
		t.Fatalf("only %d pages: too few boundaries to test", pages)
	}
	t.Logf("%d page boundaries, each killed before and after its commit", pages)

	for crashAt := int64(1); crashAt <= pages; crashAt++ {
		for _, after := range []bool{false, true} {
			st := openStore(t)
			crashing := &crashingStore{Store: st, crashAt: crashAt, afterCommit: after}
			first := (&engine.Engine{Store: crashing}).Run(context.Background(), f.job(t, crashing))
			if !errors.Is(first.Err, errKilled) {
				t.Fatalf("crash at page %d (after commit %v): run ended with %v, want the crash", crashAt, after, first.Err)
			}
			// A new process: new engine, new connector, same store.
			second := (&engine.Engine{Store: st}).Run(context.Background(), f.job(t, st))
			if second.Err != nil {
				t.Fatalf("resume after crash at page %d: %v", crashAt, second.Err)
			}
			got, err := st.Snapshot(context.Background(), integration)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("crash at page %d (after commit %v): resumed store differs from the uninterrupted run: "+
					"%d/%d orders, %d/%d SKUs, %d/%d levels", crashAt, after,
					len(got.SalesOrders), len(want.SalesOrders), len(got.SKUs), len(want.SKUs),
					len(got.InventoryLevels), len(want.InventoryLevels))
			}
		}
	}
}

func TestIncrementalRunReadsOnlyWhatChanged(t *testing.T) {
	f := newFixture(t, 300)
	st := openStore(t)
	e := &engine.Engine{Store: st}
	if res := e.Run(context.Background(), f.job(t, st)); res.Err != nil {
		t.Fatal(res.Err)
	}
	// Nothing changed: the next run writes nothing.
	res := e.Run(context.Background(), f.job(t, st))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	_, written, _ := res.Totals()
	if written != 0 {
		t.Fatalf("a run with no changes wrote %d records", written)
	}
	// Three orders change and one is added: exactly those are written, and nothing is duplicated.
	orders := f.sb.Orders()
	for _, o := range orders[:3] {
		f.sb.TouchOrder(o.ID)
	}
	f.sb.AddOrders(1)
	res = e.Run(context.Background(), f.job(t, st))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	for _, er := range res.Entities {
		if er.Entity == v1alpha1.DataOrders && er.Written != 4 {
			t.Errorf("orders written = %d, want 4 (3 changed, 1 new)", er.Written)
		}
	}
	counts, _ := st.Counts(context.Background(), integration)
	if counts[tether.KindSalesOrder] != int64(len(orders)+1) {
		t.Errorf("store has %d orders, want %d", counts[tether.KindSalesOrder], len(orders)+1)
	}
}

func TestMappingFailureWritesNothingAndIsTerminal(t *testing.T) {
	f := newFixture(t, 50)
	st := openStore(t)
	job := f.job(t, st)
	p, _ := connectors.Lookup(v1alpha1.PlatformShopify)
	m, err := mapping.Compile(p.DefaultMapping, []v1alpha1.EntityMapping{{
		Entity: v1alpha1.DataOrders,
		Fields: []v1alpha1.FieldRule{{Field: "total", Expression: `record.name.startsWith("#1") ? "not a number" : "1.00"`}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	job.Mapping = m
	job.Entities = []v1alpha1.DataType{v1alpha1.DataOrders}
	res := (&engine.Engine{Store: st}).Run(context.Background(), job)
	if class, reason := connectors.Classify(res.Err); res.Err == nil || class != connectors.ClassTerminal || reason != v1alpha1.ReasonMappingFailed {
		t.Fatalf("run error %v (class %v, reason %s); want a terminal MappingFailed", res.Err, class, reason)
	}
	counts, _ := st.Counts(context.Background(), integration)
	if counts[tether.KindSalesOrder] != 0 {
		t.Fatalf("%d orders stored by a run whose mapping failed on the first page", counts[tether.KindSalesOrder])
	}
}

func TestPoolRunsOneJobPerKeyWithinItsBound(t *testing.T) {
	finished := make(chan string, 10)
	p := engine.NewPool(1, func(key string) { finished <- key })
	release := make(chan struct{})
	var concurrent, peak atomic.Int32
	job := func(ctx context.Context, _ func(engine.EntityResult)) engine.Result {
		n := concurrent.Add(1)
		if n > peak.Load() {
			peak.Store(n)
		}
		defer concurrent.Add(-1)
		select {
		case <-release:
		case <-ctx.Done():
			return engine.Result{Err: ctx.Err()}
		}
		return engine.Result{}
	}
	ctx := context.Background()
	if !p.Start(ctx, "a", job) || !p.Start(ctx, "b", job) {
		t.Fatal("Start refused a new key")
	}
	if p.Start(ctx, "a", job) {
		t.Fatal("Start accepted a second job for a running key")
	}
	p.Cancel("b")
	if res, ok := p.Take("b"); !ok || !errors.Is(res.Err, context.Canceled) {
		t.Fatalf("cancelled job result = %v, %v", res, ok)
	}
	close(release)
	<-finished
	<-finished
	if _, ok := p.Take("a"); !ok {
		t.Fatal("no result for a")
	}
	if peak.Load() != 1 {
		t.Fatalf("%d jobs ran at once in a pool of 1", peak.Load())
	}
}
