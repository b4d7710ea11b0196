package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/shopify"
	"github.com/tether/integration-operator/internal/engine"
)

// MemorySample is the process's memory after a number of orders.
type MemorySample struct {
	Orders int64
	RSS    int64
	Heap   uint64
}

// MemoryResult follows memory through a large backfill.
type MemoryResult struct {
	Orders  int64
	Seconds float64
	Samples []MemorySample
	PeakRSS int64
}

// Memory backfills the orders of a Shopify sandbox served by another process at endpoint (bin/sandbox), through
// the engine into SQLite, and samples this process's memory as the count grows. Streaming pages means the
// resident set stays flat however many orders there are.
func Memory(ctx context.Context, dir, endpoint, token string, every int64) (MemoryResult, error) {
	var r MemoryResult
	if token == "" {
		token = shopify.DefaultSandboxToken
	}
	p, _ := connectors.Lookup(v1alpha1.PlatformShopify)
	conn, err := p.New(connectors.Config{
		Connection:   v1alpha1.Connection{ShopDomain: "acme.myshopify.com", Endpoint: endpoint},
		Credentials:  map[string][]byte{"accessToken": []byte(token)},
		HTTPClient:   &http.Client{Timeout: 10 * time.Minute},
		Log:          logr.Discard(),
		PollInterval: 200 * time.Millisecond,
	})
	if err != nil {
		return r, err
	}
	m, err := shopifyMapping()
	if err != nil {
		return r, err
	}
	st, err := openStore(filepath.Join(dir, "memory"))
	if err != nil {
		return r, err
	}
	defer st.Close()
	next := every
	start := time.Now()
	res := (&engine.Engine{Store: st}).Run(ctx, engine.Job{
		Integration: integration, Channel: "bench/online", Connector: conn, Mapping: m,
		Entities: []v1alpha1.DataType{v1alpha1.DataOrders}, HistoryStart: time.Now().Add(-10 * 365 * 24 * time.Hour),
		Progress: func(er engine.EntityResult) {
			if er.Read >= next {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				r.Samples = append(r.Samples, MemorySample{Orders: er.Read, RSS: currentRSS(), Heap: ms.HeapInuse})
				next += every
			}
			r.Orders = er.Read
		},
	})
	if res.Err != nil {
		return r, res.Err
	}
	r.Seconds = time.Since(start).Seconds()
	r.PeakRSS = PeakRSS()
	return r, nil
}

func currentRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// String prints the samples as a small table.
func (r MemoryResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "memory: %d orders in %.0fs (%.0f orders/s); peak RSS %.0f MiB\n", r.Orders, r.Seconds, float64(r.Orders)/r.Seconds, float64(r.PeakRSS)/(1<<20))
	for _, s := range r.Samples {
		fmt.Fprintf(&b, "memory:   after %8d orders: RSS %4.0f MiB, heap in use %4.0f MiB\n", s.Orders, float64(s.RSS)/(1<<20), float64(s.Heap)/(1<<20))
	}
	return b.String()
}
