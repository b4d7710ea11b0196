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
	_ "github.com/tether/integration-operator/connectors/all"
	"github.com/tether/integration-operator/internal/engine"
	"github.com/tether/integration-operator/internal/mapping"
	"github.com/tether/integration-operator/internal/store"
	"github.com/tether/integration-operator/internal/store/sqlite"
	"github.com/tether/integration-operator/internal/tether"
)

const integration = "shop/acme"

type fixture struct {
	platform connectors.Platform
	sb       connectors.Sandbox
	url      string
}

// forEachPlatform runs the test against every registered connector and its sandbox.
func forEachPlatform(t *testing.T, orders int, test func(t *testing.T, f *fixture)) {
	for _, p := range connectors.Platforms() {
		t.Run(string(p.Name), func(t *testing.T) {
			if p.NewSandbox == nil {
				t.Fatalf("%s registers no sandbox", p.Name)
			}
			sb := p.NewSandbox(connectors.SandboxOptions{Seed: 7, Orders: orders, Products: 40, Locations: 3, Unlimited: true, Fast: true})
			srv := httptest.NewServer(sb)
			t.Cleanup(srv.Close)
			test(t, &fixture{platform: p, sb: sb, url: srv.URL})
		})
	}
}

func (f *fixture) job(t testing.TB, st store.Store) engine.Job {
	conn, err := f.platform.New(connectors.Config{
		Connection:   f.sb.Connection(f.url),
		Credentials:  f.sb.Credentials(),
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
		Log:          logr.Discard(),
		PollInterval: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Compile(f.platform.DefaultMapping, nil)
	if err != nil {
		t.Fatal(err)
	}
	return engine.Job{
		Integration:  integration,
		Channel:      "shop/online",
		Connector:    conn,
		Mapping:      m,
		Entities:     f.platform.Entities,
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
	forEachPlatform(t, 1200, func(t *testing.T, f *fixture) {
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
		checkComplete(t, f.sb.Expected(), want)
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
	})
}

// checkComplete compares a snapshot with the counts the sandbox says its data becomes.
func checkComplete(t *testing.T, want map[tether.Kind]int64, got store.Snapshot) {
	t.Helper()
	lines := 0
	for _, o := range got.SalesOrders {
		lines += len(o.Lines)
	}
	have := map[tether.Kind]int64{
		tether.KindSalesOrder: int64(len(got.SalesOrders)), tether.KindSalesOrderLine: int64(lines),
		tether.KindSKU: int64(len(got.SKUs)), tether.KindWarehouse: int64(len(got.Warehouses)),
		tether.KindInventoryLevel: int64(len(got.InventoryLevels)),
	}
	for kind, n := range want {
		if have[kind] != n {
			t.Errorf("stored %d %s, the sandbox's data makes %d", have[kind], kind, n)
		}
	}
}

func TestIncrementalRunReadsOnlyWhatChanged(t *testing.T) {
	forEachPlatform(t, 300, func(t *testing.T, f *fixture) {
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
		if _, written, _ := res.Totals(); written != 0 {
			t.Fatalf("a run with no changes wrote %d records", written)
		}
		// Three orders change: exactly those are written, and nothing is duplicated.
		f.sb.TouchOrders(3)
		res = e.Run(context.Background(), f.job(t, st))
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		for _, er := range res.Entities {
			if er.Entity == v1alpha1.DataOrders && er.Written != 3 {
				t.Errorf("orders written = %d, want 3", er.Written)
			}
		}
		snap, _ := st.Snapshot(context.Background(), integration)
		checkComplete(t, f.sb.Expected(), snap)
	})
}

func TestMappingFailureWritesNothingAndIsTerminal(t *testing.T) {
	forEachPlatform(t, 50, func(t *testing.T, f *fixture) {
		st := openStore(t)
		job := f.job(t, st)
		m, err := mapping.Compile(f.platform.DefaultMapping, []v1alpha1.EntityMapping{{
			Entity: v1alpha1.DataOrders,
			Fields: []v1alpha1.FieldRule{{Field: "total", Expression: `"not a number"`}},
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
			t.Fatalf("%d orders stored by a run whose mapping fails on every record", counts[tether.KindSalesOrder])
		}
	})
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
