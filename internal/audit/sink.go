package audit

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
)

// Sink receives audit events. Implementations are safe for concurrent use.
type Sink interface {
	Write(ctx context.Context, e Event) error
}

// JSONLines writes each event as one JSON line to an io.Writer (a file opened for append, a
// pipe to a collector). Lines from concurrent writers never interleave.
type JSONLines struct {
	mu sync.Mutex
	w  io.Writer
}

// NewJSONLines returns a sink writing to w.
func NewJSONLines(w io.Writer) *JSONLines { return &JSONLines{w: w} }

func (s *JSONLines) Write(_ context.Context, e Event) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err = s.w.Write(line)
	return err
}

// Fanout writes every event to all sinks; it returns the errors of those that failed, joined,
// after trying them all.
type Fanout []Sink

func (f Fanout) Write(ctx context.Context, e Event) error {
	var errs []error
	for _, s := range f {
		if s == nil {
			continue
		}
		if err := s.Write(ctx, e); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Discard drops every event.
type Discard struct{}

func (Discard) Write(context.Context, Event) error { return nil }

var (
	_ Sink = (*JSONLines)(nil)
	_ Sink = Fanout(nil)
	_ Sink = Discard{}
	_ Sink = (*Memory)(nil)
)
