package bigcommerce

import "github.com/tether/integration-operator/api/v1alpha1"

func from(field, path string) v1alpha1.FieldRule { return v1alpha1.FieldRule{Field: field, From: path} }

// DefaultMapping maps the records this connector reads onto Tether's kinds:
//
//   - Products (one record per variant) to SKU: the variant's sku, upc and storefront price
//     (calculated_price, which applies a sale price), its product's name and ID.
//   - Locations to Warehouse: label, code, country and enabled.
//   - Orders to SalesOrder, with the order ID (BigCommerce's order number) as orderID, the status label, the
//     transactional currency and total_inc_tax; order products to SalesOrderLine with the unit price
//     excluding tax. The connector has already rewritten the v2 RFC 2822 dates as RFC 3339.
//   - Inventory (one record per variant and location) to InventoryLevel: available_to_sell and
//     total_inventory_onhand. BigCommerce does not report a committed quantity, and levels carry no
//     modification time.
//
// An Integration's FieldMapping overrides these rules field by field.
func DefaultMapping() []v1alpha1.EntityMapping {
	return []v1alpha1.EntityMapping{
		{
			Entity: v1alpha1.DataProducts,
			Fields: []v1alpha1.FieldRule{
				from("code", "sku"),
				from("name", "product.name"),
				from("productID", "product_id"),
				from("barcode", "upc"),
				from("price", "calculated_price"),
				from("updatedAt", "product.date_modified"),
			},
		},
		{
			Entity: v1alpha1.DataLocations,
			Fields: []v1alpha1.FieldRule{
				from("name", "label"),
				from("code", "code"),
				from("country", "address.country_code"),
				from("active", "enabled"),
				from("updatedAt", "updated_at"),
			},
		},
		{
			Entity: v1alpha1.DataOrders,
			Fields: []v1alpha1.FieldRule{
				from("orderID", "id"),
				from("status", "status"),
				from("currency", "currency_code"),
				from("total", "total_inc_tax"),
				from("orderedAt", "date_created"),
				from("updatedAt", "date_modified"),
			},
			Lines: &v1alpha1.LineMapping{
				From: "line_items",
				Fields: []v1alpha1.FieldRule{
					from("externalID", "id"),
					from("skuExternalID", "variant_id"),
					from("skuCode", "sku"),
					from("quantity", "quantity"),
					from("price", "price_ex_tax"),
				},
			},
		},
		{
			Entity: v1alpha1.DataInventory,
			Fields: []v1alpha1.FieldRule{
				from("skuExternalID", "identity.variant_id"),
				from("skuCode", "identity.sku"),
				from("warehouseExternalID", "location_id"),
				from("available", "available_to_sell"),
				from("onHand", "total_inventory_onhand"),
			},
		},
	}
}
