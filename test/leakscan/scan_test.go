// Package leakscan proves no secret value reaches anything keygate writes for people: log lines,
// metrics, error bodies returned to callers, admin replies and dry-run output. Every run uses
// fresh random secrets; the scanner looks for them raw, base64 (std/url, padded or not), hex and
// URL-encoded (internal/redact). Failure messages name where and which form, never the value.
package leakscan

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"testing"

	"github.com/keygate/keygate/internal/redact"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/internal/testkit"
)

// scanner holds the run's secrets and counts what it scanned.
type scanner struct {
	set     redact.Set
	scanned int
}

func newScanner(values ...string) *scanner {
	s := &scanner{}
	for _, v := range values {
		s.set.Add(secret.FromString(v))
	}
	return s
}

// check fails t if text (named where) holds any secret in any form.
func (s *scanner) check(t *testing.T, where string, text []byte) {
	t.Helper()
	s.scanned += len(text)
	if found, form := s.set.Find(text); found {
		t.Errorf("%s holds a secret (form %d of the scan set; value withheld)", where, form)
	}
}

func randomHex(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// capture is a slog handler target: every record as a JSON line, at debug level.
type capture struct{ testkit.SyncBuffer }

func (c *capture) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestScannerFindsEveryForm is the positive control: the scanner does see a secret in each form.
func TestScannerFindsEveryForm(t *testing.T) {
	v := randomHex("ls-", 12)
	s := newScanner(v)
	for _, form := range []string{v, hex.EncodeToString([]byte(v))} {
		if found, _ := s.set.Find([]byte("x " + form + " y")); !found {
			t.Fatalf("the scanner missed a form it should find")
		}
	}
}
