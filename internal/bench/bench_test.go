package bench

import (
	"context"
	"testing"

	"github.com/tether/integration-operator/connectors/shopify"
)

// BenchmarkEngineOrders is the engine's end-to-end rate (sandbox, mapping, dedup, SQLite) beside the store's
// ceiling for the same rows.
func BenchmarkEngineOrders(b *testing.B) {
	for i := 0; i < b.N; i++ {
		r, err := Engine(context.Background(), b.TempDir(), 5000, true)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.EngineOrdersPerSec, "orders/s")
		b.ReportMetric(r.StoreOrdersPerSec, "store-orders/s")
		b.ReportMetric(r.Ratio, "ratio")
	}
}

// BenchmarkRateLimitEfficiency is a paged backfill at the Shopify Plus bucket: achieved over allowed.
func BenchmarkRateLimitEfficiency(b *testing.B) {
	for i := 0; i < b.N; i++ {
		r, err := RateLimit(context.Background(), 1500, shopify.PlanPlus)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.OrdersPerSec, "orders/s")
		b.ReportMetric(r.CeilingPerSec, "ceiling-orders/s")
		b.ReportMetric(r.Efficiency, "efficiency")
		b.ReportMetric(float64(r.ThrottledRequests), "throttled")
	}
}

func TestEngineBenchmarkMeasuresACompleteRun(t *testing.T) {
	r, err := Engine(context.Background(), t.TempDir(), 300, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Orders != 300 || r.EngineOrdersPerSec <= 0 || r.StoreOrdersPerSec <= 0 || r.Ratio <= 0 {
		t.Fatalf("incomplete measurement: %+v", r)
	}
}
