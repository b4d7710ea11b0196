package walmart

import "github.com/tether/integration-operator/api/v1alpha1"

func from(field, path string) v1alpha1.FieldRule { return v1alpha1.FieldRule{Field: field, From: path} }

// DefaultMapping maps the records this connector reads onto Tether's kinds:
//
//   - Products (one record per Walmart item, that is per SKU) to SKU: the seller's sku, the item's name, its
//     variant group as the product, its UPC and its price.
//   - Locations (ship nodes) to Warehouse, with the ship node ID as code.
//   - Orders (purchase orders) to SalesOrder, with the customer order ID the seller and the buyer see as
//     orderID, the line statuses summarised as status and the sum of all charges and taxes as total; the
//     lines to SalesOrderLine, identified by purchase order and line number, with the SKU as both its code and
//     its external ID (Walmart identifies items by the seller's SKU).
//   - Inventory (one record per SKU and ship node) to InventoryLevel: input quantity as on hand, available
//     to sell, and reserved as committed.
//
// The order fields status, total, currency, orderedAt, updatedAt and lines are computed by the connector
// from Walmart's purchase order (whose dates are epoch milliseconds and whose amounts are per charge). An
// Integration's FieldMapping overrides these rules field by field.
func DefaultMapping() []v1alpha1.EntityMapping {
	return []v1alpha1.EntityMapping{
		{
			Entity: v1alpha1.DataProducts,
			Fields: []v1alpha1.FieldRule{
				from("code", "sku"),
				from("name", "productName"),
				from("productID", "variantGroupId"),
				from("barcode", "upc"),
				from("price", "price.amount"),
			},
		},
		{
			Entity: v1alpha1.DataLocations,
			Fields: []v1alpha1.FieldRule{
				from("name", "shipNodeName"),
				from("code", "shipNode"),
				from("country", "postalAddress.country"),
				from("active", "active"),
			},
		},
		{
			Entity: v1alpha1.DataOrders,
			Fields: []v1alpha1.FieldRule{
				from("orderID", "customerOrderId"),
				from("status", "status"),
				from("currency", "currency"),
				from("total", "total"),
				from("orderedAt", "orderedAt"),
				from("updatedAt", "updatedAt"),
			},
			Lines: &v1alpha1.LineMapping{
				From: "lines",
				Fields: []v1alpha1.FieldRule{
					from("externalID", "id"),
					from("skuExternalID", "sku"),
					from("skuCode", "sku"),
					from("quantity", "quantity"),
					from("price", "unitPrice"),
				},
			},
		},
		{
			Entity: v1alpha1.DataInventory,
			Fields: []v1alpha1.FieldRule{
				from("skuExternalID", "sku"),
				from("skuCode", "sku"),
				from("warehouseExternalID", "shipNode"),
				from("available", "availToSellQty.amount"),
				from("onHand", "inputQty.amount"),
				from("committed", "reservedQty.amount"),
			},
		},
	}
}
