package ebay

import "github.com/tether/integration-operator/api/v1alpha1"

func from(field, path string) v1alpha1.FieldRule { return v1alpha1.FieldRule{Field: field, From: path} }

func expr(field, cel string) v1alpha1.FieldRule {
	return v1alpha1.FieldRule{Field: field, Expression: cel}
}

// DefaultMapping maps the records this connector reads onto Tether's kinds:
//
//   - Products (one record per inventory item, keyed by SKU) to SKU: the sku, product title, the first
//     inventory item group key as the product ID (the SKU itself for an item outside any group), and the
//     first UPC or EAN as barcode. Prices live on offers, which are not read; the Inventory API keeps no
//     modification time.
//   - Locations to Warehouse: the merchantLocationKey is the code; ENABLED locations are active.
//   - Orders to SalesOrder: the orderId, the fulfilment status (CANCELED when eBay cancelled the order), and
//     the pricingSummary total; line items to SalesOrderLine, with the SKU as the SKU's ID and the unit price
//     the connector derives from lineItemCost and quantity.
//   - Inventory (one record per SKU and location) to InventoryLevel with the quantity available to ship from
//     that location. eBay reports no on-hand or committed quantities.
//
// An Integration's FieldMapping overrides these rules field by field.
func DefaultMapping() []v1alpha1.EntityMapping {
	return []v1alpha1.EntityMapping{
		{
			Entity: v1alpha1.DataProducts,
			Fields: []v1alpha1.FieldRule{
				from("code", "sku"),
				from("name", "product.title"),
				expr("productID", `has(record.inventoryItemGroupKeys) && size(record.inventoryItemGroupKeys) > 0 ? `+
					`record.inventoryItemGroupKeys[0] : record.sku`),
				expr("barcode", `!has(record.product) ? "" : `+
					`has(record.product.upc) && size(record.product.upc) > 0 ? record.product.upc[0] : `+
					`has(record.product.ean) && size(record.product.ean) > 0 ? record.product.ean[0] : ""`),
			},
		},
		{
			Entity: v1alpha1.DataLocations,
			Fields: []v1alpha1.FieldRule{
				from("name", "name"),
				from("code", "merchantLocationKey"),
				from("country", "location.address.country"),
				expr("active", `has(record.merchantLocationStatus) && record.merchantLocationStatus == "ENABLED"`),
			},
		},
		{
			Entity: v1alpha1.DataOrders,
			Fields: []v1alpha1.FieldRule{
				from("orderID", "orderId"),
				expr("status", `has(record.cancelStatus) && has(record.cancelStatus.cancelState) && `+
					`record.cancelStatus.cancelState == "CANCELED" ? "CANCELED" : record.orderFulfillmentStatus`),
				from("currency", "pricingSummary.total.currency"),
				from("total", "pricingSummary.total.value"),
				from("orderedAt", "creationDate"),
				from("updatedAt", "lastModifiedDate"),
			},
			Lines: &v1alpha1.LineMapping{
				From: "lineItems",
				Fields: []v1alpha1.FieldRule{
					from("externalID", "lineItemId"),
					from("skuExternalID", "sku"),
					from("skuCode", "sku"),
					from("quantity", "quantity"),
					from("price", "unitPrice.value"),
				},
			},
		},
		{
			Entity: v1alpha1.DataInventory,
			Fields: []v1alpha1.FieldRule{
				from("skuExternalID", "sku"),
				from("skuCode", "sku"),
				from("warehouseExternalID", "merchantLocationKey"),
				from("available", "quantity"),
			},
		},
	}
}
