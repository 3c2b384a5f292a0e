package signer

import "testing"

// TestAWSCanonicalQuerySortsByKeyThenValue: the canonical query is sorted by encoded key, and
// by value only among equal keys (AWS SigV4: "sort the parameters by key name... then by value").
func TestAWSCanonicalQuerySortsByKeyThenValue(t *testing.T) {
	for raw, want := range map[string]string{
		"b=1&a=2":           "a=2&b=1",
		"a=2&a=1&b=0":       "a=1&a=2&b=0",
		"z=a&y=b&x=c":       "x=c&y=b&z=a",
		"k=v%20w&k=v&j":     "j=&k=v&k=v%20w",
		"only=one":          "only=one",
		"a=1&&b=2":          "a=1&b=2",
		"key%2Bx=1&key=2":   "key=2&key%2Bx=1",
		"space+x=1&space=2": "space=2&space%20x=1",
	} {
		got, err := awsCanonicalQuery(raw)
		if err != nil || got != want {
			t.Errorf("awsCanonicalQuery(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
}
