package config

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration written as a Go duration string ("250ms", "5s") in YAML.
type Duration time.Duration

func (d Duration) Std() time.Duration { return time.Duration(d) }

// Or returns d, or def when d is zero.
func (d Duration) Or(def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return Hinted("", `write a duration with its unit, quoted: "250ms", "5s", "2m"`, "%s is not a duration", shortJSON(b))
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		shown := fmt.Sprintf("%q", s)
		if !plainWord(s) {
			shown = "the value written"
		}
		return Hinted("", `write a duration with its unit, quoted: "250ms", "5s", "2m"`, "%s is not a non-negative duration", shown)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// shortJSON shows a scalar as written; a list, mapping or long value only by its kind.
func shortJSON(b []byte) string {
	switch {
	case len(b) > 0 && b[0] == '{':
		return "a mapping"
	case len(b) > 0 && b[0] == '[':
		return "a list"
	case len(b) > 24:
		return "the value"
	}
	return string(b)
}
