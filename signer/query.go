package signer

import (
	"net/url"
	"sort"
	"strings"
)

// setQueryParam sets name=value in a raw query, form-encoding both, removing earlier pairs of
// the same name and leaving every other pair exactly as written (other signatures may cover
// them byte for byte).
func setQueryParam(raw, name, value string) string {
	var b strings.Builder
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, _, _ := strings.Cut(pair, "=")
		if uk, err := url.QueryUnescape(k); err == nil && uk == name {
			continue
		}
		b.WriteString(pair)
		b.WriteByte('&')
	}
	b.WriteString(url.QueryEscape(name))
	b.WriteByte('=')
	b.WriteString(url.QueryEscape(value))
	return b.String()
}

// sortedRawQuery sorts the pairs of a raw query by their text, keeping each pair as written.
func sortedRawQuery(raw string) string {
	if raw == "" {
		return ""
	}
	pairs := strings.Split(raw, "&")
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}
