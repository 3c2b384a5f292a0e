package script

import (
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
