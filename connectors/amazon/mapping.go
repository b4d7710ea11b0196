package amazon

import "github.com/tether/integration-operator/api/v1alpha1"

func from(field, path string) v1alpha1.FieldRule { return v1alpha1.FieldRule{Field: field, From: path} }

// DefaultMapping maps the records this connector reads onto Tether's kinds:
//
//   - Orders to SalesOrder: AmazonOrderId, OrderStatus, the OrderTotal (absent while an order is Pending),
//     PurchaseDate and LastUpdateDate; OrderItems to SalesOrderLine by OrderItemId, with the SellerSKU as
//     both the SKU's ID and code and the UnitPrice the connector derives from ItemPrice / QuantityOrdered.
//     In 2026-01-01 mode the connector adds these same v0 names to each order.
//   - Products (one record per seller SKU, from the FBA inventory summaries) to SKU: sellerSku as code,
//     productName as name, the ASIN as productID and the FNSKU (the barcode on FBA labels) as barcode.
//     Summaries carry no price.
//   - Locations (one synthetic warehouse per marketplace's FBA network) to Warehouse.
//   - Inventory (one record per seller SKU and marketplace) to InventoryLevel: fulfillable quantity as
//     available, totalQuantity as on hand and the reserved quantity as committed.
//
// An Integration's FieldMapping overrides these rules field by field.
func DefaultMapping() []v1alpha1.EntityMapping {
	return []v1alpha1.EntityMapping{
		{
			Entity: v1alpha1.DataProducts,
			Fields: []v1alpha1.FieldRule{
				from("code", "sellerSku"),
				from("name", "productName"),
				from("productID", "asin"),
				from("barcode", "fnSku"),
			},
		},
		{
			Entity: v1alpha1.DataLocations,
			Fields: []v1alpha1.FieldRule{
				from("name", "name"),
				from("code", "code"),
				from("country", "countryCode"),
				from("active", "active"),
			},
		},
		{
			Entity: v1alpha1.DataOrders,
			Fields: []v1alpha1.FieldRule{
				from("orderID", "AmazonOrderId"),
				from("status", "OrderStatus"),
				from("currency", "OrderTotal.CurrencyCode"),
				from("total", "OrderTotal.Amount"),
				from("orderedAt", "PurchaseDate"),
				from("updatedAt", "LastUpdateDate"),
			},
			Lines: &v1alpha1.LineMapping{
				From: "OrderItems",
				Fields: []v1alpha1.FieldRule{
					from("externalID", "OrderItemId"),
					from("skuExternalID", "SellerSKU"),
					from("skuCode", "SellerSKU"),
					from("quantity", "QuantityOrdered"),
					from("price", "UnitPrice.Amount"),
				},
			},
		},
		{
			Entity: v1alpha1.DataInventory,
			Fields: []v1alpha1.FieldRule{
				from("skuExternalID", "sellerSku"),
				from("skuCode", "sellerSku"),
				from("warehouseExternalID", "warehouseId"),
				from("available", "inventoryDetails.fulfillableQuantity"),
				from("onHand", "totalQuantity"),
				from("committed", "inventoryDetails.reservedQuantity.totalReservedQuantity"),
				from("updatedAt", "lastUpdatedTime"),
			},
		},
	}
}
