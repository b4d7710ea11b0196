package engine_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tether/integration-operator/internal/engine"
)

// faultyPlatform puts a fault in front of a sandbox: the listed requests (counted from 1) meet the fault instead
// of the platform.
type faultyPlatform struct {
	next  http.Handler
	at    map[int64]bool
	fault func(w http.ResponseWriter, r *http.Request, next http.Handler)
	n     atomic.Int64
	hits  atomic.Int64
}

func (f *faultyPlatform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.at[f.n.Add(1)] {
		f.hits.Add(1)
		f.fault(w, r, f.next)
		return
	}
	f.next.ServeHTTP(w, r)
}

// The faults every platform meets on the wire. Each must be absorbed: the run ends with exactly the
// platform's data.
var wireFaults = map[string]func(w http.ResponseWriter, r *http.Request, next http.Handler){
	"503": func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		http.Error(w, `{"error":"service unavailable"}`, http.StatusServiceUnavailable)
	},
	"429": func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		w.Header().Set("Retry-After", "0")
		http.Error(w, `{"error":"too many requests"}`, http.StatusTooManyRequests)
	},
	"reset": func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	},
	"slow": func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		time.Sleep(200 * time.Millisecond)
		next.ServeHTTP(w, r)
	},
}

// TestRunsConvergeUnderWireFaults injects server errors, rate limiting, dropped connections and slow answers
// into every platform's traffic: each sync still stores exactly the platform's data.
func TestRunsConvergeUnderWireFaults(t *testing.T) {
	forEachPlatform(t, 400, func(t *testing.T, f *fixture) {
		// The uninterrupted run to compare with.
		ref := openStore(t)
		if res := (&engine.Engine{Store: ref}).Run(context.Background(), f.job(t, ref)); res.Err != nil {
			t.Fatal(res.Err)
		}
		want, _ := ref.Snapshot(context.Background(), integration)
		for name, fault := range wireFaults {
			t.Run(name, func(t *testing.T) {
				faulty := &faultyPlatform{next: f.sb, fault: fault, at: map[int64]bool{5: true, 9: true}}
				srv := httptest.NewServer(faulty)
				defer srv.Close()
				g := *f
				g.url = srv.URL
				st := openStore(t)
				res := (&engine.Engine{Store: st}).Run(context.Background(), g.job(t, st))
				if res.Err != nil {
					t.Fatalf("run under %s faults: %v", name, res.Err)
				}
				if faulty.hits.Load() == 0 {
					t.Fatal("no fault was injected")
				}
				got, _ := st.Snapshot(context.Background(), integration)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("under %s faults the store differs from a clean run: %d/%d orders, %d/%d SKUs",
						name, len(got.SalesOrders), len(want.SalesOrders), len(got.SKUs), len(want.SKUs))
				}
			})
		}
	})
}

// TestRecordsChangedDuringARunAreNotLost changes orders on the platform while a sync is reading: the cursor
// must not move past them, so the next run stores their new state.
func TestRecordsChangedDuringARunAreNotLost(t *testing.T) {
	forEachPlatform(t, 400, func(t *testing.T, f *fixture) {
		var touched atomic.Bool
		faulty := &faultyPlatform{next: f.sb, at: map[int64]bool{4: true}, fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			f.sb.TouchOrders(10)
			touched.Store(true)
			next.ServeHTTP(w, r)
		}}
		srv := httptest.NewServer(faulty)
		defer srv.Close()
		g := *f
		g.url = srv.URL
		st := openStore(t)
		e := &engine.Engine{Store: st}
		if res := e.Run(context.Background(), g.job(t, st)); res.Err != nil {
			t.Fatal(res.Err)
		}
		if !touched.Load() {
			t.Fatal("the orders were never changed mid-run")
		}
		// The next run, on an unchanged platform, must leave the store equal to a fresh full read.
		if res := e.Run(context.Background(), g.job(t, st)); res.Err != nil {
			t.Fatal(res.Err)
		}
		got, _ := st.Snapshot(context.Background(), integration)
		fresh := openStore(t)
		if res := (&engine.Engine{Store: fresh}).Run(context.Background(), f.job(t, fresh)); res.Err != nil {
			t.Fatal(res.Err)
		}
		want, _ := fresh.Snapshot(context.Background(), integration)
		if !reflect.DeepEqual(got.SalesOrders, want.SalesOrders) {
			t.Fatalf("orders changed during a run were lost: the store differs from a fresh read")
		}
	})
}
