package mapping

import (
	"fmt"
	"testing"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/tether"
)

// benchOrders builds n Shopify-shaped orders with three lines each.
func benchOrders(n int) []connectors.Record {
	records := make([]connectors.Record, n)
	for i := range records {
		lines := make([]any, 3)
		for j := range lines {
			lines[j] = map[string]any{
				"id":       fmt.Sprintf("gid://shopify/LineItem/%d%d", i, j),
				"sku":      fmt.Sprintf("SKU-%d", j),
				"quantity": float64(j + 1),
				"price":    "12.50",
				"variant":  map[string]any{"id": fmt.Sprintf("gid://shopify/ProductVariant/%d", j)},
			}
		}
		records[i] = connectors.Record{
			ID:        fmt.Sprintf("gid://shopify/Order/%d", i),
			UpdatedAt: t0,
			Data: map[string]any{
				"name":                   fmt.Sprintf("#%d", 1000+i),
				"displayFinancialStatus": "PAID",
				"currencyCode":           "EUR",
				"totalPrice":             "75.00",
				"createdAt":              "2024-04-30T10:15:00Z",
				"lineItems":              lines,
			},
		}
	}
	return records
}

func BenchmarkApplyOrders(b *testing.B) {
	const pageSize = 250
	records := benchOrders(pageSize)
	cases := []struct {
		name      string
		overrides []v1alpha1.EntityMapping
	}{
		{name: "paths"},
		{name: "cel", overrides: []v1alpha1.EntityMapping{{
			Entity: v1alpha1.DataOrders,
			Fields: []v1alpha1.FieldRule{expr("status", `record.displayFinancialStatus.lowerAscii()`)},
		}}},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			m, err := Compile(shopifyDefaults, bc.overrides)
			if err != nil {
				b.Fatal(err)
			}
			var batch tether.Batch
			b.ReportAllocs()
			for b.Loop() {
				batch.SalesOrders = batch.SalesOrders[:0]
				if err := m.Apply(v1alpha1.DataOrders, records, &batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*pageSize)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
