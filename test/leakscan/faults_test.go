package leakscan

import (
	"sync"
	"testing"

	"github.com/keygate/keygate/test/faults"
)

// TestNoSecretInFaultSuite runs the whole fault suite with a capturing logger and scans every
// log line and every error body callers got.
func TestNoSecretInFaultSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the fault suite (Vault, about 20s)")
	}
	secrets := faults.NewSecrets()
	logs := &capture{}
	var mu sync.Mutex
	var bodies [][]byte
	results := faults.Run(t, faults.Options{Logger: logs.logger(), Secrets: secrets, ErrorBody: func(b []byte) {
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
	}})
	s := newScanner(secrets.APIKey, secrets.ClientSecret, secrets.AESKey, secrets.AESIV, secrets.APIv3Key, secrets.AWSSecret)
	s.check(t, "the fault suite's logs", logs.Bytes())
	for i, b := range bodies {
		s.check(t, "caller error body "+itoa(i), b)
	}
	t.Logf("scanned %d bytes: logs and %d error bodies from %d faults", s.scanned, len(bodies), len(results))
	if len(bodies) == 0 || len(logs.Bytes()) == 0 {
		t.Errorf("nothing was captured: the scan proves nothing")
	}
}
