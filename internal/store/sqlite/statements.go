package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"strings"
)

// maxRowsLog2 sets the largest multi-row statement: 1<<maxRowsLog2 rows. Batches are written with
// statements of power-of-two row counts (a 250-row batch as 128+64+32+16+8+2), so that a small, fixed set
// of prepared statements serves every batch size.
const maxRowsLog2 = 7

// table describes a multi-row upsert into one record table.
type table struct {
	name string
	cols []string // in the order a row's arguments are given
	// key is the conflict target; the other columns are updated when the stored hash differs.
	key []string
	// upsert makes the statement an upsert that changes a stored row only when its hash differs; otherwise
	// it is a plain INSERT that fails on a duplicate key.
	upsert bool
	// returning, when set, is the column the statement returns for each row it inserted or changed.
	returning string
}

var (
	skuTable = table{
		name:   "skus",
		cols:   []string{"integration", "external_id", "code", "name", "product_id", "barcode", "price", "updated_at", "hash"},
		key:    []string{"integration", "external_id"},
		upsert: true,
	}
	warehouseTable = table{
		name:   "warehouses",
		cols:   []string{"integration", "external_id", "name", "code", "country", "active", "updated_at", "hash"},
		key:    []string{"integration", "external_id"},
		upsert: true,
	}
	orderTable = table{
		name:      "sales_orders",
		cols:      []string{"integration", "external_id", "channel", "order_id", "status", "currency", "total", "ordered_at", "updated_at", "hash"},
		key:       []string{"integration", "external_id"},
		upsert:    true,
		returning: "external_id",
	}
	lineTable = table{
		name: "sales_order_lines",
		cols: []string{"integration", "order_external_id", "external_id", "sku_external_id", "sku_code", "quantity", "price"},
	}
	inventoryTable = table{
		name:   "inventory_levels",
		cols:   []string{"integration", "external_id", "sku_external_id", "sku_code", "warehouse_external_id", "available", "on_hand", "committed", "updated_at", "hash"},
		key:    []string{"integration", "external_id"},
		upsert: true,
	}
)

// insertSQL returns the statement that writes rows rows into t.
func (t *table) insertSQL(rows int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", t.name, strings.Join(t.cols, ", "))
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.cols)), ", ") + ")"
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	if t.upsert {
		fmt.Fprintf(&b, " ON CONFLICT (%s) DO UPDATE SET ", strings.Join(t.key, ", "))
		first := true
		for _, c := range t.cols {
			if isKey(t.key, c) {
				continue
			}
			if !first {
				b.WriteString(", ")
			}
			first = false
			fmt.Fprintf(&b, "%s = excluded.%s", c, c)
		}
		fmt.Fprintf(&b, " WHERE %s.hash IS NOT excluded.hash", t.name)
	}
	if t.returning != "" {
		fmt.Fprintf(&b, " RETURNING %s", t.returning)
	}
	return b.String()
}

func isKey(key []string, col string) bool {
	for _, k := range key {
		if k == col {
			return true
		}
	}
	return false
}

// deleteLinesSQL returns the statement that deletes the lines of n orders of one integration.
func deleteLinesSQL(n int) string {
	return "DELETE FROM sales_order_lines WHERE integration = ? AND order_external_id IN (" +
		strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

// sized holds one statement per power-of-two row count, index i for 1<<i rows.
type sized [maxRowsLog2 + 1]*sql.Stmt

// statements are the write statements, prepared once on the writer pool and bound to each write transaction.
type statements struct {
	skus, warehouses, orders, lines, inventory, deleteLines sized

	ensureChannelExists *sql.Stmt
	saveCheckpoint      *sql.Stmt
}

const (
	ensureChannelExistsSQL = `INSERT INTO channels (name) VALUES (?) ON CONFLICT (name) DO NOTHING`
	ensureChannelSQL       = `INSERT INTO channels (name, display_name) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET display_name = excluded.display_name`
	saveCheckpointSQL = `INSERT INTO checkpoints (integration, entity, watermark, resume, run_since, run_max)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (integration, entity) DO UPDATE SET watermark = excluded.watermark,
			resume = excluded.resume, run_since = excluded.run_since, run_max = excluded.run_max`
)

// prepareStatements prepares every write statement on db. It runs before any transaction holds db's one
// connection (preparing inside one would wait for that connection forever).
func prepareStatements(ctx context.Context, db *sql.DB) (*statements, error) {
	st := &statements{}
	prep := func(query string) (*sql.Stmt, error) {
		s, err := db.PrepareContext(ctx, query)
		if err != nil {
			return nil, fmt.Errorf("prepare %.60q: %w", query, err)
		}
		return s, nil
	}
	for _, set := range []struct {
		dst *sized
		sql func(int) string
	}{
		{&st.skus, skuTable.insertSQL},
		{&st.warehouses, warehouseTable.insertSQL},
		{&st.orders, orderTable.insertSQL},
		{&st.lines, lineTable.insertSQL},
		{&st.inventory, inventoryTable.insertSQL},
		{&st.deleteLines, deleteLinesSQL},
	} {
		for i := range set.dst {
			s, err := prep(set.sql(1 << i))
			if err != nil {
				return nil, err
			}
			set.dst[i] = s
		}
	}
	var err error
	if st.ensureChannelExists, err = prep(ensureChannelExistsSQL); err != nil {
		return nil, err
	}
	if st.saveCheckpoint, err = prep(saveCheckpointSQL); err != nil {
		return nil, err
	}
	return st, nil
}

// chunks calls f for consecutive runs of n items, each run a power of two no longer than 1<<maxRowsLog2,
// longest first, with the index of the statement that writes it.
func chunks(n int, f func(start, count, stmt int) error) error {
	for start := 0; start < n; {
		rest := n - start
		i := min(bits.Len(uint(rest))-1, maxRowsLog2)
		count := 1 << i
		if err := f(start, count, i); err != nil {
			return err
		}
		start += count
	}
	return nil
}
