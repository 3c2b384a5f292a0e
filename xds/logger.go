package xds

import (
	"context"
	"fmt"
	"log/slog"

	cplog "github.com/envoyproxy/go-control-plane/pkg/log"
)

// slogAdapter hands go-control-plane's printf-style logging to slog. Its Info level is
// per-watch chatter, so it goes to Debug.
type slogAdapter struct{ log *slog.Logger }

var _ cplog.Logger = slogAdapter{}

func (a slogAdapter) Debugf(format string, args ...any) { a.logf(slog.LevelDebug, format, args) }
func (a slogAdapter) Infof(format string, args ...any)  { a.logf(slog.LevelDebug, format, args) }
func (a slogAdapter) Warnf(format string, args ...any)  { a.logf(slog.LevelWarn, format, args) }
func (a slogAdapter) Errorf(format string, args ...any) { a.logf(slog.LevelError, format, args) }

func (a slogAdapter) logf(level slog.Level, format string, args []any) {
	ctx := context.Background()
	if !a.log.Enabled(ctx, level) {
		return
	}
	a.log.Log(ctx, level, fmt.Sprintf(format, args...), "component", "xds")
}
