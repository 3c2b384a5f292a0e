package script

import (
	"math"

	"github.com/dop251/goja"

	"github.com/keygate/keygate/internal/failure"
)

// DefaultMemory is a script invocation's memory budget when the provider sets none, and the
// ceiling of script.memory_bytes unless Options.MaxMemory says otherwise. The article's
// functions use a few KiB; a 1 MiB body with a few copies of it fits many times over.
const DefaultMemory = 32 << 20

// meter is one invocation's memory budget: what the script has made through built-ins that
// allocate (strings, arrays, typed arrays and buffers, including the built-ins' own results),
// counted before the allocation happens wherever the size can be known in advance. goja has
// no allocation hook, so this is what stops `'x'.repeat(3e8)` before it allocates 300 MB; the
// process watchdog (watchdog.go) catches what grows one JavaScript operation at a time.
type meter struct{ used, limit int64 }

func (m *meter) reset(limit int64) { m.used, m.limit = 0, limit }

// charge counts n bytes against the budget, failing the invocation (uncatchably) beyond it.
func (st *callState) charge(n int) { st.chargeBytes(float64(n)) }

func (st *callState) chargeBytes(n float64) {
	if n < 0 {
		n = 0
	}
	if float64(st.mem.used)+n > float64(st.mem.limit) {
		st.fatal(failure.New(failure.Internal, "script", "script went over its memory budget of %d bytes", st.mem.limit))
	}
	st.mem.used += int64(n)
}

// need fails the invocation, before a call allocates, when n more bytes would exceed the
// budget.
func (st *callState) need(n float64) {
	if math.IsNaN(n) || float64(st.mem.used)+n > float64(st.mem.limit) {
		st.overBudget()
	}
}

// overBudget fails the invocation for a call an estimate refused before it ran. Its message
// says so: the call allocated nothing, and the estimate may exceed what the call would have
// made (which a script author reading "went over" alone could not tell).
func (st *callState) overBudget() {
	st.fatal(failure.New(failure.Internal, "script", "script went over its memory budget of %d bytes (%s)", st.mem.limit, refusedEarly))
}

// refusedEarly ends the message of a call refused on its estimate, before it ran.
const refusedEarly = "a call that would not fit was refused before it ran"

func arg0(args []goja.Value) goja.Value {
	if len(args) == 0 {
		return goja.Undefined()
	}
	return args[0]
}

// num is argument i as a non-negative number (0 when absent or not a number).
func num(args []goja.Value, i int) float64 {
	if i >= len(args) {
		return 0
	}
	f := args[i].ToFloat()
	if math.IsNaN(f) || f < 0 {
		return 0
	}
	return f
}

// strLen is the length of a primitive string, 0 for anything else (no conversion runs).
func strLen(v goja.Value) float64 {
	if v == nil {
		return 0
	}
	if s, ok := v.(goja.String); ok {
		return float64(s.Length())
	}
	return 0
}

func strLens(args []goja.Value) float64 {
	var n float64
	for _, a := range args {
		n += strLen(a)
	}
	return n
}

// lengthOf is an array-like's length (0 for primitives other than strings); reading it may
// run a getter, as the built-in itself would.
func lengthOf(rt *goja.Runtime, v goja.Value) float64 {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return 0
	}
	if s, ok := v.(goja.String); ok {
		return float64(s.Length())
	}
	o, ok := v.(*goja.Object)
	if !ok {
		return v.ToFloat()
	}
	l := o.Get("length")
	if l == nil {
		return 0
	}
	f := l.ToFloat()
	if math.IsNaN(f) || f < 0 {
		return 0
	}
	return f
}

// jsonDepth is the deepest nesting of [ and { in JSON text, outside strings.
func jsonDepth(s string) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}
