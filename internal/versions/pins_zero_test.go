package versions

import (
	"context"
	"testing"
)

// TestZeroPinIsNoPin: a pin kept from an earlier version must be a real KV version (1 or more);
// a 0 is no pin, and the reference is pinned to the version current now rather than left at 0.
func TestZeroPinIsNoPin(t *testing.T) {
	f, err := parseValid(testConfig("one"))
	if err != nil {
		t.Fatal(err)
	}
	keys := PinKeys(f)
	if len(keys) == 0 {
		t.Fatal("test config has no KV reference")
	}
	keep := map[string]int{keys[0]: 0}
	pins, err := pinSecrets(context.Background(), &fakeSecrets{version: 7}, f, keep)
	if err != nil {
		t.Fatal(err)
	}
	if pins[keys[0]] != 7 {
		t.Errorf("%s pinned to %d, want the current version 7", keys[0], pins[keys[0]])
	}
}
