package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the schema changes, in order; after migrations[i] has run, the database's user_version is
// i+1. Append to the list to change the schema; never edit a migration that has shipped.
//
// Every record table is keyed by (integration, external_id) (order lines by (integration,
// order_external_id, external_id)) and holds a hash of the record's content, so that rewriting an unchanged
// record is detected and skipped. Times are UTC RFC 3339 text with nanoseconds, NULL for the zero time.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE channels (
	name         TEXT NOT NULL PRIMARY KEY CHECK (name <> ''),
	display_name TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE skus (
	integration TEXT NOT NULL CHECK (integration <> ''),
	external_id TEXT NOT NULL CHECK (external_id <> ''),
	code        TEXT NOT NULL,
	name        TEXT NOT NULL,
	product_id  TEXT NOT NULL,
	barcode     TEXT NOT NULL,
	price       TEXT NOT NULL,
	updated_at  TEXT,
	hash        BLOB NOT NULL,
	PRIMARY KEY (integration, external_id)
) WITHOUT ROWID;

CREATE TABLE warehouses (
	integration TEXT NOT NULL CHECK (integration <> ''),
	external_id TEXT NOT NULL CHECK (external_id <> ''),
	name        TEXT NOT NULL,
	code        TEXT NOT NULL,
	country     TEXT NOT NULL,
	active      INTEGER NOT NULL,
	updated_at  TEXT,
	hash        BLOB NOT NULL,
	PRIMARY KEY (integration, external_id)
) WITHOUT ROWID;

CREATE TABLE sales_orders (
	integration TEXT NOT NULL CHECK (integration <> ''),
	external_id TEXT NOT NULL CHECK (external_id <> ''),
	channel     TEXT NOT NULL REFERENCES channels (name),
	order_id    TEXT NOT NULL,
	status      TEXT NOT NULL,
	currency    TEXT NOT NULL,
	total       TEXT NOT NULL,
	ordered_at  TEXT,
	updated_at  TEXT,
	hash        BLOB NOT NULL,
	PRIMARY KEY (integration, external_id)
) WITHOUT ROWID;

CREATE INDEX sales_orders_by_channel ON sales_orders (channel, integration);

CREATE TABLE sales_order_lines (
	integration       TEXT NOT NULL,
	order_external_id TEXT NOT NULL,
	external_id       TEXT NOT NULL CHECK (external_id <> ''),
	sku_external_id   TEXT NOT NULL,
	sku_code          TEXT NOT NULL,
	quantity          INTEGER NOT NULL,
	price             TEXT NOT NULL,
	PRIMARY KEY (integration, order_external_id, external_id),
	FOREIGN KEY (integration, order_external_id)
		REFERENCES sales_orders (integration, external_id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE inventory_levels (
	integration           TEXT NOT NULL CHECK (integration <> ''),
	external_id           TEXT NOT NULL CHECK (external_id <> ''),
	sku_external_id       TEXT NOT NULL,
	sku_code              TEXT NOT NULL,
	warehouse_external_id TEXT NOT NULL,
	available             INTEGER NOT NULL,
	on_hand               INTEGER NOT NULL,
	committed             INTEGER NOT NULL,
	updated_at            TEXT,
	hash                  BLOB NOT NULL,
	PRIMARY KEY (integration, external_id)
) WITHOUT ROWID;

CREATE TABLE checkpoints (
	integration TEXT NOT NULL CHECK (integration <> ''),
	entity      TEXT NOT NULL CHECK (entity <> ''),
	watermark   TEXT,
	resume      TEXT NOT NULL,
	run_since   TEXT,
	run_max     TEXT,
	PRIMARY KEY (integration, entity)
) WITHOUT ROWID;
`,
}

// migrate brings the schema of db up to the newest version, in one immediate transaction, so that two
// processes opening a new database at once do not both create it.
func migrate(ctx context.Context, db *sql.DB) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("migrate: database schema version %d is newer than this program's %d", version, len(migrations))
	}
	if version == len(migrations) {
		return tx.Commit()
	}
	for v := version; v < len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate: schema version %d: %w", v+1, err)
		}
	}
	// PRAGMA takes no parameters; the version is a number this program chose.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("migrate: set schema version %d: %w", len(migrations), err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}
