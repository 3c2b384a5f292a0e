package signer

import (
	"strings"
	"time"
)

// Stage names a part of a request's processing whose time keygate reports per stage
// (internal/metrics). The stages are disjoint: a stage that calls into another (a script
// reading a key) records only its own time.
type Stage uint8

// The stages, in pipeline order. Crypto is what SignRequest and ProcessResponse spend outside
// every other stage: hashing, signing, encrypting, body handling.
const (
	StageIdentify Stage = iota // provider found, tenant authenticated and authorized
	StageConfig                // the compiled snapshot consulted (provider lookup)
	StageKeyFetch              // keystore reads and Transit calls (cache hits included)
	StageToken                 // token source calls (cache hits included)
	StageScript                // custom-mode JavaScript, less its key and token calls
	StageCrypto                // the remainder of signing or response processing
	NumStages                  // the number of stages; not a stage
)

var stageNames = [NumStages]string{"identify", "config", "key_fetch", "token", "script", "crypto"}

// String is the stage's metric label value.
func (s Stage) String() string {
	if s < NumStages {
		return stageNames[s]
	}
	return "unknown"
}

// StageTimes accumulates time per stage for one request phase. It is a value inside the
// Exchange, so recording costs no allocation.
type StageTimes [NumStages]time.Duration

// Add records d under stage s.
func (t *StageTimes) Add(s Stage, d time.Duration) { t[s] += d }

// AddSince records the time since start under stage s.
func (t *StageTimes) AddSince(s Stage, start time.Time) { t[s] += time.Since(start) }

// Sum is the time recorded under all stages.
func (t *StageTimes) Sum() time.Duration {
	var d time.Duration
	for _, v := range t {
		d += v
	}
	return d
}

// AddExclusive records under s the time since start less what other stages recorded since
// mark (a Sum taken at start): the time s spent itself, not in stages it called into.
//
//	start, mark := time.Now(), x.Timing.Sum()
//	defer x.Timing.AddExclusive(signer.StageScript, start, mark)
func (t *StageTimes) AddExclusive(s Stage, start time.Time, mark time.Duration) {
	own := time.Since(start) - (t.Sum() - mark)
	if own > 0 {
		t[s] += own
	}
}

// String lists the stages that took time, "key_fetch=1.2ms script=300µs", for a log line.
func (t StageTimes) String() string {
	var b strings.Builder
	for s, d := range t {
		if d > 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(Stage(s).String() + "=" + d.Round(time.Microsecond).String())
		}
	}
	return b.String()
}
