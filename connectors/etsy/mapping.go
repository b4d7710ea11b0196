package etsy

import "github.com/tether/integration-operator/api/v1alpha1"

func from(field, path string) v1alpha1.FieldRule { return v1alpha1.FieldRule{Field: field, From: path} }

// DefaultMapping maps the records this connector reads onto Tether's kinds. The paths read the fields the
// connector adds to Etsy's objects (camelCase, so they never collide with Etsy's snake_case): decimal money
// strings from Etsy's {amount, divisor} objects, RFC 3339 times from its epoch seconds, IDs as strings.
//
//   - Products (one record per listing inventory product) to SKU: the product's sku, the listing title with
//     the product's property values as name, the listing ID as productID, the first live offering's price.
//     Etsy has no barcodes.
//   - Locations (the shop, Etsy's only stock location) to Warehouse: shop name, country, and active unless
//     the shop is on vacation. The code is the shop ID.
//   - Orders (receipts) to SalesOrder: the receipt ID (Etsy's order number) as orderID, Etsy's status word,
//     the grand total and its currency; transactions to SalesOrderLine with the product ID as the SKU's
//     external ID and the unit price.
//   - Inventory (one record per product, at the shop) to InventoryLevel with the offerings' quantity as
//     available. Etsy reports no on-hand or committed quantities.
//
// An Integration's FieldMapping overrides these rules field by field.
func DefaultMapping() []v1alpha1.EntityMapping {
	return []v1alpha1.EntityMapping{
		{
			Entity: v1alpha1.DataProducts,
			Fields: []v1alpha1.FieldRule{
				from("code", "sku"),
				from("name", "name"),
				from("productID", "listingID"),
				from("price", "price"),
				from("updatedAt", "updatedAt"),
			},
		},
		{
			Entity: v1alpha1.DataLocations,
			Fields: []v1alpha1.FieldRule{
				from("name", "name"),
				from("code", "shopID"),
				from("country", "country"),
				from("active", "active"),
				from("updatedAt", "updatedAt"),
			},
		},
		{
			Entity: v1alpha1.DataOrders,
			Fields: []v1alpha1.FieldRule{
				from("orderID", "receiptID"),
				from("status", "status"),
				from("currency", "currency"),
				from("total", "total"),
				from("orderedAt", "createdAt"),
				from("updatedAt", "updatedAt"),
			},
			Lines: &v1alpha1.LineMapping{
				From: "lines",
				Fields: []v1alpha1.FieldRule{
					from("externalID", "transactionID"),
					from("skuExternalID", "productID"),
					from("skuCode", "sku"),
					from("quantity", "quantity"),
					from("price", "unitPrice"),
				},
			},
		},
		{
			Entity: v1alpha1.DataInventory,
			Fields: []v1alpha1.FieldRule{
				from("skuExternalID", "productID"),
				from("skuCode", "sku"),
				from("warehouseExternalID", "warehouseID"),
				from("available", "available"),
				from("updatedAt", "updatedAt"),
			},
		},
	}
}
