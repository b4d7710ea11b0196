// Package mapping compiles FieldMapping rules, CEL included, and applies them to platform records to produce
// Tether records.
//
// A connector's default mapping and an Integration's FieldMapping are both lists of
// v1alpha1.EntityMapping. Compile merges the FieldMapping over the defaults field by field, validates every
// rule against the target kind's field table (see Fields) and compiles expressions once. The resulting
// Mapping is immutable and safe for concurrent use; Apply maps one page of records into a tether.Batch.
//
// Each data type maps to one Tether kind (see KindFor): Products to SKU, Locations to Warehouse, Orders to
// SalesOrder (with SalesOrderLine lines) and Inventory to InventoryLevel. A top-level record's ExternalID is
// always the platform record's ID, and its UpdatedAt is the record's UpdatedAt unless a rule yields one.
//
// A rule reads its value either by path ("product.title", walking nested objects; a missing or null value
// counts as absent) or by a CEL expression over `record`, the platform record as a map. Line rules read
// the line: paths are relative to it, and expressions see `line` and `record` (the order holding it). An
// absent value (also an empty string for a non-string field, or an expression yielding null or an empty
// optional) takes the rule's default, and otherwise the field's zero value; a required field with neither
// fails the record. Values are converted to the field's Type.
//
// Expressions are checked when compiled: an expression whose static type cannot convert to the field's
// type (a bool for a string field) is rejected, while dyn results are checked as they are produced. The
// environment has the CEL standard library, optional values (`record.?title.orValue("")`) and the
// strings, lists and math extensions; every evaluation has a cost limit. JSON numbers decoded as
// json.Number are strings to CEL: compute with them through double() or int().
package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/tether"
)

// Mapping is a compiled set of rules for one or more entities. Build it with Compile.
type Mapping struct {
	plans    map[v1alpha1.DataType]applier
	entities []v1alpha1.DataType
}

// RecordError is the error Apply returns when a record cannot be mapped.
type RecordError struct {
	// Entity is the data type being mapped.
	Entity v1alpha1.DataType
	// RecordID is the platform ID of the record that failed.
	RecordID string
	// Line locates the failing line inside the record, for example "lineItems[2]", or the list of lines
	// when it is not a list; empty when the record itself failed.
	Line string
	// Field is the Tether field whose rule failed; empty when the error is not about one field.
	Field string
	// Err is the cause: a CEL runtime error, a failed conversion or a missing required value.
	Err error
}

// Error reads like `Orders record gid://shopify/Order/5: field total: cannot convert "abc" to decimal`.
func (e *RecordError) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Entity))
	b.WriteString(" record ")
	b.WriteString(e.RecordID)
	b.WriteString(": ")
	if e.Line != "" {
		b.WriteString(e.Line)
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString("field ")
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }

// errRequired is the cause when a required field has no value and no default.
var errRequired = errors.New("required value is missing and the rule has no default")

// Entities lists the entities the mapping can map, in the order Orders, Products, Locations, Inventory.
func (m *Mapping) Entities() []v1alpha1.DataType {
	if m == nil {
		return nil
	}
	return slices.Clone(m.entities)
}

// Has reports whether the mapping can map the entity's records.
func (m *Mapping) Has(entity v1alpha1.DataType) bool {
	if m == nil {
		return false
	}
	_, ok := m.plans[entity]
	return ok
}

// Apply maps records of the entity and appends the results to into (SKUs, Warehouses, SalesOrders or
// InventoryLevels). It is all or nothing: when any record fails, it returns a *RecordError and leaves into
// as it was.
func (m *Mapping) Apply(entity v1alpha1.DataType, records []connectors.Record, into *tether.Batch) error {
	if _, err := KindFor(entity); err != nil {
		return err
	}
	if !m.Has(entity) {
		return fmt.Errorf("no field mapping for %s", entity)
	}
	return m.plans[entity].apply(entity, records, into)
}

// applier maps one entity's records into a batch.
type applier interface {
	apply(entity v1alpha1.DataType, records []connectors.Record, into *tether.Batch) error
}

// rule is a compiled FieldRule for a field of the Tether struct T.
type rule[T any] struct {
	field  Field
	set    func(*T, value)
	path   []string    // set for a path rule
	prg    cel.Program // set for an expression rule
	def    value
	hasDef bool
}

// rules are the compiled rules of one kind, applied in order.
type rules[T any] []rule[T]

// fill applies the rules to dst, reading paths from src and expressions through act. On failure it returns
// the failing field's name and the cause.
func (rs rules[T]) fill(dst *T, src map[string]any, act *activation) (string, error) {
	for i := range rs {
		r := &rs[i]
		var (
			v   value
			ok  bool
			err error
		)
		if r.prg == nil {
			v, ok, err = convert(r.field.Type, lookup(src, r.path))
		} else {
			out, _, evalErr := r.prg.Eval(act)
			if evalErr != nil {
				return r.field.Name, evalErr
			}
			if s, isStr := out.(types.String); isStr && r.field.Type == TypeString {
				// The common case, without boxing the string again.
				v, ok = value{str: string(s)}, true
			} else {
				var raw any
				if raw, err = fromCEL(out); err == nil {
					v, ok, err = convert(r.field.Type, raw)
				}
			}
		}
		switch {
		case err != nil:
			return r.field.Name, err
		case ok:
			r.set(dst, v)
		case r.hasDef:
			r.set(dst, r.def)
		case r.field.Required:
			return r.field.Name, errRequired
		}
	}
	return "", nil
}

// lookup walks path through nested objects and returns the value, or nil when any step is missing, null
// or not an object.
func lookup(m map[string]any, path []string) any {
	if len(path) == 1 {
		return m[path[0]]
	}
	var cur any = m
	for _, key := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = obj[key]; !ok {
			return nil
		}
	}
	return cur
}

// topPlan maps records to the top-level Tether struct T.
type topPlan[T any] struct {
	rules      rules[T]
	setID      func(*T, string)
	setUpdated func(*T, time.Time)
	target     func(*tether.Batch) *[]T
	// lines maps the record's lines, for orders; nil otherwise.
	lines func(dst *T, data map[string]any, act *activation) *RecordError
}

func (p *topPlan[T]) apply(entity v1alpha1.DataType, records []connectors.Record, into *tether.Batch) error {
	dst := p.target(into)
	// Map straight into the batch's spare capacity, and extend the batch's length only once every record
	// has mapped: on failure the batch keeps its old length and contents.
	s := slices.Grow(*dst, len(records))
	n := len(s)
	s = s[:n+len(records)]
	var act activation
	var zero T
	for i := range records {
		r := &records[i]
		d := &s[n+i]
		*d = zero
		p.setID(d, r.ID)
		p.setUpdated(d, r.UpdatedAt)
		act.reset(r.Data)
		var rerr *RecordError
		if field, err := p.rules.fill(d, r.Data, &act); err != nil {
			rerr = &RecordError{Field: field, Err: err}
		} else if p.lines != nil {
			rerr = p.lines(d, r.Data, &act)
		}
		if rerr != nil {
			clear(s[n : n+i+1])
			rerr.Entity, rerr.RecordID = entity, r.ID
			return rerr
		}
	}
	*dst = s
	return nil
}

// linePlan maps the lines of an order.
type linePlan struct {
	from     []string
	fromText string
	rules    rules[tether.SalesOrderLine]
}

func (lp *linePlan) mapLines(o *tether.SalesOrder, data map[string]any, act *activation) *RecordError {
	raw := lookup(data, lp.from)
	if raw == nil {
		return nil
	}
	list, ok := raw.([]any)
	if !ok {
		return &RecordError{Line: lp.fromText, Err: fmt.Errorf("lines are %s, not a list", describe(raw))}
	}
	if len(list) == 0 {
		return nil
	}
	lines := make([]tether.SalesOrderLine, len(list))
	for j, el := range list {
		m, ok := el.(map[string]any)
		if !ok {
			return &RecordError{Line: fmt.Sprintf("%s[%d]", lp.fromText, j), Err: fmt.Errorf("line is %s, not an object", describe(el))}
		}
		act.setLine(m)
		if field, err := lp.rules.fill(&lines[j], m, act); err != nil {
			return &RecordError{Line: fmt.Sprintf("%s[%d]", lp.fromText, j), Field: field, Err: err}
		}
	}
	o.Lines = lines
	return nil
}

// Compile merges overrides over defaults and compiles the result. For each entity, an override rule
// replaces the default rule for the same field and new fields are added; an override's Lines.From replaces
// the default's and its line rules merge the same way.
//
// Every problem is reported, joined with errors.Join, each prefixed with its place: for example
// `entities[Products].fields[name].expression: ERROR: <input>:1:8: undeclared reference to 'recrd'`.
// Places in the defaults read `default mapping: entities[...]`.
func Compile(defaults []v1alpha1.EntityMapping, overrides []v1alpha1.EntityMapping) (*Mapping, error) {
	ce, err := envs()
	if err != nil {
		return nil, fmt.Errorf("building the CEL environment: %w", err)
	}
	c := compiler{envs: ce}
	defs := c.index(defaults, "default mapping: ")
	ovs := c.index(overrides, "")

	m := &Mapping{plans: map[v1alpha1.DataType]applier{}}
	for _, entity := range mappableEntities {
		def, inDefs := defs[entity]
		ov, inOvs := ovs[entity]
		if !inDefs && !inOvs {
			continue
		}
		e := entitySource{entity: entity}
		if inDefs {
			e.def = def
		}
		if inOvs {
			e.ov = ov
		}
		if p := c.compileEntity(&e); p != nil {
			m.plans[entity] = p
			m.entities = append(m.entities, entity)
		}
	}
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return m, nil
}

// compiler collects the problems of one Compile call.
type compiler struct {
	envs *celEnvs
	errs []error
}

func (c *compiler) errorf(at, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: %s", at, fmt.Sprintf(format, args...)))
}

// index maps each mappable entity of the list to its mapping, reporting unmappable and repeated entities.
func (c *compiler) index(list []v1alpha1.EntityMapping, origin string) map[v1alpha1.DataType]*v1alpha1.EntityMapping {
	out := make(map[v1alpha1.DataType]*v1alpha1.EntityMapping, len(list))
	reported := map[v1alpha1.DataType]bool{}
	for i := range list {
		em := &list[i]
		at := fmt.Sprintf("%sentities[%s]", origin, em.Entity)
		if _, err := KindFor(em.Entity); err != nil {
			if !reported[em.Entity] {
				c.errorf(at, "%v", err)
				reported[em.Entity] = true
			}
			continue
		}
		if _, dup := out[em.Entity]; dup {
			if !reported[em.Entity] {
				c.errorf(at, "entity listed twice")
				reported[em.Entity] = true
			}
			continue
		}
		out[em.Entity] = em
	}
	return out
}

// entitySource is an entity's default and override mappings; either may be nil.
type entitySource struct {
	entity  v1alpha1.DataType
	def, ov *v1alpha1.EntityMapping
}

func (e *entitySource) at(fromOverride bool) string {
	if fromOverride {
		return fmt.Sprintf("entities[%s]", e.entity)
	}
	return fmt.Sprintf("default mapping: entities[%s]", e.entity)
}

// sourcedRule is a rule and the place it came from, for error messages.
type sourcedRule struct {
	v1alpha1.FieldRule
	at string // for example `entities[Products].fields[name]`
}

// mergeRules merges override rules over default rules field by field: an override replaces the default
// rule for its field in place, and new fields follow the defaults in their order. suffix is the place of
// the lists inside the entity: ".fields" or ".lines.fields".
func (c *compiler) mergeRules(e *entitySource, suffix string, def, ov []v1alpha1.FieldRule) []sourcedRule {
	out := make([]sourcedRule, 0, len(def)+len(ov))
	pos := make(map[string]int, len(def)+len(ov))
	add := func(list []v1alpha1.FieldRule, fromOverride bool) {
		seen := make(map[string]bool, len(list))
		for _, r := range list {
			at := fmt.Sprintf("%s%s[%s]", e.at(fromOverride), suffix, r.Field)
			if seen[r.Field] {
				c.errorf(at, "field listed twice")
				continue
			}
			seen[r.Field] = true
			if i, ok := pos[r.Field]; ok {
				out[i] = sourcedRule{r, at}
				continue
			}
			pos[r.Field] = len(out)
			out = append(out, sourcedRule{r, at})
		}
	}
	add(def, false)
	add(ov, true)
	return out
}

func (c *compiler) compileEntity(e *entitySource) applier {
	var def, ov []v1alpha1.FieldRule
	if e.def != nil {
		def = e.def.Fields
	}
	if e.ov != nil {
		ov = e.ov.Fields
	}
	merged := c.mergeRules(e, ".fields", def, ov)
	atEntity := e.at(e.ov != nil)
	switch e.entity {
	case v1alpha1.DataProducts:
		c.noLines(e)
		return &topPlan[tether.SKU]{
			rules:      compileRules(c, c.envs.record, skuFields, tether.KindSKU, atEntity, merged),
			setID:      func(d *tether.SKU, id string) { d.ExternalID = id },
			setUpdated: func(d *tether.SKU, t time.Time) { d.UpdatedAt = t },
			target:     func(b *tether.Batch) *[]tether.SKU { return &b.SKUs },
		}
	case v1alpha1.DataLocations:
		c.noLines(e)
		return &topPlan[tether.Warehouse]{
			rules:      compileRules(c, c.envs.record, warehouseFields, tether.KindWarehouse, atEntity, merged),
			setID:      func(d *tether.Warehouse, id string) { d.ExternalID = id },
			setUpdated: func(d *tether.Warehouse, t time.Time) { d.UpdatedAt = t },
			target:     func(b *tether.Batch) *[]tether.Warehouse { return &b.Warehouses },
		}
	case v1alpha1.DataInventory:
		c.noLines(e)
		return &topPlan[tether.InventoryLevel]{
			rules:      compileRules(c, c.envs.record, inventoryLevelFields, tether.KindInventoryLevel, atEntity, merged),
			setID:      func(d *tether.InventoryLevel, id string) { d.ExternalID = id },
			setUpdated: func(d *tether.InventoryLevel, t time.Time) { d.UpdatedAt = t },
			target:     func(b *tether.Batch) *[]tether.InventoryLevel { return &b.InventoryLevels },
		}
	case v1alpha1.DataOrders:
		p := &topPlan[tether.SalesOrder]{
			rules:      compileRules(c, c.envs.record, salesOrderFields, tether.KindSalesOrder, atEntity, merged),
			setID:      func(d *tether.SalesOrder, id string) { d.ExternalID = id },
			setUpdated: func(d *tether.SalesOrder, t time.Time) { d.UpdatedAt = t },
			target:     func(b *tether.Batch) *[]tether.SalesOrder { return &b.SalesOrders },
		}
		if lp := c.compileLines(e); lp != nil {
			p.lines = lp.mapLines
		}
		return p
	}
	return nil
}

// noLines reports lines given for an entity that has none.
func (c *compiler) noLines(e *entitySource) {
	for _, src := range []struct {
		em           *v1alpha1.EntityMapping
		fromOverride bool
	}{{e.def, false}, {e.ov, true}} {
		if src.em != nil && src.em.Lines != nil {
			c.errorf(e.at(src.fromOverride)+".lines", "only Orders have lines")
		}
	}
}

// compileLines merges and compiles the line rules of an order mapping; nil when there are none.
func (c *compiler) compileLines(e *entitySource) *linePlan {
	var defLines, ovLines *v1alpha1.LineMapping
	if e.def != nil {
		defLines = e.def.Lines
	}
	if e.ov != nil {
		ovLines = e.ov.Lines
	}
	if defLines == nil && ovLines == nil {
		return nil
	}
	var from string
	var def, ov []v1alpha1.FieldRule
	fromAt := e.at(false) + ".lines.from"
	if defLines != nil {
		from, def = defLines.From, defLines.Fields
	}
	if ovLines != nil {
		if ovLines.From != "" {
			from, fromAt = ovLines.From, e.at(true)+".lines.from"
		}
		ov = ovLines.Fields
	}
	atLines := e.at(ovLines != nil) + ".lines"
	lp := &linePlan{fromText: from}
	if from == "" {
		c.errorf(atLines+".from", "the path of the list of lines is required")
	} else if path, err := parsePath(from); err != nil {
		c.errorf(fromAt, "%v", err)
	} else {
		lp.from = path
	}
	merged := c.mergeRules(e, ".lines.fields", def, ov)
	lp.rules = compileRules(c, c.envs.line, salesOrderLineFields, tether.KindSalesOrderLine, atLines, merged)
	return lp
}

// compileRules validates and compiles merged rules against the field table of kind. atKind names the
// place of the rule list, for reporting required fields that have no rule.
func compileRules[T any](c *compiler, env *cel.Env, specs []fieldSpec[T], kind tether.Kind, atKind string, merged []sourcedRule) rules[T] {
	out := make(rules[T], 0, len(merged))
	have := make(map[string]bool, len(merged))
	for _, sr := range merged {
		spec := findSpec(specs, sr.Field)
		if spec == nil {
			c.errorf(sr.at, "%s", unknownField(specs, kind, sr.Field))
			continue
		}
		have[sr.Field] = true
		r := rule[T]{field: spec.Field, set: spec.set}
		ok := true
		switch hasFrom, hasExpr := sr.From != "", sr.Expression != ""; {
		case hasFrom == hasExpr:
			c.errorf(sr.at, "set exactly one of from (a path) or expression (CEL)")
			ok = false
		case hasFrom:
			path, err := parsePath(sr.From)
			if err != nil {
				c.errorf(sr.at+".from", "%v", err)
				ok = false
			}
			r.path = path
		default:
			prg, err := compileExpression(env, sr.Expression, spec.Type)
			if err != nil {
				c.errorf(sr.at+".expression", "%v", err)
				ok = false
			}
			r.prg = prg
		}
		if sr.Default != nil {
			v, present, err := convert(spec.Type, *sr.Default)
			switch {
			case err != nil:
				c.errorf(sr.at+".default", "%v", err)
				ok = false
			case !present:
				c.errorf(sr.at+".default", "%v", cannotConvert(*sr.Default, spec.Type))
				ok = false
			}
			r.def, r.hasDef = v, true
		}
		if ok {
			out = append(out, r)
		}
	}
	for _, spec := range specs {
		if spec.Required && !have[spec.Name] {
			c.errorf(atKind, "required %s field %s has no rule", kind, spec.Name)
		}
	}
	return out
}

func findSpec[T any](specs []fieldSpec[T], name string) *fieldSpec[T] {
	for i := range specs {
		if specs[i].Name == name {
			return &specs[i]
		}
	}
	return nil
}

// unknownField explains a rule for a field the kind does not have, listing the valid fields.
func unknownField[T any](specs []fieldSpec[T], kind tether.Kind, name string) string {
	names := make([]string, len(specs))
	for i := range specs {
		names[i] = specs[i].Name
	}
	valid := strings.Join(names, ", ")
	if name == "externalID" {
		return fmt.Sprintf("%s field externalID is always the record's ID and cannot be mapped; valid fields: %s", kind, valid)
	}
	return fmt.Sprintf("%s has no field %q; valid fields: %s", kind, name, valid)
}

// parsePath splits a dot-separated path into its keys.
func parsePath(s string) ([]string, error) {
	keys := strings.Split(s, ".")
	for _, k := range keys {
		if k == "" {
			return nil, fmt.Errorf("invalid path %q: empty key", s)
		}
	}
	return keys, nil
}
