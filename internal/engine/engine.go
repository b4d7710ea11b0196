// Package engine runs syncs: for each data type it reads pages from a connector, from the saved cursor minus
// the overlap window, maps them to Tether records, and writes each page with the checkpoint after it in one
// store transaction, so a sync killed at any moment resumes where it stopped, losing and duplicating nothing.
// It knows no platform by name.
package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/mapping"
	"github.com/tether/integration-operator/internal/store"
	"github.com/tether/integration-operator/internal/tether"
)

// Job is one sync run of one integration.
type Job struct {
	// Integration and Channel are store keys ("namespace/name").
	Integration string
	Channel     string
	Connector   connectors.Connector
	Mapping     *mapping.Mapping
	// Entities are read in this order.
	Entities []v1alpha1.DataType
	// HistoryStart is how far back an entity's first run reads.
	HistoryStart time.Time
	// Overlap is subtracted from the saved cursor at the start of each incremental run.
	Overlap time.Duration
	// SKUKey selects the identity SKUs are deduplicated by.
	SKUKey v1alpha1.SKUKey
	// Progress, when set, is called after every committed page with the entity's running counters.
	Progress func(EntityResult)
}

// EntityResult is what a run did for one data type.
type EntityResult struct {
	Entity  v1alpha1.DataType
	Read    int64
	Written int64
	Skipped int64
	// Cursor is the entity's watermark after the run.
	Cursor time.Time
	// Resumable is true when the run stopped part-way and left a position to resume from.
	Resumable bool
	// Total is the number of the integration's records of the entity's kind in the store after the run.
	Total int64
	// Remaining is the connector's estimate of the time left for a running read; zero when unknown.
	Remaining time.Duration
	Err       error
}

// Result is what a run did.
type Result struct {
	Start, End time.Time
	Entities   []EntityResult
	// Err is the first failure; the run stops at it. Classified by connectors.Classify.
	Err error
}

// Totals sums the entity counters.
func (r Result) Totals() (read, written, skipped int64) {
	for _, e := range r.Entities {
		read += e.Read
		written += e.Written
		skipped += e.Skipped
	}
	return
}

// Engine runs jobs against a store.
type Engine struct {
	Store store.Store
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// kindOf is the Tether kind each data type becomes, for the store's totals.
var kindOf = map[v1alpha1.DataType]tether.Kind{
	v1alpha1.DataProducts:  tether.KindSKU,
	v1alpha1.DataLocations: tether.KindWarehouse,
	v1alpha1.DataOrders:    tether.KindSalesOrder,
	v1alpha1.DataInventory: tether.KindInventoryLevel,
}

// Run checks the connection, then syncs each entity in turn. It stops at the first failure; the entities
// already synced keep their progress, and the failed one resumes from its last committed page next time.
func (e *Engine) Run(ctx context.Context, job Job) (res Result) {
	res = Result{Start: e.now()}
	defer func() { res.End = e.now() }()

	if err := job.Connector.Check(ctx); err != nil {
		res.Err = fmt.Errorf("check connection: %w", err)
		return res
	}
	for _, entity := range job.Entities {
		er := e.runEntity(ctx, job, entity)
		res.Entities = append(res.Entities, er)
		if er.Err != nil {
			res.Err = er.Err
			break
		}
	}
	if counts, err := e.Store.Counts(ctx, job.Integration); err == nil {
		for i := range res.Entities {
			res.Entities[i].Total = counts[kindOf[res.Entities[i].Entity]]
		}
	}
	return res
}

func (e *Engine) runEntity(ctx context.Context, job Job, entity v1alpha1.DataType) (er EntityResult) {
	er.Entity = entity
	cp, err := e.Store.Checkpoint(ctx, job.Integration, string(entity))
	if err != nil {
		er.Err = fmt.Errorf("%s: load checkpoint: %w", entity, err)
		return er
	}
	er.Cursor = cp.Watermark

	req := connectors.ReadRequest{Entity: entity}
	runMax := cp.Watermark
	if cp.Resume != "" {
		// An interrupted run: continue it over the same window.
		req.Resume = cp.Resume
		req.Since = cp.RunSince
		if cp.RunMax.After(runMax) {
			runMax = cp.RunMax
		}
	} else if cp.Watermark.IsZero() {
		req.Since = job.HistoryStart
	} else {
		req.Since = cp.Watermark.Add(-job.Overlap)
	}

	emit := func(ctx context.Context, page connectors.Page) error {
		var batch tether.Batch
		if len(page.Records) > 0 {
			if err := job.Mapping.Apply(entity, page.Records, &batch); err != nil {
				return connectors.Terminal(v1alpha1.ReasonMappingFailed, err)
			}
		}
		if job.SKUKey == v1alpha1.SKUKeyCode {
			keySKUsByCode(&batch)
		}
		pageMax := runMax
		for _, r := range page.Records {
			if r.UpdatedAt.After(pageMax) {
				pageMax = r.UpdatedAt
			}
		}
		wr, err := e.Store.WritePage(ctx, store.PageWrite{
			Integration: job.Integration,
			Channel:     job.Channel,
			Entity:      string(entity),
			Batch:       batch,
			Checkpoint: store.Checkpoint{
				Watermark: cp.Watermark,
				Resume:    page.Resume,
				RunSince:  req.Since,
				RunMax:    pageMax,
			},
		})
		if err != nil {
			return fmt.Errorf("store page: %w", err)
		}
		runMax = pageMax
		er.Read += int64(len(page.Records))
		er.Written += wr.Written
		er.Skipped += wr.Skipped
		er.Resumable = true
		er.Remaining = page.Remaining
		if job.Progress != nil {
			job.Progress(er)
		}
		return nil
	}

	if err := job.Connector.Read(ctx, req, emit); err != nil {
		er.Err = fmt.Errorf("%s: %w", entity, err)
		return er
	}
	// The run is complete: everything up to the highest modification time seen is stored.
	if err := e.Store.SaveCheckpoint(ctx, job.Integration, string(entity), store.Checkpoint{Watermark: runMax}); err != nil {
		er.Err = fmt.Errorf("%s: save checkpoint: %w", entity, err)
		return er
	}
	er.Cursor = runMax
	er.Resumable = false
	er.Remaining = 0
	return er
}

// keySKUsByCode makes a SKU's code its identity, so a variant deleted and recreated under the same code stays
// one SKU. SKUs without a code keep their platform ID.
func keySKUsByCode(b *tether.Batch) {
	for i := range b.SKUs {
		if b.SKUs[i].Code != "" {
			b.SKUs[i].ExternalID = "code:" + b.SKUs[i].Code
		}
	}
}
