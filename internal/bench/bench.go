// Package bench measures the operator: the engine's throughput against the store's own ceiling, how close a
// rate-limited backfill comes to the limit, bulk against paged backfills, and memory on large backfills. The
// bench command and the Go benchmarks call it; the numbers go in docs/performance.md.
package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/shopify"
	"github.com/tether/integration-operator/internal/engine"
	"github.com/tether/integration-operator/internal/mapping"
	"github.com/tether/integration-operator/internal/store"
	"github.com/tether/integration-operator/internal/store/sqlite"
)

const integration = "bench/shop"

// Machine describes where the numbers came from.
func Machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs (%s), %s, %s/%s", runtime.NumCPU(), model, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// shop is a Shopify sandbox on loopback.
type shop struct {
	sb  *shopify.Sandbox
	srv *httptest.Server
}

func newShop(orders int, plan *shopify.RateLimit) *shop {
	opts := shopify.SandboxOptions{
		ShopDomain: "bench.myshopify.com", Unlimited: plan == nil, BulkPollsToComplete: 1, BulkRunTime: 10 * time.Millisecond,
		Seed: shopify.SeedOptions{Seed: 42, Orders: orders, Products: 200, Locations: 4},
	}
	if plan != nil {
		opts.RateLimit = *plan
	}
	sb := shopify.NewSandbox(opts)
	return &shop{sb: sb, srv: httptest.NewServer(sb)}
}

func (s *shop) close() { s.srv.Close() }

func (s *shop) connector(bulk bool) (*shopify.Connector, error) {
	c, err := shopify.New(connectors.Config{
		Connection:   v1alpha1.Connection{ShopDomain: "bench.myshopify.com", Endpoint: s.srv.URL},
		Credentials:  map[string][]byte{shopify.CredentialAccessToken: []byte(s.sb.AccessToken())},
		HTTPClient:   &http.Client{Timeout: time.Minute},
		Log:          logr.Discard(),
		PollInterval: 10 * time.Millisecond,
	})
	if err != nil {
		return nil, err
	}
	if !bulk {
		c.BulkThreshold = 0
	}
	return c, nil
}

func openStore(dir string) (*sqlite.Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return sqlite.Open(context.Background(), filepath.Join(dir, "tether.db"))
}

func shopifyMapping() (*mapping.Mapping, error) {
	p, ok := connectors.Lookup(v1alpha1.PlatformShopify)
	if !ok {
		return nil, fmt.Errorf("shopify is not registered")
	}
	return mapping.Compile(p.DefaultMapping, nil)
}

// EngineResult compares the engine with the store's ceiling.
type EngineResult struct {
	Orders, Lines      int
	EngineSeconds      float64
	EngineOrdersPerSec float64
	// PipelineOrdersPerSec is the engine fed the same pages from memory: mapping, dedup and SQLite without
	// the sandbox, which shares the machine's cores with the engine in the end-to-end figure.
	PipelineSeconds      float64
	PipelineOrdersPerSec float64
	PipelineRatio        float64
	StoreSeconds         float64
	StoreOrdersPerSec    float64
	// Ratio is the engine's rate divided by the store's ceiling.
	Ratio float64
}

// Engine syncs the orders of a sandbox with its rate limit off through the whole pipeline (connector, mapping,
// dedup, SQLite), then upserts the same rows straight into a fresh store in batched transactions: the ceiling
// the engine could reach if reading and mapping cost nothing.
func Engine(ctx context.Context, dir string, orders int, bulk bool) (EngineResult, error) {
	var r EngineResult
	s := newShop(orders, nil)
	defer s.close()
	conn, err := s.connector(bulk)
	if err != nil {
		return r, err
	}
	m, err := shopifyMapping()
	if err != nil {
		return r, err
	}
	st, err := openStore(filepath.Join(dir, "engine"))
	if err != nil {
		return r, err
	}
	defer st.Close()
	start := time.Now()
	res := (&engine.Engine{Store: st}).Run(ctx, engine.Job{Integration: integration, Channel: "bench/online", Connector: conn,
		Mapping: m, Entities: []v1alpha1.DataType{v1alpha1.DataOrders}, HistoryStart: time.Now().Add(-10 * 365 * 24 * time.Hour)})
	if res.Err != nil {
		return r, res.Err
	}
	r.EngineSeconds = time.Since(start).Seconds()
	snap, err := st.Snapshot(ctx, integration)
	if err != nil {
		return r, err
	}
	r.Orders = len(snap.SalesOrders)
	for _, o := range snap.SalesOrders {
		r.Lines += len(o.Lines)
	}
	if r.Orders != orders {
		return r, fmt.Errorf("engine stored %d orders, the sandbox has %d", r.Orders, orders)
	}

	// The same pages again, from memory.
	var pages []connectors.Page
	if err := conn.Read(ctx, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, func(_ context.Context, p connectors.Page) error {
		pages = append(pages, p)
		return nil
	}); err != nil {
		return r, err
	}
	pst, err := openStore(filepath.Join(dir, "pipeline"))
	if err != nil {
		return r, err
	}
	defer pst.Close()
	start = time.Now()
	res = (&engine.Engine{Store: pst}).Run(ctx, engine.Job{Integration: integration, Channel: "bench/online", Connector: replay(pages),
		Mapping: m, Entities: []v1alpha1.DataType{v1alpha1.DataOrders}})
	if res.Err != nil {
		return r, res.Err
	}
	r.PipelineSeconds = time.Since(start).Seconds()

	ceiling, err := openStore(filepath.Join(dir, "ceiling"))
	if err != nil {
		return r, err
	}
	defer ceiling.Close()
	start = time.Now()
	const page = 250
	for i := 0; i < len(snap.SalesOrders); i += page {
		w := store.PageWrite{Integration: integration, Channel: "bench/online", Entity: string(v1alpha1.DataOrders)}
		w.Batch.SalesOrders = snap.SalesOrders[i:min(i+page, len(snap.SalesOrders))]
		if _, err := ceiling.WritePage(ctx, w); err != nil {
			return r, err
		}
	}
	r.StoreSeconds = time.Since(start).Seconds()
	r.EngineOrdersPerSec = float64(r.Orders) / r.EngineSeconds
	r.StoreOrdersPerSec = float64(r.Orders) / r.StoreSeconds
	r.Ratio = r.EngineOrdersPerSec / r.StoreOrdersPerSec
	r.PipelineOrdersPerSec = float64(r.Orders) / r.PipelineSeconds
	r.PipelineRatio = r.PipelineOrdersPerSec / r.StoreOrdersPerSec
	return r, nil
}

// replay is a connector that hands out pages read before.
type replay []connectors.Page

func (replay) Check(context.Context) error { return nil }

func (p replay) Read(ctx context.Context, _ connectors.ReadRequest, emit connectors.EmitFunc) error {
	for _, page := range p {
		if err := emit(ctx, page); err != nil {
			return err
		}
	}
	return nil
}

// RateLimitResult says how close a paged backfill came to what the cost bucket allows.
type RateLimitResult struct {
	Plan              shopify.RateLimit
	Orders            int
	Seconds           float64
	OrdersPerSec      float64
	QueryCost         float64
	CeilingPerSec     float64
	Efficiency        float64
	Requests          int64
	ThrottledRequests int64
}

// RateLimit backfills orders page by page from a sandbox at the plan's bucket. The ceiling is what the bucket
// allows for the query cost the backfill needed: a full bucket at the start, then the restore rate.
func RateLimit(ctx context.Context, orders int, plan shopify.RateLimit) (RateLimitResult, error) {
	r := RateLimitResult{Plan: plan}
	s := newShop(orders, &plan)
	defer s.close()
	c, err := s.connector(false)
	if err != nil {
		return r, err
	}
	start := time.Now()
	err = c.Read(ctx, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, func(_ context.Context, p connectors.Page) error {
		r.Orders += len(p.Records)
		return nil
	})
	if err != nil {
		return r, err
	}
	r.Seconds = time.Since(start).Seconds()
	st := c.Stats()
	r.QueryCost, r.Requests, r.ThrottledRequests = st.QueryCost, st.Requests, st.Throttled
	r.OrdersPerSec = float64(r.Orders) / r.Seconds
	ideal := (r.QueryCost - plan.MaximumAvailable) / plan.RestoreRate
	if ideal > 0 {
		r.CeilingPerSec = float64(r.Orders) / ideal
		r.Efficiency = ideal / r.Seconds
	}
	return r, nil
}

// BulkResult compares a bulk-operation backfill with a paged one.
type BulkResult struct {
	Orders                    int
	BulkSeconds, PagedSeconds float64
	BulkCost, PagedCost       float64
	// SpeedUp is paged time over bulk time with no rate limit; CostRatio is the paged query cost over the bulk
	// one, which is the speed-up under a rate limit.
	SpeedUp, CostRatio float64
}

// Bulk backfills the same orders by bulk operation and by pages, rate limit off.
func Bulk(ctx context.Context, orders int) (BulkResult, error) {
	r := BulkResult{Orders: orders}
	s := newShop(orders, nil)
	defer s.close()
	for _, bulk := range []bool{true, false} {
		c, err := s.connector(bulk)
		if err != nil {
			return r, err
		}
		n := 0
		start := time.Now()
		err = c.Read(ctx, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, func(_ context.Context, p connectors.Page) error {
			n += len(p.Records)
			return nil
		})
		if err != nil {
			return r, err
		}
		if n < orders {
			return r, fmt.Errorf("read %d orders, want %d", n, orders)
		}
		secs := time.Since(start).Seconds()
		if bulk {
			r.BulkSeconds, r.BulkCost = secs, c.Stats().QueryCost
		} else {
			r.PagedSeconds, r.PagedCost = secs, c.Stats().QueryCost
		}
	}
	r.SpeedUp = r.PagedSeconds / r.BulkSeconds
	if r.BulkCost > 0 {
		r.CostRatio = r.PagedCost / r.BulkCost
	}
	return r, nil
}

// PeakRSS is the process's peak resident set size in bytes.
func PeakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024
}
