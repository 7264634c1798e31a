package rules

import (
	"reflect"
	"slices"
	"unsafe"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// Conditions run on the expr VM by default, which loads each feature through
// reflection and boxes it in an interface: about 60 ns and an allocation per
// comparison. Most rule conditions are comparisons of features with constants joined
// by && and ||, so those are compiled once more, from the tree expr has already
// type-checked, into Go closures that read the fields directly. Anything else (calls,
// arithmetic, builtins) keeps running on the VM; TestFastConditionsAgreeWithExpr holds
// the two to the same answers.

// value is one compiled sub-expression; exactly one of its functions is set, by kind.
type value struct {
	kind kind
	b    func(*firewall.Features) bool
	i    func(*firewall.Features) int64
	fl   func(*firewall.Features) float64
	s    func(*firewall.Features) string
	ss   func(*firewall.Features) []string
	// konst: a literal, whose functions ignore their argument.
	konst bool
}

type kind uint8

const (
	kBool kind = iota + 1
	kInt
	kFloat
	kString
	kStrings
)

// fieldIndex maps each expr name of Features to its field.
var fieldIndex = func() map[string]reflect.StructField {
	t := reflect.TypeFor[firewall.Features]()
	m := make(map[string]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if name := f.Tag.Get("expr"); name != "" && name != "-" {
			m[name] = f
		}
	}
	return m
}()

// fast compiles a checked condition into a closure, or reports false when the
// condition uses something only the VM runs.
func fast(prog *vm.Program) (func(*firewall.Features) bool, bool) {
	v, ok := build(prog.Node())
	if !ok || v.kind != kBool {
		return nil, false
	}
	return v.b, true
}

func build(n ast.Node) (value, bool) {
	switch n := n.(type) {
	case *ast.BoolNode:
		c := n.Value
		return constant(c)
	case *ast.IntegerNode:
		return constant(n.Value)
	case *ast.FloatNode:
		return constant(n.Value)
	case *ast.StringNode:
		return constant(n.Value)
	case *ast.ConstantNode:
		return constant(n.Value)
	case *ast.IdentifierNode:
		return field(n.Value)
	case *ast.UnaryNode:
		if n.Operator != "!" && n.Operator != "not" {
			return value{}, false
		}
		x, ok := build(n.Node)
		if !ok || x.kind != kBool {
			return value{}, false
		}
		return value{kind: kBool, b: func(f *firewall.Features) bool { return !x.b(f) }}, true
	case *ast.BinaryNode:
		l, ok := build(n.Left)
		if !ok {
			return value{}, false
		}
		r, ok := build(n.Right)
		if !ok {
			return value{}, false
		}
		return binary(n.Operator, l, r)
	}
	return value{}, false
}

func constant(c any) (value, bool) {
	switch c := c.(type) {
	case bool:
		return value{kind: kBool, konst: true, b: func(*firewall.Features) bool { return c }}, true
	case int:
		return value{kind: kInt, konst: true, i: func(*firewall.Features) int64 { return int64(c) }}, true
	case float64:
		return value{kind: kFloat, konst: true, fl: func(*firewall.Features) float64 { return c }}, true
	case string:
		return value{kind: kString, konst: true, s: func(*firewall.Features) string { return c }}, true
	}
	return value{}, false
}

func field(name string) (value, bool) {
	sf, ok := fieldIndex[name]
	if !ok {
		return value{}, false
	}
	// The field is read at its offset: reflection per read costs more than the whole
	// comparison. The kind switch below is what makes each cast match the field.
	off := sf.Offset
	switch sf.Type.Kind() {
	case reflect.Bool:
		return value{kind: kBool, b: func(f *firewall.Features) bool { return *(*bool)(unsafe.Add(unsafe.Pointer(f), off)) }}, true
	case reflect.Int:
		return value{kind: kInt, i: func(f *firewall.Features) int64 { return int64(*(*int)(unsafe.Add(unsafe.Pointer(f), off))) }}, true
	case reflect.Int64:
		return value{kind: kInt, i: func(f *firewall.Features) int64 { return *(*int64)(unsafe.Add(unsafe.Pointer(f), off)) }}, true
	case reflect.Float64:
		return value{kind: kFloat, fl: func(f *firewall.Features) float64 { return *(*float64)(unsafe.Add(unsafe.Pointer(f), off)) }}, true
	case reflect.String:
		return value{kind: kString, s: func(f *firewall.Features) string { return *(*string)(unsafe.Add(unsafe.Pointer(f), off)) }}, true
	case reflect.Slice:
		if sf.Type.Elem().Kind() == reflect.String {
			return value{kind: kStrings, ss: func(f *firewall.Features) []string { return *(*[]string)(unsafe.Add(unsafe.Pointer(f), off)) }}, true
		}
	}
	return value{}, false
}

func binary(op string, l, r value) (value, bool) {
	switch op {
	case "&&", "and":
		if l.kind == kBool && r.kind == kBool {
			return value{kind: kBool, b: func(f *firewall.Features) bool { return l.b(f) && r.b(f) }}, true
		}
	case "||", "or":
		if l.kind == kBool && r.kind == kBool {
			return value{kind: kBool, b: func(f *firewall.Features) bool { return l.b(f) || r.b(f) }}, true
		}
	case "in":
		if l.kind == kString && r.kind == kStrings {
			return value{kind: kBool, b: func(f *firewall.Features) bool { return slices.Contains(r.ss(f), l.s(f)) }}, true
		}
	case "==", "!=", "<", "<=", ">", ">=":
		return compare(op, l, r)
	}
	return value{}, false
}

// compare uses Go's operators, as expr does: a NaN compares unequal to everything.
func compare(op string, l, r value) (value, bool) {
	var b func(*firewall.Features) bool
	switch {
	case l.kind == kInt && r.kind == kInt:
		b = ordered(op, l.i, r.i, r.konst)
	case isNumber(l.kind) && isNumber(r.kind):
		// expr compares an int with a float as floats.
		b = ordered(op, asFloat(l), asFloat(r), r.konst)
	case l.kind == kString && r.kind == kString:
		b = ordered(op, l.s, r.s, r.konst)
	case l.kind == kBool && r.kind == kBool && (op == "==" || op == "!="):
		eq := op == "=="
		b = func(f *firewall.Features) bool { return (l.b(f) == r.b(f)) == eq }
	}
	if b == nil {
		return value{}, false
	}
	return value{kind: kBool, b: b}, true
}

// ordered builds a comparison; with a constant on the right (the usual
// "feature > 100") the constant is read once, here, rather than on every call.
func ordered[T int64 | float64 | string](op string, l, r func(*firewall.Features) T, rConst bool) func(*firewall.Features) bool {
	if rConst {
		c := r(nil)
		switch op {
		case "==":
			return func(f *firewall.Features) bool { return l(f) == c }
		case "!=":
			return func(f *firewall.Features) bool { return l(f) != c }
		case "<":
			return func(f *firewall.Features) bool { return l(f) < c }
		case "<=":
			return func(f *firewall.Features) bool { return l(f) <= c }
		case ">":
			return func(f *firewall.Features) bool { return l(f) > c }
		case ">=":
			return func(f *firewall.Features) bool { return l(f) >= c }
		}
		return nil
	}
	switch op {
	case "==":
		return func(f *firewall.Features) bool { return l(f) == r(f) }
	case "!=":
		return func(f *firewall.Features) bool { return l(f) != r(f) }
	case "<":
		return func(f *firewall.Features) bool { return l(f) < r(f) }
	case "<=":
		return func(f *firewall.Features) bool { return l(f) <= r(f) }
	case ">":
		return func(f *firewall.Features) bool { return l(f) > r(f) }
	case ">=":
		return func(f *firewall.Features) bool { return l(f) >= r(f) }
	}
	return nil
}

func isNumber(k kind) bool { return k == kInt || k == kFloat }

func asFloat(v value) func(*firewall.Features) float64 {
	if v.kind == kFloat {
		return v.fl
	}
	return func(f *firewall.Features) float64 { return float64(v.i(f)) }
}
