package shopify

import "github.com/tether/integration-operator/api/v1alpha1"

func from(field, path string) v1alpha1.FieldRule { return v1alpha1.FieldRule{Field: field, From: path} }

// DefaultMapping maps the records this connector reads onto Tether's kinds:
//
//   - Products (one record per variant) to SKU: the variant's sku and barcode and price, its product's title
//     and ID.
//   - Locations to Warehouse. Shopify locations have no code, so the code is the location's numeric ID, the one
//     the Shopify admin shows in its URLs.
//   - Orders to SalesOrder, with the order name ("#1001") as orderID, the fulfilment status as status, and the
//     shop-currency total; line items to SalesOrderLine with the shop-currency unit price.
//   - Inventory (one record per item and location) to InventoryLevel.
//
// An Integration's FieldMapping overrides these rules field by field.
func DefaultMapping() []v1alpha1.EntityMapping {
	return []v1alpha1.EntityMapping{
		{
			Entity: v1alpha1.DataProducts,
			Fields: []v1alpha1.FieldRule{
				from("code", "sku"),
				from("name", "product.title"),
				from("productID", "product.id"),
				from("barcode", "barcode"),
				from("price", "price"),
				from("updatedAt", "updatedAt"),
			},
		},
		{
			Entity: v1alpha1.DataLocations,
			Fields: []v1alpha1.FieldRule{
				from("name", "name"),
				from("code", "legacyResourceId"),
				from("country", "address.countryCode"),
				from("active", "isActive"),
				from("updatedAt", "updatedAt"),
			},
		},
		{
			Entity: v1alpha1.DataOrders,
			Fields: []v1alpha1.FieldRule{
				from("orderID", "name"),
				from("status", "displayFulfillmentStatus"),
				from("currency", "currencyCode"),
				from("total", "totalPriceSet.shopMoney.amount"),
				from("orderedAt", "createdAt"),
				from("updatedAt", "updatedAt"),
			},
			Lines: &v1alpha1.LineMapping{
				From: "lineItems",
				Fields: []v1alpha1.FieldRule{
					from("externalID", "id"),
					from("skuExternalID", "variant.id"),
					from("skuCode", "sku"),
					from("quantity", "quantity"),
					from("price", "originalUnitPriceSet.shopMoney.amount"),
				},
			},
		},
		{
			Entity: v1alpha1.DataInventory,
			Fields: []v1alpha1.FieldRule{
				from("skuExternalID", "inventoryItem.variant.id"),
				from("skuCode", "inventoryItem.sku"),
				from("warehouseExternalID", "location.id"),
				from("available", "available"),
				from("onHand", "onHand"),
				from("committed", "committed"),
				from("updatedAt", "updatedAt"),
			},
		},
	}
}
