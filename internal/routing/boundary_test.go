package routing

import (
	"strings"
	"testing"
)

// TestHostRuleBoundaries: the edges of CheckHost, each a mutant `make mutate` found alive.
func TestHostRuleBoundaries(t *testing.T) {
	label63 := "a" + strings.Repeat("-a", 31) // 63 characters, hyphens inside
	for h, ok := range map[string]bool{
		label63 + ".example":            true,
		label63 + "a.example":           false, // 64: the hyphens count as characters too
		"abc-":                          false, // a trailing '-' at the very end of the name
		"abc-.example":                  false,
		"-abc.example":                  false,
		"a.b":                           true,
		strings.Repeat("a.", 126) + "a": true, // 253
	} {
		if err := CheckHost(h); (err == nil) != ok {
			t.Errorf("CheckHost(%q) = %v, want ok=%v", h, err, ok)
		}
	}
}
