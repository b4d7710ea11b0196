package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tether/integration-operator/internal/store"
	"github.com/tether/integration-operator/internal/tether"
)

// WritePage upserts the page's records and saves its checkpoint in one transaction.
//
// A record whose stored content is identical is counted Skipped and left untouched; a new or changed one is
// counted Written. A changed sales order has its lines replaced by the page's. When a record appears more
// than once in the page (same kind and ExternalID), the last occurrence is the one written and the earlier
// ones are counted Skipped, so Written+Skipped is always w.Batch.Len(). The channel of the page's sales
// orders is created, with an empty display name, if it does not exist.
//
// WritePage rejects, wrapping ErrInvalid and storing nothing, a page with an empty Integration or Entity, a
// page with sales orders and an empty Channel, a record or order line with an empty ExternalID, or a time
// outside the years 1 to 9999. Two lines with the same ExternalID in one order make the transaction fail
// and store nothing either.
func (s *Store) WritePage(ctx context.Context, w store.PageWrite) (store.WriteResult, error) {
	var res store.WriteResult
	fail := func(err error) (store.WriteResult, error) {
		return store.WriteResult{}, fmt.Errorf("sqlite: write page %s/%s: %w", w.Integration, w.Entity, err)
	}
	if err := validatePage(&w); err != nil {
		return fail(err)
	}
	p := preparePage(&w)
	res.Skipped = p.superseded
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if len(p.orderIDs) > 0 {
			if _, err := tx.StmtContext(ctx, s.stmts.ensureChannelExists).ExecContext(ctx, w.Channel); err != nil {
				return fmt.Errorf("ensure channel %s: %w", w.Channel, err)
			}
		}
		for _, r := range []struct {
			kind tether.Kind
			set  *sized
			rows rows
		}{
			{tether.KindSKU, &s.stmts.skus, p.skus},
			{tether.KindWarehouse, &s.stmts.warehouses, p.warehouses},
			{tether.KindInventoryLevel, &s.stmts.inventory, p.inventory},
		} {
			n, err := execRows(ctx, tx, r.set, r.rows)
			if err != nil {
				return fmt.Errorf("upsert %s records: %w", r.kind, err)
			}
			res.Written += n
			res.Skipped += int64(r.rows.n) - n
		}
		n, err := s.writeOrders(ctx, tx, w.Integration, &p)
		if err != nil {
			return err
		}
		res.Written += n
		res.Skipped += int64(len(p.orderIDs)) - n
		if err := saveCheckpoint(ctx, tx.StmtContext(ctx, s.stmts.saveCheckpoint), w.Integration, w.Entity, w.Checkpoint); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	return res, nil
}

// writeOrders upserts the page's sales orders and replaces the lines of those it wrote. It returns how many
// orders it wrote.
func (s *Store) writeOrders(ctx context.Context, tx *sql.Tx, integration string, p *page) (int64, error) {
	if p.orders.n == 0 {
		return 0, nil
	}
	written := make(map[string]struct{}, p.orders.n)
	err := chunks(p.orders.n, func(start, count, stmt int) error {
		rs, err := tx.StmtContext(ctx, s.stmts.orders[stmt]).QueryContext(ctx, p.orders.chunk(start, count)...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var id string
			if err := rs.Scan(&id); err != nil {
				return err
			}
			written[id] = struct{}{}
		}
		return rs.Err()
	})
	if err != nil {
		return 0, fmt.Errorf("upsert %s records: %w", tether.KindSalesOrder, err)
	}
	if len(written) == 0 {
		return 0, nil
	}

	changed := make([]any, 0, len(written))
	lines := rows{width: len(lineTable.cols)}
	for i, id := range p.orderIDs {
		if _, ok := written[id]; ok {
			changed = append(changed, id)
			lines.args = append(lines.args, p.lines[i]...)
			lines.n += len(p.lines[i]) / lines.width
		}
	}
	args := make([]any, 0, 1+min(len(changed), 1<<maxRowsLog2))
	err = chunks(len(changed), func(start, count, stmt int) error {
		args = append(append(args[:0], integration), changed[start:start+count]...)
		_, err := tx.StmtContext(ctx, s.stmts.deleteLines[stmt]).ExecContext(ctx, args...)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete lines of changed %s records: %w", tether.KindSalesOrder, err)
	}
	if _, err := execRows(ctx, tx, &s.stmts.lines, lines); err != nil {
		return 0, fmt.Errorf("insert %s records: %w", tether.KindSalesOrderLine, err)
	}
	return int64(len(written)), nil
}

// SaveCheckpoint saves the checkpoint of (integration, entity), replacing any saved before.
func (s *Store) SaveCheckpoint(ctx context.Context, integration, entity string, cp store.Checkpoint) error {
	if err := validateCheckpoint(integration, entity, cp); err != nil {
		return fmt.Errorf("sqlite: save checkpoint %s/%s: %w", integration, entity, err)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return saveCheckpoint(ctx, tx.StmtContext(ctx, s.stmts.saveCheckpoint), integration, entity, cp)
	})
	if err != nil {
		return fmt.Errorf("sqlite: save checkpoint %s/%s: %w", integration, entity, err)
	}
	return nil
}

func saveCheckpoint(ctx context.Context, stmt *sql.Stmt, integration, entity string, cp store.Checkpoint) error {
	_, err := stmt.ExecContext(ctx, integration, entity,
		timeArg(cp.Watermark), cp.Resume, timeArg(cp.RunSince), timeArg(cp.RunMax))
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// EnsureChannel creates the channel if it does not exist and sets its display name.
func (s *Store) EnsureChannel(ctx context.Context, channel, displayName string) error {
	if channel == "" {
		return fmt.Errorf("sqlite: ensure channel: empty channel name: %w", ErrInvalid)
	}
	if _, err := s.write.ExecContext(ctx, ensureChannelSQL, channel, displayName); err != nil {
		return fmt.Errorf("sqlite: ensure channel %s: %w", channel, err)
	}
	return nil
}

// inTx runs f in a write transaction on the writer connection and commits it, or rolls it back when f fails.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := f(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// ignoreDone drops the error of rolling back a transaction database/sql already rolled back because its
// context ended.
func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// rows are the arguments of n rows of a table, width arguments each, one after the other.
type rows struct {
	args  []any
	n     int
	width int
}

func (r *rows) chunk(start, count int) []any {
	return r.args[start*r.width : (start+count)*r.width]
}

// execRows writes r with set's statements and returns how many rows they inserted or changed.
func execRows(ctx context.Context, tx *sql.Tx, set *sized, r rows) (int64, error) {
	var n int64
	err := chunks(r.n, func(start, count, stmt int) error {
		res, err := tx.StmtContext(ctx, set[stmt]).ExecContext(ctx, r.chunk(start, count)...)
		if err != nil {
			return err
		}
		changed, err := res.RowsAffected()
		n += changed
		return err
	})
	return n, err
}

// page is a validated PageWrite turned into statement arguments, each record with its content hash.
type page struct {
	skus, warehouses, inventory, orders rows
	orderIDs                            []string // the ExternalID of each row of orders
	lines                               [][]any  // the line rows of each row of orders
	superseded                          int64    // records dropped for a later one with the same ExternalID
}

// preparePage builds the statement arguments of w. Only the last record with a given ExternalID of each
// kind is kept.
func preparePage(w *store.PageWrite) page {
	integ := w.Integration
	b := &w.Batch
	var h hasher
	p := page{
		skus:       rows{width: len(skuTable.cols)},
		warehouses: rows{width: len(warehouseTable.cols)},
		inventory:  rows{width: len(inventoryTable.cols)},
		orders:     rows{width: len(orderTable.cols)},
	}

	keep := lastOccurrences(len(b.SKUs), func(i int) string { return b.SKUs[i].ExternalID })
	p.skus.args = make([]any, 0, len(keep)*p.skus.width)
	for _, i := range keep {
		r := &b.SKUs[i]
		h.str(r.ExternalID).str(r.Code).str(r.Name).str(r.ProductID).str(r.Barcode).str(r.Price).time(r.UpdatedAt)
		p.skus.args = append(p.skus.args, integ, r.ExternalID, r.Code, r.Name, r.ProductID, r.Barcode, r.Price,
			timeArg(r.UpdatedAt), h.sum())
	}
	p.skus.n = len(keep)
	p.superseded += int64(len(b.SKUs) - len(keep))

	keep = lastOccurrences(len(b.Warehouses), func(i int) string { return b.Warehouses[i].ExternalID })
	p.warehouses.args = make([]any, 0, len(keep)*p.warehouses.width)
	for _, i := range keep {
		r := &b.Warehouses[i]
		active := int64(0)
		if r.Active {
			active = 1
		}
		h.str(r.ExternalID).str(r.Name).str(r.Code).str(r.Country).int(active).time(r.UpdatedAt)
		p.warehouses.args = append(p.warehouses.args, integ, r.ExternalID, r.Name, r.Code, r.Country, active,
			timeArg(r.UpdatedAt), h.sum())
	}
	p.warehouses.n = len(keep)
	p.superseded += int64(len(b.Warehouses) - len(keep))

	keep = lastOccurrences(len(b.InventoryLevels), func(i int) string { return b.InventoryLevels[i].ExternalID })
	p.inventory.args = make([]any, 0, len(keep)*p.inventory.width)
	for _, i := range keep {
		r := &b.InventoryLevels[i]
		h.str(r.ExternalID).str(r.SKUExternalID).str(r.SKUCode).str(r.WarehouseExternalID).
			int(r.Available).int(r.OnHand).int(r.Committed).time(r.UpdatedAt)
		p.inventory.args = append(p.inventory.args, integ, r.ExternalID, r.SKUExternalID, r.SKUCode,
			r.WarehouseExternalID, r.Available, r.OnHand, r.Committed, timeArg(r.UpdatedAt), h.sum())
	}
	p.inventory.n = len(keep)
	p.superseded += int64(len(b.InventoryLevels) - len(keep))

	keep = lastOccurrences(len(b.SalesOrders), func(i int) string { return b.SalesOrders[i].ExternalID })
	p.orders.args = make([]any, 0, len(keep)*p.orders.width)
	p.orderIDs = make([]string, 0, len(keep))
	p.lines = make([][]any, 0, len(keep))
	for _, i := range keep {
		r := &b.SalesOrders[i]
		h.str(w.Channel).str(r.ExternalID).str(r.OrderID).str(r.Status).str(r.Currency).str(r.Total).
			time(r.OrderedAt).time(r.UpdatedAt).int(int64(len(r.Lines)))
		lines := make([]any, 0, len(r.Lines)*len(lineTable.cols))
		for _, j := range linesByID(r.Lines) {
			l := &r.Lines[j]
			h.str(l.ExternalID).str(l.SKUExternalID).str(l.SKUCode).int(l.Quantity).str(l.Price)
			lines = append(lines, integ, r.ExternalID, l.ExternalID, l.SKUExternalID, l.SKUCode, l.Quantity, l.Price)
		}
		p.orders.args = append(p.orders.args, integ, r.ExternalID, w.Channel, r.OrderID, r.Status, r.Currency,
			r.Total, timeArg(r.OrderedAt), timeArg(r.UpdatedAt), h.sum())
		p.orderIDs = append(p.orderIDs, r.ExternalID)
		p.lines = append(p.lines, lines)
	}
	p.orders.n = len(keep)
	p.superseded += int64(len(b.SalesOrders) - len(keep))
	return p
}

// lastOccurrences returns, in order, the indexes of the n records whose ExternalID (id(i)) does not appear
// again later.
func lastOccurrences(n int, id func(i int) string) []int {
	keep := make([]int, 0, n)
	seen := make(map[string]struct{}, n)
	for i := n - 1; i >= 0; i-- {
		if _, dup := seen[id(i)]; dup {
			continue
		}
		seen[id(i)] = struct{}{}
		keep = append(keep, i)
	}
	slices.Reverse(keep)
	return keep
}

// linesByID returns the indexes of lines sorted by ExternalID, so that an order's hash does not depend on
// the order its lines come in.
func linesByID(lines []tether.SalesOrderLine) []int {
	idx := make([]int, len(lines))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(lines[a].ExternalID, lines[b].ExternalID) })
	return idx
}

// hasher builds the content hash of a record from its fields.
type hasher struct {
	buf []byte
}

func (h *hasher) str(s string) *hasher {
	h.buf = binary.AppendUvarint(h.buf, uint64(len(s)))
	h.buf = append(h.buf, s...)
	return h
}

func (h *hasher) int(v int64) *hasher {
	h.buf = binary.AppendVarint(h.buf, v)
	return h
}

func (h *hasher) time(t time.Time) *hasher {
	if t.IsZero() {
		h.buf = append(h.buf, 0)
		return h
	}
	h.buf = append(h.buf, 1)
	h.buf = binary.AppendVarint(h.buf, t.Unix())
	h.buf = binary.AppendVarint(h.buf, int64(t.Nanosecond()))
	return h
}

// sum returns the hash of the fields added since the last sum: the first 16 bytes of their SHA-256.
func (h *hasher) sum() []byte {
	s := sha256.Sum256(h.buf)
	h.buf = h.buf[:0]
	return s[:16]
}

// timeArg is the stored form of t: UTC RFC 3339 text with nanoseconds, or NULL for the zero time.
func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// validatePage checks what WritePage requires of a page; see WritePage.
func validatePage(w *store.PageWrite) error {
	if w.Integration == "" {
		return fmt.Errorf("empty integration: %w", ErrInvalid)
	}
	if w.Entity == "" {
		return fmt.Errorf("empty entity: %w", ErrInvalid)
	}
	if len(w.Batch.SalesOrders) > 0 && w.Channel == "" {
		return fmt.Errorf("sales orders without a channel: %w", ErrInvalid)
	}
	b := &w.Batch
	for i := range b.SKUs {
		if err := validateRecord(b.SKUs[i].ExternalID, b.SKUs[i].UpdatedAt); err != nil {
			return fmt.Errorf("%s %d: %w", tether.KindSKU, i, err)
		}
	}
	for i := range b.Warehouses {
		if err := validateRecord(b.Warehouses[i].ExternalID, b.Warehouses[i].UpdatedAt); err != nil {
			return fmt.Errorf("%s %d: %w", tether.KindWarehouse, i, err)
		}
	}
	for i := range b.InventoryLevels {
		if err := validateRecord(b.InventoryLevels[i].ExternalID, b.InventoryLevels[i].UpdatedAt); err != nil {
			return fmt.Errorf("%s %d: %w", tether.KindInventoryLevel, i, err)
		}
	}
	for i := range b.SalesOrders {
		o := &b.SalesOrders[i]
		if err := validateRecord(o.ExternalID, o.OrderedAt, o.UpdatedAt); err != nil {
			return fmt.Errorf("%s %d: %w", tether.KindSalesOrder, i, err)
		}
		for j := range o.Lines {
			if o.Lines[j].ExternalID == "" {
				return fmt.Errorf("%s %s line %d: empty ExternalID: %w", tether.KindSalesOrder, o.ExternalID, j, ErrInvalid)
			}
		}
	}
	return validateCheckpoint(w.Integration, w.Entity, w.Checkpoint)
}

func validateRecord(externalID string, times ...time.Time) error {
	if externalID == "" {
		return fmt.Errorf("empty ExternalID: %w", ErrInvalid)
	}
	for _, t := range times {
		if err := validateTime(t); err != nil {
			return fmt.Errorf("%s: %w", externalID, err)
		}
	}
	return nil
}

func validateCheckpoint(integration, entity string, cp store.Checkpoint) error {
	if integration == "" || entity == "" {
		return fmt.Errorf("empty integration or entity: %w", ErrInvalid)
	}
	for _, t := range []time.Time{cp.Watermark, cp.RunSince, cp.RunMax} {
		if err := validateTime(t); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	return nil
}

// validateTime rejects a time whose UTC year RFC 3339 cannot represent.
func validateTime(t time.Time) error {
	if t.IsZero() {
		return nil
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("time %s outside years 1 to 9999: %w", t, ErrInvalid)
	}
	return nil
}
