package daemon

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/keygate/keygate/internal/audit"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/versions"
)

// watchFile applies the config file whenever its content changes. It compares content hashes,
// not modification events, so editors that write a new file and rename it, and Kubernetes
// ConfigMap symlink swaps, are seen the same way. A refused config is logged with the field
// that is wrong and changes nothing; the next edit is tried again.
// An edit is based on the version the file last became (fileChange): one that would drop
// changes stored since through the admin API or the CLI is refused, logged and audited.
// last is the hash of the content start-up dealt with.
func watchFile(ctx context.Context, w fileWatch) {
	last := w.last
	tick(ctx, w.every, func() {
		data, err := os.ReadFile(w.path)
		if err != nil {
			return // the file is being replaced, or the store is away: keep serving
		}
		hash := config.Hash(data)
		if hash == last {
			return
		}
		last = hash
		v, err := w.configs.Commit(ctx, fileChange(data, w.mark, w.fileWins, "file-watcher", w.path))
		if err != nil {
			msg := "config file change refused: still serving the current version"
			if errors.Is(err, versions.ErrStale) {
				msg = "config file change refused: it would drop changes stored since the file was last applied " +
					"(admin API or keygate config); bring them into the file (keygate config show) or restart with --config-file-wins"
			}
			w.log.Error(msg, "file", w.path, "err", err)
			w.configs.failed("file")
			_ = w.audit.Write(ctx, audit.Admin{Time: time.Now().UTC(), Actor: "file-watcher", Role: "cli",
				Action: "config.file", Target: w.path, Outcome: "refused", Error: err.Error()})
			return
		}
		w.mark.save(hash, v.Number)
	})
}

// fileWatch is what watchFile needs.
type fileWatch struct {
	path     string
	every    time.Duration
	last     string // the hash of the content start-up dealt with
	configs  configs
	mark     fileMark
	fileWins bool
	audit    audit.Sink
	log      *slog.Logger
}

// followStore applies versions other writers stored: another replica of a fleet (versions in
// Vault), or `keygate config apply|rollback` run against this machine's state folder. Each
// replica thus converges on the newest stored version within one interval.
func followStore(ctx context.Context, store versions.Store, every time.Duration, c configs, log *slog.Logger) {
	tick(ctx, every, func() {
		latest, err := store.Latest(ctx)
		if err != nil {
			return // unreachable or empty: keep serving what we have
		}
		if cur, ok := c.Current(); ok && latest.Number <= cur.Number {
			return
		}
		v, err := c.Restore(ctx)
		if err != nil {
			log.Error("a newer stored config version could not be applied", "version", latest.Number, "err", err)
			c.failed("store")
			return
		}
		c.onApplied(v)
	})
}

// tick runs fn every interval (default 2s; negative: never) until ctx is done.
func tick(ctx context.Context, every time.Duration, fn func()) {
	if every < 0 {
		return
	}
	if every == 0 {
		every = 2 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}
