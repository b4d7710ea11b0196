package magento

import "github.com/tether/integration-operator/api/v1alpha1"

func from(field, path string) v1alpha1.FieldRule { return v1alpha1.FieldRule{Field: field, From: path} }

func expr(field, expression string) v1alpha1.FieldRule {
	return v1alpha1.FieldRule{Field: field, Expression: expression}
}

// magentoTime is the CEL that reads a Magento date ("2024-05-01 13:45:00", UTC) as a timestamp.
func magentoTime(path string) string {
	return `timestamp(` + path + `.replace(" ", "T") + "Z")`
}

// DefaultMapping maps the records this connector reads onto Tether's kinds:
//
//   - Products (one record per stock-keeping product; configurable parents with children are not SKUs) to
//     SKU: sku, name, price, the merchant's `barcode` custom attribute, and as productID the configurable
//     parent's ID for a configurable's child, the product's own ID otherwise.
//   - Locations (MSI sources) to Warehouse: source_code is the code, country_id, enabled.
//   - Orders to SalesOrder: increment_id ("000001001") is the order number, status, order_currency_code,
//     grand_total, created_at; `lines` (configurable pairs folded into one line) to SalesOrderLine.
//   - Inventory (MSI source items) to InventoryLevel: quantity is on hand, and available when the source
//     item's status is in stock (1), zero otherwise. Magento keeps reservations per stock, not per source,
//     so committed is not mapped.
//
// Magento dates are "YYYY-MM-DD HH:MM:SS" in UTC, not RFC 3339, so time fields are CEL expressions that
// convert them. Sources and source items have no modification time. An Integration's FieldMapping
// overrides these rules field by field.
func DefaultMapping() []v1alpha1.EntityMapping {
	return []v1alpha1.EntityMapping{
		{
			Entity: v1alpha1.DataProducts,
			Fields: []v1alpha1.FieldRule{
				from("code", "sku"),
				from("name", "name"),
				expr("productID", `has(record.parent) ? record.parent.id : record.id`),
				from("barcode", "attributes.barcode"),
				from("price", "price"),
				expr("updatedAt", magentoTime("record.updated_at")),
			},
		},
		{
			Entity: v1alpha1.DataLocations,
			Fields: []v1alpha1.FieldRule{
				from("name", "name"),
				from("code", "source_code"),
				from("country", "country_id"),
				from("active", "enabled"),
			},
		},
		{
			Entity: v1alpha1.DataOrders,
			Fields: []v1alpha1.FieldRule{
				from("orderID", "increment_id"),
				from("status", "status"),
				from("currency", "order_currency_code"),
				from("total", "grand_total"),
				expr("orderedAt", magentoTime("record.created_at")),
				expr("updatedAt", magentoTime("record.updated_at")),
			},
			Lines: &v1alpha1.LineMapping{
				From: "lines",
				Fields: []v1alpha1.FieldRule{
					from("externalID", "item_id"),
					from("skuExternalID", "product_id"),
					from("skuCode", "sku"),
					from("quantity", "qty_ordered"),
					from("price", "price"),
				},
			},
		},
		{
			Entity: v1alpha1.DataInventory,
			Fields: []v1alpha1.FieldRule{
				from("skuExternalID", "product_id"),
				from("skuCode", "sku"),
				from("warehouseExternalID", "source_code"),
				expr("available", `record.status == 1 ? record.quantity : 0`),
				from("onHand", "quantity"),
			},
		},
	}
}
