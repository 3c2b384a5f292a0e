package token

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Expiry formats of an http token source's expiry_path value.
const (
	ExpirySecondsFromNow = "seconds_from_now" // 7200: valid for that many seconds (OAuth2 expires_in)
	ExpiryUnixSeconds    = "unix_s"           // 1700000000
	ExpiryUnixMillis     = "unix_ms"          // 1700000000000
	ExpiryRFC3339        = "rfc3339"          // 2026-01-02T15:04:05Z
)

// maxLifetime bounds a relative expiry so that it cannot overflow a time.Duration.
const maxLifetime = 10 * 365 * 24 * time.Hour

// splitPath parses a dot path ("data.accessToken", "items.0.token") at config load.
func splitPath(path string) ([]string, error) {
	if path == "" {
		return nil, fmt.Errorf("empty path")
	}
	parts := strings.Split(path, ".")
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("%q has an empty segment", path)
		}
	}
	return parts, nil
}

// lookup follows a dot path into a decoded JSON document; a numeric segment indexes an array.
func lookup(doc any, path []string) (any, bool) {
	cur := doc
	for _, p := range path {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[p]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, cur != nil
}

// tokenString is a token field's value: a non-empty JSON string.
func tokenString(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok && s != ""
}

// parseExpiry turns an expiry field's value (JSON number or string) into an instant.
func parseExpiry(v any, format string, now time.Time) (time.Time, error) {
	var text string
	switch x := v.(type) {
	case json.Number:
		text = x.String()
	case string:
		text = strings.TrimSpace(x)
	default:
		return time.Time{}, fmt.Errorf("is not a number or a string")
	}
	if format == ExpiryRFC3339 {
		t, err := time.Parse(time.RFC3339, text)
		if err != nil {
			return time.Time{}, fmt.Errorf("is not an RFC 3339 time")
		}
		return t, nil
	}
	n, err := strconv.ParseFloat(text, 64)
	if err != nil || n < 0 || n > 1e15 {
		return time.Time{}, fmt.Errorf("is not a non-negative number")
	}
	switch format {
	case ExpiryUnixSeconds:
		return time.Unix(int64(n), 0), nil
	case ExpiryUnixMillis:
		return time.UnixMilli(int64(n)), nil
	default:
		if n > maxLifetime.Seconds() {
			return time.Time{}, fmt.Errorf("is more than %s from now", maxLifetime)
		}
		return now.Add(time.Duration(n * float64(time.Second))), nil
	}
}

func validExpiryFormat(f string) bool {
	switch f {
	case ExpirySecondsFromNow, ExpiryUnixSeconds, ExpiryUnixMillis, ExpiryRFC3339:
		return true
	}
	return false
}
