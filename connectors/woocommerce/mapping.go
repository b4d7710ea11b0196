package woocommerce

import "github.com/tether/integration-operator/api/v1alpha1"

func from(field, path string) v1alpha1.FieldRule { return v1alpha1.FieldRule{Field: field, From: path} }

func expr(field, expression string) v1alpha1.FieldRule {
	return v1alpha1.FieldRule{Field: field, Expression: expression}
}

// DefaultMapping maps the records this connector reads onto Tether's kinds:
//
//   - Products (one record per simple product or variation) to SKU: its sku, price and global_unique_id
//     (GTIN/UPC/EAN/ISBN, WooCommerce 9.2+), its product's ID, and its product's name with the variation's
//     attribute options ("Classic Tee - Large").
//   - Locations (the one synthetic "default" location) to Warehouse.
//   - Orders to SalesOrder: number, status, currency, total, and date_created_gmt read as UTC (WooCommerce
//     writes GMT dates without a zone, so a plain path would not parse); line_items to SalesOrderLine, whose
//     SKU is the variation when there is one and the product otherwise.
//   - Inventory (one record per stock-managed SKU) to InventoryLevel at the "default" warehouse; WooCommerce
//     keeps one stock number, so available and onHand are both stock_quantity.
//
// updatedAt is left to each record's UpdatedAt (date_modified_gmt; for variations the later of theirs and
// their product's). An Integration's FieldMapping overrides these rules field by field.
func DefaultMapping() []v1alpha1.EntityMapping {
	return []v1alpha1.EntityMapping{
		{
			Entity: v1alpha1.DataProducts,
			Fields: []v1alpha1.FieldRule{
				from("code", "sku"),
				expr("name", `record.product.name + (record.product.type == "variable" && has(record.attributes) && size(record.attributes) > 0 ? " - " + record.attributes.map(a, string(a.option)).join(", ") : "")`),
				from("productID", "product.id"),
				from("barcode", "global_unique_id"),
				from("price", "price"),
			},
		},
		{
			Entity: v1alpha1.DataLocations,
			Fields: []v1alpha1.FieldRule{
				from("name", "name"),
				from("code", "code"),
				from("country", "country"),
				from("active", "active"),
			},
		},
		{
			Entity: v1alpha1.DataOrders,
			Fields: []v1alpha1.FieldRule{
				from("orderID", "number"),
				from("status", "status"),
				from("currency", "currency"),
				from("total", "total"),
				expr("orderedAt", `timestamp(record.date_created_gmt + "Z")`),
			},
			Lines: &v1alpha1.LineMapping{
				From: "line_items",
				Fields: []v1alpha1.FieldRule{
					from("externalID", "id"),
					expr("skuExternalID", `string(int(line.variation_id) != 0 ? int(line.variation_id) : int(line.product_id))`),
					from("skuCode", "sku"),
					from("quantity", "quantity"),
					from("price", "price"),
				},
			},
		},
		{
			Entity: v1alpha1.DataInventory,
			Fields: []v1alpha1.FieldRule{
				from("skuExternalID", "sku_id"),
				from("skuCode", "sku"),
				from("warehouseExternalID", "location_id"),
				from("available", "stock_quantity"),
				from("onHand", "stock_quantity"),
			},
		},
	}
}
