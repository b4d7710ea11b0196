package mapping

import (
	"fmt"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/ext"
	"github.com/google/cel-go/interpreter"
)

// costLimit caps the runtime cost of one evaluation of one expression, so that a rule cannot stall a sync
// (for example with nested comprehensions over a large list). Ordinary field expressions cost well under
// a hundred.
const costLimit = 1_000_000

// celEnvs holds the two CEL environments: one for a record's rules, one for its lines' rules.
type celEnvs struct {
	record *cel.Env // `record`: the platform record
	line   *cel.Env // `line`: one line; `record`: the record (order) that holds it
}

// envs builds the environments once; they are safe for concurrent use.
var envs = sync.OnceValues(func() (*celEnvs, error) {
	recordType := cel.MapType(cel.StringType, cel.DynType)
	common := []cel.EnvOption{
		cel.Variable("record", recordType),
		ext.Strings(),
		ext.Lists(),
		ext.Math(),
		cel.OptionalTypes(),
		cel.DefaultUTCTimeZone(true),
	}
	rec, err := cel.NewEnv(common...)
	if err != nil {
		return nil, err
	}
	line, err := rec.Extend(cel.Variable("line", recordType))
	if err != nil {
		return nil, err
	}
	return &celEnvs{record: rec, line: line}, nil
})

// compileExpression compiles a rule's expression for a field of type t and checks that its static output
// type can convert to t. The error lists every issue as `ERROR: <input>:line:column: message`.
func compileExpression(env *cel.Env, expr string, t Type) (cel.Program, error) {
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		msgs := make([]string, 0, len(iss.Errors()))
		for _, e := range iss.Errors() {
			msg := strings.TrimSuffix(e.Message, " (in container '')")
			msgs = append(msgs, fmt.Sprintf("ERROR: <input>:%d:%d: %s", e.Location.Line(), e.Location.Column()+1, msg))
		}
		return nil, fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	if out := ast.OutputType(); !celTypeConverts(out, t) {
		return nil, fmt.Errorf("yields %s, which cannot convert to %s", out, t)
	}
	prg, err := env.Program(ast, cel.CostLimit(costLimit), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, err
	}
	return prg, nil
}

// celTypeConverts reports whether values of the CEL type ct can convert to the field type t. Dynamic
// types, null and type parameters are accepted here and checked when the expression runs.
func celTypeConverts(ct *cel.Type, t Type) bool {
	switch ct.Kind() {
	case types.DynKind, types.AnyKind, types.NullTypeKind, types.TypeParamKind:
		return true
	case types.OpaqueKind:
		if ct.TypeName() == "optional_type" && len(ct.Parameters()) == 1 {
			return celTypeConverts(ct.Parameters()[0], t)
		}
		return false
	}
	switch k := ct.Kind(); t {
	case TypeString:
		return k == types.StringKind || k == types.IntKind || k == types.UintKind || k == types.DoubleKind
	case TypeInt, TypeDecimal:
		return k == types.IntKind || k == types.UintKind || k == types.DoubleKind || k == types.StringKind
	case TypeTime:
		return k == types.TimestampKind || k == types.StringKind
	case TypeBool:
		return k == types.BoolKind || k == types.StringKind
	}
	return false
}

// fromCEL turns an evaluation result into the Go value convert takes: nil, string, int64, uint64, float64,
// bool or time.Time. An empty optional is nil. Lists, maps and other values are returned as they are, for
// convert to reject with their kind.
func fromCEL(v ref.Val) (any, error) {
	switch x := v.(type) {
	case types.String:
		return string(x), nil
	case types.Int:
		return int64(x), nil
	case types.Double:
		return float64(x), nil
	case types.Bool:
		return bool(x), nil
	case types.Uint:
		return uint64(x), nil
	case types.Null:
		return nil, nil
	case types.Timestamp:
		return x.Time, nil
	case *types.Optional:
		if !x.HasValue() {
			return nil, nil
		}
		return fromCEL(x.GetValue())
	case *types.Err:
		return nil, x
	case traits.Lister:
		return []any(nil), nil
	case traits.Mapper:
		return map[string]any(nil), nil
	}
	return v.Value(), nil
}

// activation resolves `record` and `line` for an evaluation. One activation is reused for every record of
// an Apply call; the CEL view of each map is built only when an expression first reads it.
type activation struct {
	record    map[string]any
	line      map[string]any
	recordVal ref.Val
	lineVal   ref.Val
	hasLine   bool
}

var _ interpreter.Activation = (*activation)(nil)

// reset points the activation at a new record and forgets its line.
func (a *activation) reset(record map[string]any) {
	a.record, a.recordVal = record, nil
	a.line, a.lineVal, a.hasLine = nil, nil, false
}

// setLine points the activation at a line of the current record.
func (a *activation) setLine(line map[string]any) {
	a.line, a.lineVal, a.hasLine = line, nil, true
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "record":
		if a.recordVal == nil {
			a.recordVal = types.NewStringInterfaceMap(types.DefaultTypeAdapter, a.record)
		}
		return a.recordVal, true
	case "line":
		if !a.hasLine {
			return nil, false
		}
		if a.lineVal == nil {
			a.lineVal = types.NewStringInterfaceMap(types.DefaultTypeAdapter, a.line)
		}
		return a.lineVal, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }
