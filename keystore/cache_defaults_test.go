package keystore

import (
	"testing"
	"time"
)

// TestCacheDefaults: an unset (or zero, or negative) TTL is five minutes and an unset negative
// TTL ten seconds; a zero TTL would cache nothing and send every
// request to Vault.
func TestCacheDefaults(t *testing.T) {
	for _, o := range []CacheOptions{{}, {TTL: -1, NegativeTTL: -1, RetryInterval: -1, MaxBytes: -1}} {
		d := o.withDefaults()
		if d.TTL != 5*time.Minute || d.NegativeTTL != 10*time.Second || d.StaleIfError != 10*time.Minute {
			t.Errorf("%+v: defaults TTL %v, negative TTL %v, stale-if-error %v", o, d.TTL, d.NegativeTTL, d.StaleIfError)
		}
		if d.RetryInterval != time.Second || d.MaxBytes != 64<<20 {
			t.Errorf("%+v: defaults retry interval %v, max bytes %d", o, d.RetryInterval, d.MaxBytes)
		}
	}
	if d := (CacheOptions{TTL: time.Second, NegativeTTL: 2 * time.Second}).withDefaults(); d.TTL != time.Second || d.NegativeTTL != 2*time.Second {
		t.Errorf("set values replaced: %v, %v", d.TTL, d.NegativeTTL)
	}
}
