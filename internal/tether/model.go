// Package tether is Tether's own data model: the records every connector's data becomes, whatever the platform.
package tether

import "time"

// Kind names a Tether record type. Field mappings target kinds; the store keeps one table per kind.
type Kind string

const (
	KindSKU            Kind = "SKU"
	KindWarehouse      Kind = "Warehouse"
	KindSalesOrder     Kind = "SalesOrder"
	KindSalesOrderLine Kind = "SalesOrderLine"
	KindInventoryLevel Kind = "InventoryLevel"
)

// SKU is one sellable item (a product variant on most platforms).
type SKU struct {
	ExternalID string // the platform's stable ID of the variant
	Code       string // the merchant's SKU code; not unique on every platform
	Name       string
	ProductID  string // the platform's ID of the parent product, if any
	Barcode    string
	Price      string // decimal, as a string to keep the platform's precision
	UpdatedAt  time.Time
}

// Warehouse is a place stock is held (a location, fulfilment centre or ship node).
type Warehouse struct {
	ExternalID string
	Name       string
	Code       string
	Country    string
	Active     bool
	UpdatedAt  time.Time
}

// SalesOrder is one order from a sales channel, with its lines.
type SalesOrder struct {
	ExternalID string
	OrderID    string // the order number the merchant sees (Shopify's "#1001")
	Status     string
	Currency   string
	Total      string // decimal as a string
	OrderedAt  time.Time
	UpdatedAt  time.Time
	Lines      []SalesOrderLine
}

// SalesOrderLine is one line of a SalesOrder.
type SalesOrderLine struct {
	ExternalID    string
	SKUExternalID string // the platform's ID of the SKU, when the line has one
	SKUCode       string
	Quantity      int64
	Price         string // unit price, decimal as a string
}

// InventoryLevel is the stock of one SKU at one warehouse.
type InventoryLevel struct {
	ExternalID          string // stable per (item, location), built by the connector
	SKUExternalID       string
	SKUCode             string
	WarehouseExternalID string
	Available           int64
	OnHand              int64
	Committed           int64
	UpdatedAt           time.Time
}

// Batch is the mapped content of one page: what the store upserts in one transaction.
type Batch struct {
	SKUs            []SKU
	Warehouses      []Warehouse
	SalesOrders     []SalesOrder
	InventoryLevels []InventoryLevel
}

// Len is the number of top-level records in the batch.
func (b *Batch) Len() int {
	return len(b.SKUs) + len(b.Warehouses) + len(b.SalesOrders) + len(b.InventoryLevels)
}
