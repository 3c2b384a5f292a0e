package extproc

import (
	"sync/atomic"

	"github.com/keygate/keygate/internal/failure"
)

// bodyCost is what keygate holds per body byte while it processes a body: the message gRPC
// received, keygate's working copies (the ciphertext and its text, the decrypted answer) and the
// reply being sent. Measured on the AES path (test/loadgen's memory scenario): peak RSS stays
// within this multiple of the bodies in flight.
const bodyCost = 3

// budget is the memory the open streams may hold for bodies, over all streams. A stream
// reserves bodyCost bytes per body byte when it learns a body's size (the request's
// content-length, a body's length when it arrives) and gives everything back when it ends; a
// reservation that does not fit fails the request with 503 rather than letting keygate grow
// until the kernel kills it.
type budget struct {
	limit atomic.Int64 // 0: no budget
	used  atomic.Int64
}

// reserve takes n bytes from the budget, all or nothing.
func (b *budget) reserve(n int64) bool {
	if b == nil || n <= 0 {
		return true
	}
	limit := b.limit.Load()
	for {
		cur := b.used.Load()
		if limit > 0 && cur+n > limit {
			return false
		}
		if b.used.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

func (b *budget) release(n int64) {
	if b != nil && n > 0 {
		b.used.Add(-n)
	}
}

// SetMemoryBudget changes the budget for the streams that reserve from now on (0: none); what
// streams hold already stays theirs. For the load driver's memory scenario.
func (s *Server) SetMemoryBudget(n int64) { s.budget.limit.Store(n) }

// InFlightBytes is the memory the open streams have reserved for bodies (0 without a budget).
func (s *Server) InFlightBytes() int64 { return s.budget.used.Load() }

// Refused is how many requests the memory budget has refused since start.
func (s *Server) Refused() int64 { return s.refused.Load() }

// reserveBody makes the stream's reservation cover a body of size bytes (the request's or the
// response's); the error is the 503 the request fails with when it does not fit.
func (p *processor) reserveBody(size int64, held *int64) error {
	need := bodyCost*size - *held
	if need <= 0 {
		return nil
	}
	if !p.budget.reserve(need) {
		if p.refused != nil {
			p.refused.Add(1)
		}
		return failure.New(failure.Unavailable, "limits",
			"keygate is at its memory budget for bodies in flight (limits.ext_proc_memory_bytes = %d); a body of %d bytes must wait: retry later",
			p.budget.limit.Load(), size)
	}
	*held += need
	return nil
}

// keepOnly shrinks a reservation to n bytes: a request body keygate has answered is held as
// the answer gRPC is sending (and, for a token provider, the caller's body kept for the one
// retry), not bodyCost times.
func (p *processor) keepOnly(n int64, held *int64) {
	if *held > n {
		p.budget.release(*held - n)
		*held = n
	}
}

// releaseBodies gives back everything the stream reserved.
func (p *processor) releaseBodies() {
	p.budget.release(p.reqHeld + p.respHeld)
	p.reqHeld, p.respHeld = 0, 0
}
