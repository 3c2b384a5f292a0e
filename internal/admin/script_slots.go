package admin

import (
	"net/http"
	"runtime"
	"time"
)

// scriptSlots bounds the unsaved scripts compiled at once (script checks, dry runs with a
// script). Any tenant role may send them, as fast as it types; each compile of a script at the
// size limit can take a second of CPU and tens of MB of parser stack, so an unbounded flood
// would take the gateway's CPU and memory from every tenant: they get half the cores at most.
var scriptSlots = max(1, runtime.GOMAXPROCS(0)/2)

// scriptWait is how long a caller waits for a slot before 429 (a var for tests).
var scriptWait = 2 * time.Second

// scriptSlot takes a compile slot; release gives it back.
func (s *server) scriptSlot(c *call) (release func(), err error) {
	t := time.NewTimer(scriptWait)
	defer t.Stop()
	select {
	case s.scripts <- struct{}{}:
		return func() { <-s.scripts }, nil
	case <-t.C:
		return nil, errorf(http.StatusTooManyRequests, "too many script checks and dry runs of unsaved scripts at once; retry shortly")
	case <-c.r.Context().Done():
		return nil, errorf(http.StatusServiceUnavailable, "the request ended while it waited for a script slot")
	}
}
