package mapping

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/tether"
)

func ptr(s string) *string { return &s }

func from(field, path string) v1alpha1.FieldRule {
	return v1alpha1.FieldRule{Field: field, From: path}
}

func expr(field, expression string) v1alpha1.FieldRule {
	return v1alpha1.FieldRule{Field: field, Expression: expression}
}

var (
	t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	t1 = time.Date(2024, 4, 30, 8, 15, 0, 0, time.UTC)
)

// shopifyDefaults is a connector default mapping in the shape of Shopify's records.
var shopifyDefaults = []v1alpha1.EntityMapping{
	{
		Entity: v1alpha1.DataProducts,
		Fields: []v1alpha1.FieldRule{
			from("code", "sku"),
			from("name", "product.title"),
			from("productID", "product.id"),
			from("barcode", "barcode"),
			from("price", "price"),
		},
	},
	{
		Entity: v1alpha1.DataOrders,
		Fields: []v1alpha1.FieldRule{
			from("orderID", "name"),
			from("status", "displayFinancialStatus"),
			from("currency", "currencyCode"),
			from("total", "totalPrice"),
			from("orderedAt", "createdAt"),
		},
		Lines: &v1alpha1.LineMapping{
			From: "lineItems",
			Fields: []v1alpha1.FieldRule{
				from("externalID", "id"),
				from("skuExternalID", "variant.id"),
				from("skuCode", "sku"),
				from("quantity", "quantity"),
				from("price", "price"),
			},
		},
	},
	{
		Entity: v1alpha1.DataLocations,
		Fields: []v1alpha1.FieldRule{
			from("name", "name"),
			from("country", "address.countryCode"),
			from("active", "isActive"),
		},
	},
	{
		Entity: v1alpha1.DataInventory,
		Fields: []v1alpha1.FieldRule{
			from("skuExternalID", "variantID"),
			from("warehouseExternalID", "locationID"),
			from("available", "available"),
			from("onHand", "onHand"),
			from("committed", "committed"),
		},
	},
}

func product(id string, data map[string]any) connectors.Record {
	return connectors.Record{ID: id, UpdatedAt: t0, Data: data}
}

func TestApply(t *testing.T) {
	variant := map[string]any{
		"sku":     "TSHIRT-M",
		"barcode": "0123456789012",
		"price":   "12.50",
		"title":   "M",
		"product": map[string]any{"id": "gid://shopify/Product/1", "title": "T-shirt"},
	}
	order := map[string]any{
		"name":                   "#1001",
		"displayFinancialStatus": "PAID",
		"currencyCode":           "EUR",
		"totalPrice":             "37.50",
		"createdAt":              "2024-04-30T10:15:00+02:00",
		"email":                  "a@example.com",
		"lineItems": []any{
			map[string]any{"id": "L1", "sku": "TSHIRT-M", "quantity": float64(2), "price": "12.50",
				"variant": map[string]any{"id": "V1"}},
			map[string]any{"id": "L2", "sku": "MUG", "quantity": json.Number("1"), "price": 12.5,
				"variant": nil},
		},
	}
	// floatOrder has only float64 quantities, as JSON decoding without UseNumber yields: CEL sees a
	// json.Number as a string, so arithmetic on it would fail.
	floatOrder := cloneOrder(order)
	floatOrder["lineItems"].([]any)[1].(map[string]any)["quantity"] = float64(1)
	tests := []struct {
		name      string
		overrides []v1alpha1.EntityMapping
		entity    v1alpha1.DataType
		records   []connectors.Record
		want      tether.Batch
	}{
		{
			name:    "defaults only",
			entity:  v1alpha1.DataProducts,
			records: []connectors.Record{product("V1", variant)},
			want: tether.Batch{SKUs: []tether.SKU{{
				ExternalID: "V1", Code: "TSHIRT-M", Name: "T-shirt", ProductID: "gid://shopify/Product/1",
				Barcode: "0123456789012", Price: "12.50", UpdatedAt: t0,
			}}},
		},
		{
			name: "override replaces a field and keeps the others",
			overrides: []v1alpha1.EntityMapping{{
				Entity: v1alpha1.DataProducts,
				Fields: []v1alpha1.FieldRule{from("name", "title")},
			}},
			entity:  v1alpha1.DataProducts,
			records: []connectors.Record{product("V1", variant)},
			want: tether.Batch{SKUs: []tether.SKU{{
				ExternalID: "V1", Code: "TSHIRT-M", Name: "M", ProductID: "gid://shopify/Product/1",
				Barcode: "0123456789012", Price: "12.50", UpdatedAt: t0,
			}}},
		},
		{
			name: "CEL expression used",
			overrides: []v1alpha1.EntityMapping{{
				Entity: v1alpha1.DataProducts,
				Fields: []v1alpha1.FieldRule{
					expr("name", `record.product.title + " / " + record.title.upperAscii()`),
					expr("price", `double(record.price) * 2.0`),
				},
			}},
			entity:  v1alpha1.DataProducts,
			records: []connectors.Record{product("V1", variant)},
			want: tether.Batch{SKUs: []tether.SKU{{
				ExternalID: "V1", Code: "TSHIRT-M", Name: "T-shirt / M", ProductID: "gid://shopify/Product/1",
				Barcode: "0123456789012", Price: "25", UpdatedAt: t0,
			}}},
		},
		{
			name: "defaults applied for missing, null and empty values",
			overrides: []v1alpha1.EntityMapping{{
				Entity: v1alpha1.DataProducts,
				Fields: []v1alpha1.FieldRule{
					{Field: "code", From: "missing.deeply", Default: ptr("NO-SKU")},
					{Field: "barcode", From: "barcode", Default: ptr("none")},
					{Field: "price", From: "price", Default: ptr("0.00")},
					{Field: "name", Expression: `has(record.title) ? record.title : null`, Default: ptr("unnamed")},
					{Field: "updatedAt", From: "updatedAt", Default: ptr("2020-01-01T00:00:00Z")},
				},
			}},
			entity: v1alpha1.DataProducts,
			records: []connectors.Record{product("V2", map[string]any{
				"barcode": nil, "price": "", "product": "not an object",
			})},
			want: tether.Batch{SKUs: []tether.SKU{{
				ExternalID: "V2", Code: "NO-SKU", Name: "unnamed", Barcode: "none", Price: "0.00",
				UpdatedAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
			}}},
		},
		{
			name:    "missing values without defaults are zero and updatedAt is the record's",
			entity:  v1alpha1.DataProducts,
			records: []connectors.Record{product("V3", nil)},
			want:    tether.Batch{SKUs: []tether.SKU{{ExternalID: "V3", UpdatedAt: t0}}},
		},
		{
			name: "updatedAt rule overrides the record's time",
			overrides: []v1alpha1.EntityMapping{{
				Entity: v1alpha1.DataProducts,
				Fields: []v1alpha1.FieldRule{from("updatedAt", "updated")},
			}},
			entity:  v1alpha1.DataProducts,
			records: []connectors.Record{product("V4", map[string]any{"updated": "2024-04-30T10:15:00+02:00"})},
			want:    tether.Batch{SKUs: []tether.SKU{{ExternalID: "V4", UpdatedAt: t1}}},
		},
		{
			name:    "lines mapped",
			entity:  v1alpha1.DataOrders,
			records: []connectors.Record{{ID: "O1", UpdatedAt: t0, Data: order}},
			want: tether.Batch{SalesOrders: []tether.SalesOrder{{
				ExternalID: "O1", OrderID: "#1001", Status: "PAID", Currency: "EUR", Total: "37.50",
				OrderedAt: t1, UpdatedAt: t0,
				Lines: []tether.SalesOrderLine{
					{ExternalID: "L1", SKUExternalID: "V1", SKUCode: "TSHIRT-M", Quantity: 2, Price: "12.50"},
					{ExternalID: "L2", SKUCode: "MUG", Quantity: 1, Price: "12.5"},
				},
			}}},
		},
		{
			name: "line expressions see line and record",
			overrides: []v1alpha1.EntityMapping{{
				Entity: v1alpha1.DataOrders,
				Lines: &v1alpha1.LineMapping{Fields: []v1alpha1.FieldRule{
					expr("externalID", `record.name + "/" + line.id`),
					expr("quantity", `line.quantity * 10.0`),
				}},
			}},
			entity:  v1alpha1.DataOrders,
			records: []connectors.Record{{ID: "O1", UpdatedAt: t0, Data: floatOrder}},
			want: tether.Batch{SalesOrders: []tether.SalesOrder{{
				ExternalID: "O1", OrderID: "#1001", Status: "PAID", Currency: "EUR", Total: "37.50",
				OrderedAt: t1, UpdatedAt: t0,
				Lines: []tether.SalesOrderLine{
					{ExternalID: "#1001/L1", SKUExternalID: "V1", SKUCode: "TSHIRT-M", Quantity: 20, Price: "12.50"},
					{ExternalID: "#1001/L2", SKUCode: "MUG", Quantity: 10, Price: "12.5"},
				},
			}}},
		},
		{
			name: "lines.from overridden",
			overrides: []v1alpha1.EntityMapping{{
				Entity: v1alpha1.DataOrders,
				Lines:  &v1alpha1.LineMapping{From: "fulfilled.items"},
			}},
			entity: v1alpha1.DataOrders,
			records: []connectors.Record{{ID: "O2", UpdatedAt: t0, Data: map[string]any{
				"fulfilled": map[string]any{"items": []any{map[string]any{"id": "F1", "quantity": "3"}}},
				"lineItems": []any{map[string]any{"id": "ignored"}},
			}}},
			want: tether.Batch{SalesOrders: []tether.SalesOrder{{
				ExternalID: "O2", UpdatedAt: t0,
				Lines: []tether.SalesOrderLine{{ExternalID: "F1", Quantity: 3}},
			}}},
		},
		{
			name:   "warehouse bool and nested country",
			entity: v1alpha1.DataLocations,
			records: []connectors.Record{
				{ID: "W1", UpdatedAt: t0, Data: map[string]any{"name": "Main", "isActive": true,
					"address": map[string]any{"countryCode": "DE"}}},
				{ID: "W2", UpdatedAt: t0, Data: map[string]any{"name": "Old", "isActive": "false"}},
			},
			want: tether.Batch{Warehouses: []tether.Warehouse{
				{ExternalID: "W1", Name: "Main", Country: "DE", Active: true, UpdatedAt: t0},
				{ExternalID: "W2", Name: "Old", UpdatedAt: t0},
			}},
		},
		{
			name:   "inventory ints from numbers and numeric strings",
			entity: v1alpha1.DataInventory,
			records: []connectors.Record{{ID: "V1@L1", UpdatedAt: t0, Data: map[string]any{
				"variantID": "V1", "locationID": float64(7), "available": float64(5),
				"onHand": "8", "committed": json.Number("3"),
			}}},
			want: tether.Batch{InventoryLevels: []tether.InventoryLevel{{
				ExternalID: "V1@L1", SKUExternalID: "V1", WarehouseExternalID: "7",
				Available: 5, OnHand: 8, Committed: 3, UpdatedAt: t0,
			}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile(shopifyDefaults, tt.overrides)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			var got tether.Batch
			if err := m.Apply(tt.entity, tt.records, &got); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("batch:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func cloneOrder(o map[string]any) map[string]any {
	out := make(map[string]any, len(o))
	for k, v := range o {
		out[k] = v
	}
	lines := o["lineItems"].([]any)
	cl := make([]any, len(lines))
	for i, l := range lines {
		m := map[string]any{}
		for k, v := range l.(map[string]any) {
			m[k] = v
		}
		cl[i] = m
	}
	out["lineItems"] = cl
	return out
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name      string
		defaults  []v1alpha1.EntityMapping
		overrides []v1alpha1.EntityMapping
		want      []string // each must appear, as one line of the joined error
	}{
		{
			name: "unknown field rejected naming it and listing valid fields",
			overrides: []v1alpha1.EntityMapping{{Entity: v1alpha1.DataProducts,
				Fields: []v1alpha1.FieldRule{from("titel", "title")}}},
			want: []string{`entities[Products].fields[titel]: SKU has no field "titel"; valid fields: code, name, productID, barcode, price, updatedAt`},
		},
		{
			name: "externalID is not mappable on a top-level kind",
			overrides: []v1alpha1.EntityMapping{{Entity: v1alpha1.DataLocations,
				Fields: []v1alpha1.FieldRule{from("externalID", "id")}}},
			want: []string{`entities[Locations].fields[externalID]: Warehouse field externalID is always the record's ID and cannot be mapped; valid fields: name, code, country, active, updatedAt`},
		},
		{
			name: "bad CEL rejected with location",
			overrides: []v1alpha1.EntityMapping{{Entity: v1alpha1.DataProducts,
				Fields: []v1alpha1.FieldRule{expr("name", `record.a + recrd.title`)}}},
			want: []string{`entities[Products].fields[name].expression: ERROR: <input>:1:12: undeclared reference to 'recrd'`},
		},
		{
			name:     "CEL syntax error rejected with location",
			defaults: shopifyDefaults,
			overrides: []v1alpha1.EntityMapping{{Entity: v1alpha1.DataOrders,
				Lines: &v1alpha1.LineMapping{Fields: []v1alpha1.FieldRule{expr("skuCode", `line.sku +`)}}}},
			want: []string{`entities[Orders].lines.fields[skuCode].expression: ERROR: <input>:1:11: Syntax error`},
		},
		{
			name: "expression type mismatch",
			overrides: []v1alpha1.EntityMapping{{Entity: v1alpha1.DataProducts,
				Fields: []v1alpha1.FieldRule{
					expr("name", `record.title == "x"`),
					expr("updatedAt", `size(record)`),
				}}},
			want: []string{
				`entities[Products].fields[name].expression: yields bool, which cannot convert to string`,
				`entities[Products].fields[updatedAt].expression: yields int, which cannot convert to time`,
			},
		},
		{
			name: "both and neither of from and expression",
			overrides: []v1alpha1.EntityMapping{{Entity: v1alpha1.DataProducts,
				Fields: []v1alpha1.FieldRule{
					{Field: "name", From: "title", Expression: "record.title"},
					{Field: "code"},
				}}},
			want: []string{
				`entities[Products].fields[name]: set exactly one of from (a path) or expression (CEL)`,
				`entities[Products].fields[code]: set exactly one of from (a path) or expression (CEL)`,
			},
		},
		{
			name: "default not convertible to the field type",
			overrides: []v1alpha1.EntityMapping{{Entity: v1alpha1.DataOrders,
				Fields: []v1alpha1.FieldRule{
					{Field: "total", From: "total", Default: ptr("abc")},
					{Field: "orderedAt", From: "at", Default: ptr("yesterday")},
				}}},
			want: []string{
				`entities[Orders].fields[total].default: cannot convert "abc" to decimal`,
				`entities[Orders].fields[orderedAt].default: cannot convert "yesterday" to time`,
			},
		},
		{
			name: "entity listed twice",
			overrides: []v1alpha1.EntityMapping{
				{Entity: v1alpha1.DataProducts}, {Entity: v1alpha1.DataProducts},
			},
			want: []string{`entities[Products]: entity listed twice`},
		},
		{
			name:      "purchase orders not mappable yet",
			overrides: []v1alpha1.EntityMapping{{Entity: v1alpha1.DataPurchaseOrders}},
			want:      []string{`entities[PurchaseOrders]: PurchaseOrders cannot be mapped yet`},
		},
		{
			name:      "lines only for orders",
			overrides: []v1alpha1.EntityMapping{{Entity: v1alpha1.DataProducts, Lines: &v1alpha1.LineMapping{From: "x"}}},
			want:      []string{`entities[Products].lines: only Orders have lines`},
		},
		{
			name: "line rules need externalID and a list path",
			defaults: []v1alpha1.EntityMapping{{Entity: v1alpha1.DataOrders,
				Lines: &v1alpha1.LineMapping{Fields: []v1alpha1.FieldRule{from("skuCode", "sku")}}}},
			want: []string{
				`default mapping: entities[Orders].lines.from: the path of the list of lines is required`,
				`default mapping: entities[Orders].lines: required SalesOrderLine field externalID has no rule`,
			},
		},
		{
			name:     "errors in the defaults are placed in the defaults",
			defaults: []v1alpha1.EntityMapping{{Entity: v1alpha1.DataInventory, Fields: []v1alpha1.FieldRule{from("onHand", "a..b")}}},
			want:     []string{`default mapping: entities[Inventory].fields[onHand].from: invalid path "a..b": empty key`},
		},
		{
			name:     "all errors reported together",
			defaults: shopifyDefaults,
			overrides: []v1alpha1.EntityMapping{
				{Entity: v1alpha1.DataProducts, Fields: []v1alpha1.FieldRule{
					from("titel", "title"),
					expr("name", `recrd.title`),
				}},
				{Entity: v1alpha1.DataOrders, Fields: []v1alpha1.FieldRule{
					{Field: "total", From: "total", Default: ptr("abc")},
				}, Lines: &v1alpha1.LineMapping{Fields: []v1alpha1.FieldRule{expr("quantity", `line.sku.startsWith("x")`)}}},
				{Entity: v1alpha1.DataProducts},
			},
			want: []string{
				`entities[Products]: entity listed twice`,
				`entities[Orders].fields[total].default: cannot convert "abc" to decimal`,
				`entities[Orders].lines.fields[quantity].expression: yields bool, which cannot convert to int`,
				`entities[Products].fields[titel]: SKU has no field "titel"`,
				`entities[Products].fields[name].expression: ERROR: <input>:1:1: undeclared reference to 'recrd'`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile(tt.defaults, tt.overrides)
			if err == nil {
				t.Fatalf("Compile succeeded, want errors %q", tt.want)
			}
			if m != nil {
				t.Errorf("Compile returned a mapping along with an error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for _, w := range tt.want {
				found := false
				for _, l := range lines {
					if strings.HasPrefix(l, w) {
						found = true
					}
				}
				if !found {
					t.Errorf("error lacks %q; got:\n%v", w, err)
				}
			}
		})
	}
}

func TestCompileAcceptsConvertibleExpressionTypes(t *testing.T) {
	overrides := []v1alpha1.EntityMapping{{
		Entity: v1alpha1.DataOrders,
		Fields: []v1alpha1.FieldRule{
			expr("orderID", `size(record)`),                                      // int -> string
			expr("total", `"1.5"`),                                               // string -> decimal
			expr("orderedAt", `timestamp("2024-01-01T00:00:00Z")`),               // timestamp -> time
			expr("updatedAt", `record.?updated.orValue("2024-01-01T00:00:00Z")`), // optional(dyn)
			expr("status", `record.?status`),                                     // optional(dyn)
		},
	}}
	m, err := Compile(nil, overrides)
	if err != nil {
		t.Fatal(err)
	}
	var b tether.Batch
	if err := m.Apply(v1alpha1.DataOrders, []connectors.Record{{ID: "O", Data: map[string]any{"x": 1.0}}}, &b); err != nil {
		t.Fatal(err)
	}
	want := tether.SalesOrder{
		ExternalID: "O", OrderID: "1", Total: "1.5",
		OrderedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		UpdatedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	if !reflect.DeepEqual(b.SalesOrders, []tether.SalesOrder{want}) {
		t.Errorf("got %+v, want %+v", b.SalesOrders, want)
	}
}

func TestApplyFailureLeavesBatchUnchanged(t *testing.T) {
	existing := tether.SalesOrder{ExternalID: "earlier", Total: "1"}
	orders := func(second map[string]any) []connectors.Record {
		return []connectors.Record{
			{ID: "gid://shopify/Order/4", UpdatedAt: t0, Data: map[string]any{"totalPrice": "10", "note": "ok"}},
			{ID: "gid://shopify/Order/5", UpdatedAt: t0, Data: second},
			{ID: "gid://shopify/Order/6", UpdatedAt: t0, Data: map[string]any{"totalPrice": "30", "note": "ok"}},
		}
	}
	tests := []struct {
		name      string
		overrides []v1alpha1.EntityMapping
		records   []connectors.Record
		wantErr   string
		wantField string
	}{
		{
			name:      "value that does not convert",
			records:   orders(map[string]any{"totalPrice": "abc"}),
			wantErr:   `Orders record gid://shopify/Order/5: field total: cannot convert "abc" to decimal`,
			wantField: "total",
		},
		{
			name: "runtime CEL failure",
			overrides: []v1alpha1.EntityMapping{{Entity: v1alpha1.DataOrders,
				Fields: []v1alpha1.FieldRule{expr("status", `record.note.upperAscii()`)}}},
			records:   orders(map[string]any{"totalPrice": "20"}),
			wantErr:   `Orders record gid://shopify/Order/5: field status: no such key: note`,
			wantField: "status",
		},
		{
			name: "dynamic CEL result of the wrong type",
			overrides: []v1alpha1.EntityMapping{{Entity: v1alpha1.DataOrders,
				Fields: []v1alpha1.FieldRule{expr("status", `record.note`)}}},
			records:   orders(map[string]any{"note": true}),
			wantErr:   `Orders record gid://shopify/Order/5: field status: cannot convert bool true to string`,
			wantField: "status",
		},
		{
			name:      "line value that does not convert",
			records:   orders(map[string]any{"lineItems": []any{map[string]any{"id": "L1"}, map[string]any{"id": "L2", "quantity": 1.5}}}),
			wantErr:   `Orders record gid://shopify/Order/5: lineItems[1]: field quantity: cannot convert number 1.5 to int`,
			wantField: "quantity",
		},
		{
			name:      "required line field missing",
			records:   orders(map[string]any{"lineItems": []any{map[string]any{"sku": "X"}}}),
			wantErr:   `Orders record gid://shopify/Order/5: lineItems[0]: field externalID: required value is missing`,
			wantField: "externalID",
		},
		{
			name:    "lines that are not a list",
			records: orders(map[string]any{"lineItems": "none"}),
			wantErr: `Orders record gid://shopify/Order/5: lineItems: lines are "none", not a list`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile(shopifyDefaults, tt.overrides)
			if err != nil {
				t.Fatal(err)
			}
			// Spare capacity makes Apply write in place, so this also checks nothing leaks into it.
			orders := make([]tether.SalesOrder, 1, 8)
			orders[0] = existing
			b := tether.Batch{SalesOrders: orders}
			err = m.Apply(v1alpha1.DataOrders, tt.records, &b)
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			var re *RecordError
			if !errors.As(err, &re) || re.RecordID != "gid://shopify/Order/5" || re.Entity != v1alpha1.DataOrders || re.Field != tt.wantField {
				t.Errorf("RecordError = %+v", re)
			}
			if len(b.SalesOrders) != 1 || !reflect.DeepEqual(b.SalesOrders[0], existing) {
				t.Errorf("batch changed: %+v", b.SalesOrders)
			}
			if spare := b.SalesOrders[1:cap(b.SalesOrders)]; !reflect.DeepEqual(spare, make([]tether.SalesOrder, len(spare))) {
				t.Errorf("spare capacity holds partial records: %+v", spare)
			}
		})
	}
}

func TestApplyUnmappedEntity(t *testing.T) {
	m, err := Compile(shopifyDefaults[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		entity v1alpha1.DataType
		want   string
	}{
		{v1alpha1.DataOrders, "no field mapping for Orders"},
		{v1alpha1.DataPurchaseOrders, "PurchaseOrders cannot be mapped yet: Tether has no purchase order kind"},
		{"Refunds", `unknown entity "Refunds"`},
	}
	for _, tt := range tests {
		t.Run(string(tt.entity), func(t *testing.T) {
			var b tether.Batch
			err := m.Apply(tt.entity, []connectors.Record{{ID: "x"}}, &b)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
			if b.Len() != 0 {
				t.Errorf("batch filled: %+v", b)
			}
		})
	}
}

func TestEntitiesAndHas(t *testing.T) {
	m, err := Compile(shopifyDefaults[2:], []v1alpha1.EntityMapping{{Entity: v1alpha1.DataProducts}})
	if err != nil {
		t.Fatal(err)
	}
	want := []v1alpha1.DataType{v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory}
	if got := m.Entities(); !reflect.DeepEqual(got, want) {
		t.Errorf("Entities() = %v, want %v", got, want)
	}
	for _, e := range want {
		if !m.Has(e) {
			t.Errorf("Has(%s) = false", e)
		}
	}
	if m.Has(v1alpha1.DataOrders) || m.Has(v1alpha1.DataPurchaseOrders) {
		t.Errorf("Has reports an entity that is not mapped")
	}
	var none *Mapping
	if none.Has(v1alpha1.DataOrders) || none.Entities() != nil {
		t.Errorf("nil Mapping maps something")
	}
}

func TestFieldsMatchModel(t *testing.T) {
	tests := []struct {
		kind tether.Kind
		want []string
	}{
		{tether.KindSKU, []string{"code", "name", "productID", "barcode", "price", "updatedAt"}},
		{tether.KindWarehouse, []string{"name", "code", "country", "active", "updatedAt"}},
		{tether.KindSalesOrder, []string{"orderID", "status", "currency", "total", "orderedAt", "updatedAt"}},
		{tether.KindSalesOrderLine, []string{"externalID", "skuExternalID", "skuCode", "quantity", "price"}},
		{tether.KindInventoryLevel, []string{"skuExternalID", "skuCode", "warehouseExternalID", "available", "onHand", "committed", "updatedAt"}},
	}
	models := map[tether.Kind]reflect.Type{
		tether.KindSKU:            reflect.TypeFor[tether.SKU](),
		tether.KindWarehouse:      reflect.TypeFor[tether.Warehouse](),
		tether.KindSalesOrder:     reflect.TypeFor[tether.SalesOrder](),
		tether.KindSalesOrderLine: reflect.TypeFor[tether.SalesOrderLine](),
		tether.KindInventoryLevel: reflect.TypeFor[tether.InventoryLevel](),
	}
	goTypes := map[Type]reflect.Type{
		TypeString: reflect.TypeFor[string](), TypeDecimal: reflect.TypeFor[string](),
		TypeInt: reflect.TypeFor[int64](), TypeBool: reflect.TypeFor[bool](), TypeTime: reflect.TypeFor[time.Time](),
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			fields := Fields(tt.kind)
			var names []string
			for _, f := range fields {
				names = append(names, f.Name)
				// The Go field is the rule name with its first letter upper-cased, SKU and ID spelled out.
				goName := strings.ToUpper(f.Name[:1]) + f.Name[1:]
				goName = strings.Replace(goName, "Sku", "SKU", 1)
				goName = strings.Replace(goName, "ExternalId", "ExternalID", 1)
				sf, ok := models[tt.kind].FieldByName(goName)
				if !ok {
					t.Errorf("field %s: %s has no Go field %s", f.Name, tt.kind, goName)
					continue
				}
				if sf.Type != goTypes[f.Type] {
					t.Errorf("field %s: type %s, but Go field %s is %s", f.Name, f.Type, goName, sf.Type)
				}
				if f.Description == "" {
					t.Errorf("field %s has no description", f.Name)
				}
			}
			if !reflect.DeepEqual(names, tt.want) {
				t.Errorf("Fields(%s) = %v, want %v", tt.kind, names, tt.want)
			}
		})
	}
	if Fields("Refund") != nil {
		t.Errorf("Fields of an unknown kind is not nil")
	}
}

func TestApplyConcurrently(t *testing.T) {
	m, err := Compile(shopifyDefaults, []v1alpha1.EntityMapping{{Entity: v1alpha1.DataOrders,
		Fields: []v1alpha1.FieldRule{expr("status", `record.displayFinancialStatus.lowerAscii()`)}}})
	if err != nil {
		t.Fatal(err)
	}
	records := benchOrders(20)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			var b tether.Batch
			if err := m.Apply(v1alpha1.DataOrders, records, &b); err != nil {
				t.Error(err)
				return
			}
			if len(b.SalesOrders) != 20 || b.SalesOrders[19].Status != "paid" || len(b.SalesOrders[19].Lines) != 3 {
				t.Errorf("unexpected result %+v", b.SalesOrders[19])
			}
		})
	}
	wg.Wait()
}

func TestCostLimitStopsRunawayExpressions(t *testing.T) {
	m, err := Compile(nil, []v1alpha1.EntityMapping{{Entity: v1alpha1.DataProducts, Fields: []v1alpha1.FieldRule{
		expr("name", `string(lists.range(2000).map(x, lists.range(2000).map(y, x * y)).size())`),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	var b tether.Batch
	err = m.Apply(v1alpha1.DataProducts, []connectors.Record{{ID: "P1"}}, &b)
	if err == nil || !strings.Contains(err.Error(), "Products record P1: field name: operation cancelled: actual cost limit exceeded") {
		t.Errorf("error = %v, want the cost limit exceeded", err)
	}
}
