// Package store is Tether's record store: the one interface the sync engine writes through, and its
// implementations (sqlite, embedded and the default).
package store

import (
	"context"
	"time"

	"github.com/tether/integration-operator/internal/tether"
)

// Checkpoint is the sync position of one entity of one integration.
type Checkpoint struct {
	// Watermark is the platform modification time up to which every record of the entity is stored. The next
	// run reads from it (minus the overlap window). Zero before the first complete run.
	Watermark time.Time
	// Resume is the connector's state after the last committed page of an unfinished run; empty when the last
	// run completed.
	Resume string
	// RunSince is the lower bound the unfinished run was started with, so a resumed run reads the same window.
	RunSince time.Time
	// RunMax is the highest modification time seen so far by the unfinished run; it becomes the Watermark
	// when the run completes.
	RunMax time.Time
}

// PageWrite is one page of mapped records and the checkpoint that follows it, applied in one transaction.
type PageWrite struct {
	// Integration identifies the integration, as "namespace/name".
	Integration string
	// Channel identifies the channel its sales orders land in, as "namespace/name".
	Channel string
	// Entity is the data type the page belongs to (its checkpoint key), for example "Orders".
	Entity string
	// Batch holds the mapped records. Each is upserted by (Integration, kind, ExternalID).
	Batch tether.Batch
	// Checkpoint is saved for (Integration, Entity) in the same transaction.
	Checkpoint Checkpoint
}

// WriteResult counts what a write did.
type WriteResult struct {
	// Written counts records created or changed.
	Written int64
	// Skipped counts records already stored with the same content.
	Skipped int64
}

// Snapshot is every record of one integration, sorted by kind and external ID: what tests compare.
type Snapshot struct {
	SKUs            []tether.SKU
	Warehouses      []tether.Warehouse
	SalesOrders     []tether.SalesOrder // with Lines, sorted by line ExternalID
	InventoryLevels []tether.InventoryLevel
	// OrderChannels maps each sales order's ExternalID to the channel it landed in.
	OrderChannels map[string]string
}

// Store is Tether's record store.
type Store interface {
	// WritePage upserts a page of records and saves the checkpoint after it, atomically: after a crash either
	// both are stored or neither is.
	WritePage(ctx context.Context, w PageWrite) (WriteResult, error)
	// SaveCheckpoint saves a checkpoint without records (a run that completes, or a bulk job started).
	SaveCheckpoint(ctx context.Context, integration, entity string, cp Checkpoint) error
	// Checkpoint returns the saved checkpoint, or a zero Checkpoint when there is none.
	Checkpoint(ctx context.Context, integration, entity string) (Checkpoint, error)
	// EnsureChannel creates the channel if it does not exist and updates its display name.
	EnsureChannel(ctx context.Context, channel, displayName string) error
	// Counts returns how many records the integration has stored, per Tether kind.
	Counts(ctx context.Context, integration string) (map[tether.Kind]int64, error)
	// ChannelOrders returns how many sales orders each integration delivered into the channel.
	ChannelOrders(ctx context.Context, channel string) (map[string]int64, error)
	// Snapshot returns every record of the integration.
	Snapshot(ctx context.Context, integration string) (Snapshot, error)
	// Close releases the store.
	Close() error
}
