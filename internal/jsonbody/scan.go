package jsonbody

import (
	"encoding/json"
	"errors"
	"fmt"
)

// split cuts a JSON text that json.Valid accepted into the top-level object's keys and raw
// values, in one pass and without copying: values are slices of b. Because b is known to be
// valid JSON, the scanner only needs to follow strings (and their escapes) and nesting depth.
func split(b []byte, add func(key string, raw []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errors.New("body is not a JSON object")
	}
	i = skipSpace(b, i+1)
	if b[i] == '}' {
		return nil
	}
	for {
		end := stringEnd(b, i)
		key, err := unquoteKey(b[i:end])
		if err != nil {
			return err
		}
		i = skipSpace(b, end)
		i = skipSpace(b, i+1) // past ':'
		vend := valueEnd(b, i)
		if err := add(key, trimSpace(b[i:vend])); err != nil {
			return err
		}
		i = skipSpace(b, vend)
		if b[i] == '}' {
			return nil
		}
		i = skipSpace(b, i+1) // past ','
	}
}

// stringEnd returns the index just past the string starting at b[i] == '"'.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// valueEnd returns the index just past the value starting at b[i].
func valueEnd(b []byte, i int) int {
	depth := 0
	for j := i; j < len(b); j++ {
		switch c := b[j]; c {
		case '"':
			j = stringEnd(b, j) - 1
			if depth == 0 {
				return j + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return j // the end of the enclosing object
			}
			depth--
			if depth == 0 {
				return j + 1
			}
		case ',':
			if depth == 0 {
				return j
			}
		}
	}
	return len(b)
}

func unquoteKey(q []byte) (string, error) {
	if !hasEscape(q) {
		return string(q[1 : len(q)-1]), nil
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return "", fmt.Errorf("body key %s: %w", q, err)
	}
	return s, nil
}

func hasEscape(q []byte) bool {
	for _, c := range q {
		if c == '\\' {
			return true
		}
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
