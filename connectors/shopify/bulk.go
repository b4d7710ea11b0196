package shopify

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tether/integration-operator/connectors"
)

const (
	bulkRunMutation = `mutation BulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status createdAt }
    userErrors { field message code }
  }
}`
	bulkPollQuery = `query BulkOperation($id: ID!) {
  node(id: $id) {
    ... on BulkOperation { id status errorCode objectCount createdAt completedAt url partialDataUrl }
  }
}`
	// maxBulkLine is the longest JSONL line accepted: one order with its scalar fields is a few KB.
	maxBulkLine = 16 << 20
)

// errBulkResultGone means the result file's signed URL no longer works; the read falls back to pages.
var errBulkResultGone = errors.New("bulk result is no longer available")

// errBulkUnavailable means a bulk operation could not be started because another one is running for this
// app and shop; the read falls back to pages.
var errBulkUnavailable = errors.New("another bulk operation is running")

type bulkOperation struct {
	ID             string  `json:"id"`
	Status         string  `json:"status"`
	ErrorCode      *string `json:"errorCode"`
	ObjectCount    string  `json:"objectCount"`
	CreatedAt      string  `json:"createdAt"`
	URL            *string `json:"url"`
	PartialDataURL *string `json:"partialDataUrl"`
}

// bulkRead starts a bulk operation for records updated after since, records it in a page with no records so a
// restart polls the same operation instead of starting another, then streams its result.
func (c *Connector) bulkRead(ctx context.Context, spec *entitySpec, since time.Time, emit connectors.EmitFunc) error {
	id, err := c.startBulk(ctx, spec.bulkQuery(since))
	if errors.Is(err, errBulkUnavailable) {
		c.log.Info("bulk operation unavailable; reading pages instead", "entity", spec.name, "reason", err.Error())
		return c.paginate(ctx, spec, since, "", emit)
	}
	if err != nil {
		return fmt.Errorf("shopify: start bulk %s: %w", spec.name, err)
	}
	tok := resumeState{Since: since, Bulk: id}
	if err := emit(ctx, connectors.Page{Resume: tok.String()}); err != nil {
		return err
	}
	return c.continueBulk(ctx, spec, tok, emit)
}

func (c *Connector) startBulk(ctx context.Context, query string) (string, error) {
	var out struct {
		Run struct {
			BulkOperation *bulkOperation `json:"bulkOperation"`
			UserErrors    []struct {
				Message string `json:"message"`
				Code    string `json:"code"`
			} `json:"userErrors"`
		} `json:"bulkOperationRunQuery"`
	}
	if err := c.query(ctx, "bulkOperationRunQuery", bulkRunMutation, map[string]any{"query": query}, &out); err != nil {
		return "", err
	}
	for _, ue := range out.Run.UserErrors {
		if ue.Code == "OPERATION_IN_PROGRESS" {
			return "", fmt.Errorf("%w: %s", errBulkUnavailable, ue.Message)
		}
		return "", connectors.Terminal("BulkQueryRejected", fmt.Errorf("bulkOperationRunQuery: %s (%s)", ue.Message, ue.Code))
	}
	if out.Run.BulkOperation == nil || out.Run.BulkOperation.ID == "" {
		return "", connectors.Terminal("UnexpectedResponse", fmt.Errorf("bulkOperationRunQuery returned no operation"))
	}
	c.stats.bulkOps.Add(1)
	return out.Run.BulkOperation.ID, nil
}

// pollBulk polls the operation until it finishes; nil means Shopify no longer knows it.
func (c *Connector) pollBulk(ctx context.Context, id string) (*bulkOperation, error) {
	wait := c.BulkPollInterval
	for n := 1; ; n++ {
		var out struct {
			Node *bulkOperation `json:"node"`
		}
		if err := c.query(ctx, "bulkOperation", bulkPollQuery, map[string]any{"id": id}, &out); err != nil {
			return nil, fmt.Errorf("shopify: poll bulk operation %s (poll %d): %w", id, n, err)
		}
		op := out.Node
		if op == nil || op.ID == "" {
			return nil, nil
		}
		switch op.Status {
		case "COMPLETED", "FAILED", "CANCELED", "EXPIRED":
			return op, nil
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
		wait = min(wait+wait/2, c.BulkMaxPollInterval)
	}
}

// continueBulk waits for the operation in tok, streams its result from tok.Offset, then catches up with pages
// from shortly before the operation started. An operation that failed, expired or is gone is replaced by a
// paginated read from the Since it was started for; so is a result with fewer lines than the operation
// reported, rather than trusting a short file.
func (c *Connector) continueBulk(ctx context.Context, spec *entitySpec, tok resumeState, emit connectors.EmitFunc) error {
	op, err := c.pollBulk(ctx, tok.Bulk)
	if err != nil {
		return err
	}
	if op == nil || op.Status != "COMPLETED" {
		status, code := "gone", ""
		if op != nil {
			status = op.Status
			if op.ErrorCode != nil {
				code = *op.ErrorCode
			}
		}
		c.log.Info("bulk operation did not complete; reading pages instead", "entity", spec.name, "operation", tok.Bulk,
			"status", status, "errorCode", code)
		return c.paginate(ctx, spec, tok.Since, "", emit)
	}
	want, _ := strconv.ParseInt(op.ObjectCount, 10, 64)
	lines := int64(0)
	if op.URL != nil && *op.URL != "" {
		lines, err = c.streamBulk(ctx, spec, *op.URL, tok, emit)
		if errors.Is(err, errBulkResultGone) {
			c.log.Info("bulk result URL rejected; reading pages instead", "entity", spec.name, "operation", tok.Bulk, "error", err.Error())
			return c.paginate(ctx, spec, tok.Since, "", emit)
		}
		if err != nil {
			return err
		}
	}
	if lines < want {
		c.log.Info("bulk result is shorter than the operation's object count; reading pages instead",
			"entity", spec.name, "operation", tok.Bulk, "lines", lines, "objectCount", want)
		return c.paginate(ctx, spec, tok.Since, "", emit)
	}
	created, err := time.Parse(time.RFC3339, op.CreatedAt)
	if err != nil {
		return connectors.Terminal("UnexpectedResponse", fmt.Errorf("shopify: bulk operation %s createdAt %q: %w", tok.Bulk, op.CreatedAt, err))
	}
	catchUp := created.Add(-c.CatchUpMargin)
	if catchUp.Before(tok.Since) {
		catchUp = tok.Since
	}
	return c.paginate(ctx, spec, catchUp, "", emit)
}

// pendingRoot is a bulk root object whose child lines are still being collected.
type pendingRoot struct {
	node     map[string]any
	children []any
}

// streamBulk downloads the JSONL result and emits its records in pages, skipping the tok.Offset lines an
// earlier run already emitted. Children (lines with __parentId) are attached to their root object; pages end
// only where a new root begins, so a page's Resume offset never splits an object from its children. It
// returns the number of lines in the file. The download goes to the storage URL Shopify returned, without the
// access token.
func (c *Connector) streamBulk(ctx context.Context, spec *entitySpec, url string, tok resumeState, emit connectors.EmitFunc) (int64, error) {
	var resp *http.Response
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, connectors.Terminal("UnexpectedResponse", fmt.Errorf("shopify: bulk result URL: %w", err))
		}
		req.Header.Set("User-Agent", userAgent)
		c.stats.requests.Add(1)
		resp, err = c.http.Do(req)
		if err == nil && resp.StatusCode == http.StatusOK {
			break
		}
		status := 0
		if err == nil {
			status = resp.StatusCode
			resp.Body.Close()
			if status < 500 && status != http.StatusTooManyRequests {
				// The signed URL has expired: the operation's data is gone.
				return 0, fmt.Errorf("%w: HTTP %d", errBulkResultGone, status)
			}
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if attempt >= c.MaxRetries {
			if err == nil {
				err = fmt.Errorf("HTTP %d", status)
			}
			return 0, connectors.Transient("PlatformUnavailable", 0, fmt.Errorf("shopify: download bulk result of %s: %w", tok.Bulk, err))
		}
		if err := c.backoff(ctx, attempt+1); err != nil {
			return 0, err
		}
	}
	defer resp.Body.Close()

	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 256<<10), maxBulkLine)
	var (
		line    int64
		roots   []*pendingRoot
		byID    = map[string]*pendingRoot{}
		records int
	)
	flush := func(offset int64) error {
		var page []connectors.Record
		for _, r := range roots {
			recs, err := spec.assemble(r.node, r.children)
			if err != nil {
				return fmt.Errorf("shopify: bulk result of %s: %w", tok.Bulk, err)
			}
			page = append(page, recs...)
		}
		roots, byID, records = roots[:0], map[string]*pendingRoot{}, 0
		next := tok
		next.Offset = offset
		return emit(ctx, connectors.Page{Records: page, Resume: next.String()})
	}
	for sc.Scan() {
		if line < tok.Offset {
			line++
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			return line, connectors.Terminal("UnexpectedResponse", fmt.Errorf("shopify: bulk result of %s line %d: %w", tok.Bulk, line+1, err))
		}
		if parent, ok := obj["__parentId"].(string); ok {
			delete(obj, "__parentId")
			r := byID[parent]
			if r == nil {
				return line, connectors.Terminal("UnexpectedResponse", fmt.Errorf(
					"shopify: bulk result of %s line %d: child of %s arrives after its parent was emitted", tok.Bulk, line+1, parent))
			}
			r.children = append(r.children, obj)
			records++
		} else {
			if records >= c.BulkPageSize {
				if err := flush(line); err != nil {
					return line, err
				}
			}
			r := &pendingRoot{node: obj}
			if id, ok := obj["id"].(string); ok {
				byID[id] = r
			}
			roots = append(roots, r)
			records++
		}
		line++
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return line, ctx.Err()
		}
		// The download broke off: what was emitted is stored; a retry resumes from the last page's offset.
		return line, connectors.Transient("PlatformUnavailable", 0, fmt.Errorf("shopify: read bulk result of %s at line %d: %w", tok.Bulk, line+1, err))
	}
	if len(roots) > 0 {
		if err := flush(line); err != nil {
			return line, err
		}
	}
	return line, nil
}
