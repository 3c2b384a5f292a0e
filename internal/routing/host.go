package routing

import "fmt"

// CheckHost is the rule for a provider's hosts entry: a lower-case DNS name (labels of a-z,
// 0-9 and '-', not starting or ending with '-', 1-63 characters; 253 in all), nothing else. No
// port (Envoy strips the port before matching, so "h:1" would never match, and keygate would
// not agree on what it means), no wildcard ("*", "*.x", "x.*": Envoy prefers exact over suffix
// over prefix over "*", a precedence keygate has no reason to reproduce), no IP literal, no
// trailing dot. With only exact names, Envoy's domain match and HostKey agree by construction.
func CheckHost(h string) error {
	switch {
	case h == "":
		return fmt.Errorf("is empty")
	case len(h) > 253:
		return fmt.Errorf("%q is longer than 253 characters", h)
	}
	label := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			label++
		case c == '-':
			if label == 0 || i+1 == len(h) || h[i+1] == '.' {
				return fmt.Errorf("%q: a label must not start or end with '-'", h)
			}
			label++
		case c == '.':
			if label == 0 || i+1 == len(h) {
				return fmt.Errorf("%q: empty label (no leading, trailing or double '.')", h)
			}
			label = 0
		case c >= 'A' && c <= 'Z':
			return fmt.Errorf("%q must be lower case", h)
		case c == ':':
			return fmt.Errorf("%q has a port: hosts are names only (Envoy strips the caller's port before matching)", h)
		case c == '*':
			return fmt.Errorf("%q has a wildcard: hosts are exact names only", h)
		default:
			return fmt.Errorf("%q has %q: a host is a DNS name of a-z, 0-9, '-' and '.'", h, string(rune(c)))
		}
		if label > 63 {
			return fmt.Errorf("%q has a label longer than 63 characters", h)
		}
	}
	return nil
}
