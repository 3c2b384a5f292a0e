// Package testkit holds builders tests share, so that each test file does not grow its own copy.
package testkit

import (
	"bytes"
	"sync"
)

// SyncBuffer is a bytes.Buffer safe for concurrent writers: a slog handler's target, or a
// subprocess's stderr, read by the test while it runs.
type SyncBuffer struct {
	// Limit, when positive, bounds memory: writes once the buffer holds Limit bytes are
	// dropped (reported as written). The start of a log is what tests read.
	Limit int

	mu sync.Mutex
	b  bytes.Buffer
}

func (w *SyncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.Limit > 0 && w.b.Len() > w.Limit {
		return len(p), nil
	}
	return w.b.Write(p)
}

// String returns a copy of what was written so far.
func (w *SyncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// Bytes returns a copy of what was written so far.
func (w *SyncBuffer) Bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.b.Bytes())
}
