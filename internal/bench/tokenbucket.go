package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/amazon"
)

// BucketResult says how close a backfill came to what a per-operation token bucket allows.
type BucketResult struct {
	Platform          v1alpha1.Platform
	Orders            int
	Seconds           float64
	OrdersPerSec      float64
	CeilingSeconds    float64
	CeilingPerSec     float64
	Efficiency        float64
	Requests          int64
	ThrottledRequests int64
}

// statusCounter counts a sandbox's answers that told the client to slow down.
type statusCounter struct {
	next      http.Handler
	requests  atomic.Int64
	throttled atomic.Int64
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

func (s *statusCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	rec := &statusRecorder{ResponseWriter: w, status: 200}
	s.next.ServeHTTP(rec, r)
	if rec.status == http.StatusTooManyRequests {
		s.throttled.Add(1)
	}
}

// AmazonOrders backfills orders from the Amazon sandbox at the documented SP-API limits. The binding limit is
// getOrderItems, one call per order: after its burst, the ceiling for n orders is (n - burst) / rate seconds.
func AmazonOrders(ctx context.Context, orders int) (BucketResult, error) {
	r := BucketResult{Platform: v1alpha1.PlatformAmazon}
	p, ok := connectors.Lookup(v1alpha1.PlatformAmazon)
	if !ok {
		return r, fmt.Errorf("the Amazon connector is not linked into this program")
	}
	sb := p.NewSandbox(connectors.SandboxOptions{Seed: 13, Orders: orders, Products: 20, Locations: 1})
	counter := &statusCounter{next: sb}
	srv := httptest.NewServer(counter)
	defer srv.Close()
	conn, err := p.New(connectors.Config{Connection: sb.Connection(srv.URL), Credentials: sb.Credentials(),
		HTTPClient: &http.Client{Timeout: time.Minute}, Log: logr.Discard()})
	if err != nil {
		return r, err
	}
	start := time.Now()
	err = conn.Read(ctx, connectors.ReadRequest{Entity: v1alpha1.DataOrders, Since: time.Now().Add(-700 * 24 * time.Hour)},
		func(_ context.Context, pg connectors.Page) error {
			r.Orders += len(pg.Records)
			return nil
		})
	if err != nil {
		return r, err
	}
	r.Seconds = time.Since(start).Seconds()
	r.Requests, r.ThrottledRequests = counter.requests.Load(), counter.throttled.Load()
	r.OrdersPerSec = float64(r.Orders) / r.Seconds
	items := amazon.DefaultRates()[amazon.OpGetOrderItems]
	r.CeilingSeconds = max(0, float64(r.Orders-items.Burst)) / items.PerSecond
	if r.CeilingSeconds > 0 {
		r.CeilingPerSec = float64(r.Orders) / r.CeilingSeconds
		r.Efficiency = r.CeilingSeconds / r.Seconds
	}
	return r, nil
}
