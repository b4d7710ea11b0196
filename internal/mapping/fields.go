package mapping

import (
	"fmt"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/internal/tether"
)

// Type is the type of a Tether field, which a rule's value is converted to.
type Type string

const (
	// TypeString is a string. Strings and numbers convert; other values do not.
	TypeString Type = "string"
	// TypeInt is an int64. Integral numbers and integral numeric strings ("5", "5.00") convert.
	TypeInt Type = "int"
	// TypeDecimal is a decimal number kept as its canonical decimal string ("12.50", "-3", "0.5"), so no
	// precision is lost. Numbers and numeric strings convert; anything else is rejected.
	TypeDecimal Type = "decimal"
	// TypeTime is an instant. RFC 3339 strings (and CEL timestamps) convert; the result is in UTC.
	TypeTime Type = "time"
	// TypeBool is a boolean. Booleans and the strings strconv.ParseBool accepts ("true", "false", "1", "0")
	// convert.
	TypeBool Type = "bool"
)

// Field describes one mappable field of a Tether kind.
type Field struct {
	// Name is the name rules use in FieldRule.Field, for example "name" or "skuCode".
	Name string
	// Type is what the rule's value is converted to.
	Type Type
	// Required fields must be given a value for every record: a rule whose value is missing and that has no
	// default fails the record.
	Required bool
	// Description says what the field holds, for documentation.
	Description string
}

// value is a converted rule result; only the member matching the field's Type is meaningful.
type value struct {
	str string
	i   int64
	t   time.Time
	b   bool
}

// fieldSpec is a Field together with the code that stores a value into the Tether struct T.
type fieldSpec[T any] struct {
	Field
	set func(dst *T, v value)
}

var skuFields = []fieldSpec[tether.SKU]{
	{Field{"code", TypeString, false, "the merchant's SKU code"}, func(d *tether.SKU, v value) { d.Code = v.str }},
	{Field{"name", TypeString, false, "the item's display name"}, func(d *tether.SKU, v value) { d.Name = v.str }},
	{Field{"productID", TypeString, false, "the platform's ID of the parent product"}, func(d *tether.SKU, v value) { d.ProductID = v.str }},
	{Field{"barcode", TypeString, false, "the barcode (GTIN, UPC, EAN)"}, func(d *tether.SKU, v value) { d.Barcode = v.str }},
	{Field{"price", TypeDecimal, false, "the selling price"}, func(d *tether.SKU, v value) { d.Price = v.str }},
	{Field{"updatedAt", TypeTime, false, "the modification time; the record's UpdatedAt when no rule yields one"}, func(d *tether.SKU, v value) { d.UpdatedAt = v.t }},
}

var warehouseFields = []fieldSpec[tether.Warehouse]{
	{Field{"name", TypeString, false, "the location's display name"}, func(d *tether.Warehouse, v value) { d.Name = v.str }},
	{Field{"code", TypeString, false, "the location's short code"}, func(d *tether.Warehouse, v value) { d.Code = v.str }},
	{Field{"country", TypeString, false, "the location's country"}, func(d *tether.Warehouse, v value) { d.Country = v.str }},
	{Field{"active", TypeBool, false, "whether the location holds stock now"}, func(d *tether.Warehouse, v value) { d.Active = v.b }},
	{Field{"updatedAt", TypeTime, false, "the modification time; the record's UpdatedAt when no rule yields one"}, func(d *tether.Warehouse, v value) { d.UpdatedAt = v.t }},
}

var salesOrderFields = []fieldSpec[tether.SalesOrder]{
	{Field{"orderID", TypeString, false, "the order number the merchant sees"}, func(d *tether.SalesOrder, v value) { d.OrderID = v.str }},
	{Field{"status", TypeString, false, "the order's status"}, func(d *tether.SalesOrder, v value) { d.Status = v.str }},
	{Field{"currency", TypeString, false, "the ISO 4217 currency code"}, func(d *tether.SalesOrder, v value) { d.Currency = v.str }},
	{Field{"total", TypeDecimal, false, "the order total"}, func(d *tether.SalesOrder, v value) { d.Total = v.str }},
	{Field{"orderedAt", TypeTime, false, "when the order was placed"}, func(d *tether.SalesOrder, v value) { d.OrderedAt = v.t }},
	{Field{"updatedAt", TypeTime, false, "the modification time; the record's UpdatedAt when no rule yields one"}, func(d *tether.SalesOrder, v value) { d.UpdatedAt = v.t }},
}

var salesOrderLineFields = []fieldSpec[tether.SalesOrderLine]{
	{Field{"externalID", TypeString, true, "the platform's stable ID of the line"}, func(d *tether.SalesOrderLine, v value) { d.ExternalID = v.str }},
	{Field{"skuExternalID", TypeString, false, "the platform's ID of the line's SKU"}, func(d *tether.SalesOrderLine, v value) { d.SKUExternalID = v.str }},
	{Field{"skuCode", TypeString, false, "the line's SKU code"}, func(d *tether.SalesOrderLine, v value) { d.SKUCode = v.str }},
	{Field{"quantity", TypeInt, false, "the quantity ordered"}, func(d *tether.SalesOrderLine, v value) { d.Quantity = v.i }},
	{Field{"price", TypeDecimal, false, "the unit price"}, func(d *tether.SalesOrderLine, v value) { d.Price = v.str }},
}

var inventoryLevelFields = []fieldSpec[tether.InventoryLevel]{
	{Field{"skuExternalID", TypeString, false, "the platform's ID of the SKU"}, func(d *tether.InventoryLevel, v value) { d.SKUExternalID = v.str }},
	{Field{"skuCode", TypeString, false, "the SKU's code"}, func(d *tether.InventoryLevel, v value) { d.SKUCode = v.str }},
	{Field{"warehouseExternalID", TypeString, false, "the platform's ID of the warehouse"}, func(d *tether.InventoryLevel, v value) { d.WarehouseExternalID = v.str }},
	{Field{"available", TypeInt, false, "the quantity available to sell"}, func(d *tether.InventoryLevel, v value) { d.Available = v.i }},
	{Field{"onHand", TypeInt, false, "the quantity physically on hand"}, func(d *tether.InventoryLevel, v value) { d.OnHand = v.i }},
	{Field{"committed", TypeInt, false, "the quantity committed to orders"}, func(d *tether.InventoryLevel, v value) { d.Committed = v.i }},
	{Field{"updatedAt", TypeTime, false, "the modification time; the record's UpdatedAt when no rule yields one"}, func(d *tether.InventoryLevel, v value) { d.UpdatedAt = v.t }},
}

// Fields lists the mappable fields of a Tether kind, in documentation order, or nil for an unknown kind.
// ExternalID is not listed: a top-level record's ExternalID is always the platform record's ID. The
// returned slice is the caller's to keep.
func Fields(kind tether.Kind) []Field {
	switch kind {
	case tether.KindSKU:
		return publicFields(skuFields)
	case tether.KindWarehouse:
		return publicFields(warehouseFields)
	case tether.KindSalesOrder:
		return publicFields(salesOrderFields)
	case tether.KindSalesOrderLine:
		return publicFields(salesOrderLineFields)
	case tether.KindInventoryLevel:
		return publicFields(inventoryLevelFields)
	}
	return nil
}

func publicFields[T any](specs []fieldSpec[T]) []Field {
	out := make([]Field, len(specs))
	for i := range specs {
		out[i] = specs[i].Field
	}
	return out
}

// mappableEntities are the data types with a Tether kind, in the order Entities reports them.
var mappableEntities = []v1alpha1.DataType{
	v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory,
}

// KindFor returns the Tether kind an entity's records map to: Products to SKU, Locations to Warehouse,
// Orders to SalesOrder and Inventory to InventoryLevel. PurchaseOrders and unknown entities are an error.
func KindFor(entity v1alpha1.DataType) (tether.Kind, error) {
	switch entity {
	case v1alpha1.DataProducts:
		return tether.KindSKU, nil
	case v1alpha1.DataLocations:
		return tether.KindWarehouse, nil
	case v1alpha1.DataOrders:
		return tether.KindSalesOrder, nil
	case v1alpha1.DataInventory:
		return tether.KindInventoryLevel, nil
	case v1alpha1.DataPurchaseOrders:
		return "", fmt.Errorf("%s cannot be mapped yet: Tether has no purchase order kind", entity)
	}
	return "", fmt.Errorf("unknown entity %q; mappable entities are %s", entity, joinEntities(mappableEntities))
}

// LineKind returns the Tether kind of an entity's nested lines and whether it has lines: SalesOrderLine
// for Orders.
func LineKind(entity v1alpha1.DataType) (tether.Kind, bool) {
	if entity == v1alpha1.DataOrders {
		return tether.KindSalesOrderLine, true
	}
	return "", false
}

func joinEntities(es []v1alpha1.DataType) string {
	s := ""
	for i, e := range es {
		if i > 0 {
			s += ", "
		}
		s += string(e)
	}
	return s
}
