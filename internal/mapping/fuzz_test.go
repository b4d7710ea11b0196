package mapping

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/tether"
)

// FuzzApply maps arbitrary JSON records, through path rules and a CEL rule, into every kind: a record that does
// not fit fails with an error and leaves the batch as it was; nothing panics.
func FuzzApply(f *testing.F) {
	for _, seed := range []string{`{}`, `{"name":"#1001","total":"12.50","lineItems":[{"id":"1","quantity":2}]}`,
		`{"total":1e400}`, `{"lineItems":"nope"}`, `{"lineItems":[null,1,"x",{"quantity":"3.5"}]}`, `{"createdAt":"not a time"}`,
		`{"product":{"title":["a"]}}`, `{"quantity":-9223372036854775809}`, `{"active":"maybe"}`} {
		f.Add(seed)
	}
	line := func(field, path string) v1alpha1.FieldRule { return v1alpha1.FieldRule{Field: field, From: path} }
	defaults := []v1alpha1.EntityMapping{
		{Entity: v1alpha1.DataOrders, Fields: []v1alpha1.FieldRule{line("orderID", "name"), line("total", "total"),
			line("orderedAt", "createdAt"), {Field: "status", Expression: `has(record.status) ? string(record.status) : "open"`}},
			Lines: &v1alpha1.LineMapping{From: "lineItems", Fields: []v1alpha1.FieldRule{line("externalID", "id"), line("quantity", "quantity"), line("price", "price")}}},
		{Entity: v1alpha1.DataProducts, Fields: []v1alpha1.FieldRule{line("name", "product.title"), line("price", "price"), line("code", "sku")}},
		{Entity: v1alpha1.DataLocations, Fields: []v1alpha1.FieldRule{line("name", "name"), line("active", "active")}},
		{Entity: v1alpha1.DataInventory, Fields: []v1alpha1.FieldRule{line("available", "quantity"), line("skuCode", "sku")}},
	}
	m, err := Compile(defaults, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var data map[string]any
		if json.Unmarshal([]byte(doc), &data) != nil {
			return
		}
		rec := connectors.Record{ID: "r1", UpdatedAt: time.Unix(1700000000, 0), Data: data}
		for _, e := range m.Entities() {
			var b tether.Batch
			b.SKUs = append(b.SKUs, tether.SKU{ExternalID: "kept"})
			if err := m.Apply(e, []connectors.Record{rec}, &b); err != nil && (b.Len() != 1 || b.SKUs[0].ExternalID != "kept") {
				t.Fatalf("%s: a failed Apply changed the batch", e)
			}
		}
	})
}
