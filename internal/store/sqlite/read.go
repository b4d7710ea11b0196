package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tether/integration-operator/internal/store"
	"github.com/tether/integration-operator/internal/tether"
)

// Checkpoint returns the checkpoint saved for (integration, entity), or a zero Checkpoint when there is
// none. Its times are in UTC.
func (s *Store) Checkpoint(ctx context.Context, integration, entity string) (store.Checkpoint, error) {
	var (
		cp                          store.Checkpoint
		watermark, runSince, runMax sql.NullString
	)
	err := s.read.QueryRowContext(ctx,
		`SELECT watermark, resume, run_since, run_max FROM checkpoints WHERE integration = ? AND entity = ?`,
		integration, entity).Scan(&watermark, &cp.Resume, &runSince, &runMax)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Checkpoint{}, nil
	}
	if err == nil {
		err = errors.Join(parseTime(watermark, &cp.Watermark), parseTime(runSince, &cp.RunSince), parseTime(runMax, &cp.RunMax))
	}
	if err != nil {
		return store.Checkpoint{}, fmt.Errorf("sqlite: checkpoint %s/%s: %w", integration, entity, err)
	}
	return cp, nil
}

// countsSQL counts the records of one integration per kind; each ? is the integration.
const countsSQL = `
SELECT 'SKU', count(*) FROM skus WHERE integration = ?1
UNION ALL SELECT 'Warehouse', count(*) FROM warehouses WHERE integration = ?1
UNION ALL SELECT 'SalesOrder', count(*) FROM sales_orders WHERE integration = ?1
UNION ALL SELECT 'SalesOrderLine', count(*) FROM sales_order_lines WHERE integration = ?1
UNION ALL SELECT 'InventoryLevel', count(*) FROM inventory_levels WHERE integration = ?1`

// Counts returns how many records of each kind the integration has stored. Every kind is in the map, with
// zero when there are none.
func (s *Store) Counts(ctx context.Context, integration string) (map[tether.Kind]int64, error) {
	counts := make(map[tether.Kind]int64, 5)
	err := s.query(ctx, countsSQL, []any{integration}, func(rs *sql.Rows) error {
		var (
			kind tether.Kind
			n    int64
		)
		if err := rs.Scan(&kind, &n); err != nil {
			return err
		}
		counts[kind] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: counts %s: %w", integration, err)
	}
	return counts, nil
}

// ChannelOrders returns how many sales orders each integration delivered into the channel. Integrations
// with none are not in the map.
func (s *Store) ChannelOrders(ctx context.Context, channel string) (map[string]int64, error) {
	counts := make(map[string]int64)
	err := s.query(ctx, `SELECT integration, count(*) FROM sales_orders WHERE channel = ? GROUP BY integration`,
		[]any{channel}, func(rs *sql.Rows) error {
			var (
				integration string
				n           int64
			)
			if err := rs.Scan(&integration, &n); err != nil {
				return err
			}
			counts[integration] = n
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("sqlite: channel orders %s: %w", channel, err)
	}
	return counts, nil
}

// Snapshot returns every record of the integration, read in one transaction, sorted by ExternalID, each
// order's lines sorted by ExternalID. Times are in UTC; a kind (or an order's lines) with no records is a
// nil slice, and OrderChannels is never nil.
func (s *Store) Snapshot(ctx context.Context, integration string) (store.Snapshot, error) {
	snap, err := s.snapshot(ctx, integration)
	if err != nil {
		return store.Snapshot{}, fmt.Errorf("sqlite: snapshot %s: %w", integration, err)
	}
	return snap, nil
}

func (s *Store) snapshot(ctx context.Context, integration string) (snap store.Snapshot, err error) {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return snap, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	q := func(query string, scan func(rs *sql.Rows) error) error {
		return queryRows(ctx, tx, query, []any{integration}, scan)
	}
	var t1, t2 sql.NullString

	err = q(`SELECT external_id, code, name, product_id, barcode, price, updated_at FROM skus
		WHERE integration = ? ORDER BY external_id`, func(rs *sql.Rows) error {
		var r tether.SKU
		if err := rs.Scan(&r.ExternalID, &r.Code, &r.Name, &r.ProductID, &r.Barcode, &r.Price, &t1); err != nil {
			return err
		}
		snap.SKUs = append(snap.SKUs, r)
		return parseTime(t1, &snap.SKUs[len(snap.SKUs)-1].UpdatedAt)
	})
	if err != nil {
		return snap, fmt.Errorf("read %s records: %w", tether.KindSKU, err)
	}

	err = q(`SELECT external_id, name, code, country, active, updated_at FROM warehouses
		WHERE integration = ? ORDER BY external_id`, func(rs *sql.Rows) error {
		var r tether.Warehouse
		if err := rs.Scan(&r.ExternalID, &r.Name, &r.Code, &r.Country, &r.Active, &t1); err != nil {
			return err
		}
		snap.Warehouses = append(snap.Warehouses, r)
		return parseTime(t1, &snap.Warehouses[len(snap.Warehouses)-1].UpdatedAt)
	})
	if err != nil {
		return snap, fmt.Errorf("read %s records: %w", tether.KindWarehouse, err)
	}

	err = q(`SELECT external_id, sku_external_id, sku_code, warehouse_external_id, available, on_hand, committed,
		updated_at FROM inventory_levels WHERE integration = ? ORDER BY external_id`, func(rs *sql.Rows) error {
		var r tether.InventoryLevel
		if err := rs.Scan(&r.ExternalID, &r.SKUExternalID, &r.SKUCode, &r.WarehouseExternalID, &r.Available,
			&r.OnHand, &r.Committed, &t1); err != nil {
			return err
		}
		snap.InventoryLevels = append(snap.InventoryLevels, r)
		return parseTime(t1, &snap.InventoryLevels[len(snap.InventoryLevels)-1].UpdatedAt)
	})
	if err != nil {
		return snap, fmt.Errorf("read %s records: %w", tether.KindInventoryLevel, err)
	}

	snap.OrderChannels = make(map[string]string)
	index := make(map[string]int) // order ExternalID -> index in snap.SalesOrders
	err = q(`SELECT external_id, channel, order_id, status, currency, total, ordered_at, updated_at
		FROM sales_orders WHERE integration = ? ORDER BY external_id`, func(rs *sql.Rows) error {
		var (
			r       tether.SalesOrder
			channel string
		)
		if err := rs.Scan(&r.ExternalID, &channel, &r.OrderID, &r.Status, &r.Currency, &r.Total, &t1, &t2); err != nil {
			return err
		}
		if err := errors.Join(parseTime(t1, &r.OrderedAt), parseTime(t2, &r.UpdatedAt)); err != nil {
			return err
		}
		index[r.ExternalID] = len(snap.SalesOrders)
		snap.SalesOrders = append(snap.SalesOrders, r)
		snap.OrderChannels[r.ExternalID] = channel
		return nil
	})
	if err != nil {
		return snap, fmt.Errorf("read %s records: %w", tether.KindSalesOrder, err)
	}

	err = q(`SELECT order_external_id, external_id, sku_external_id, sku_code, quantity, price
		FROM sales_order_lines WHERE integration = ? ORDER BY order_external_id, external_id`, func(rs *sql.Rows) error {
		var (
			order string
			l     tether.SalesOrderLine
		)
		if err := rs.Scan(&order, &l.ExternalID, &l.SKUExternalID, &l.SKUCode, &l.Quantity, &l.Price); err != nil {
			return err
		}
		i, ok := index[order]
		if !ok {
			return fmt.Errorf("line %s of missing order %s", l.ExternalID, order)
		}
		snap.SalesOrders[i].Lines = append(snap.SalesOrders[i].Lines, l)
		return nil
	})
	if err != nil {
		return snap, fmt.Errorf("read %s records: %w", tether.KindSalesOrderLine, err)
	}
	return snap, nil
}

// query runs a query on the reader pool and calls scan for each row.
func (s *Store) query(ctx context.Context, query string, args []any, scan func(rs *sql.Rows) error) error {
	return queryRows(ctx, s.read, query, args, scan)
}

// queryer is what *sql.DB and *sql.Tx have in common for reading.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryRows(ctx context.Context, db queryer, query string, args []any, scan func(rs *sql.Rows) error) error {
	rs, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		if err := scan(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}

// parseTime sets *t from its stored form; see timeArg.
func parseTime(s sql.NullString, t *time.Time) error {
	if !s.Valid {
		*t = time.Time{}
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, s.String)
	if err != nil {
		return fmt.Errorf("stored time %q: %w", s.String, err)
	}
	*t = v.UTC()
	return nil
}
