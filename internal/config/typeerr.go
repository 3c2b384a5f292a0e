package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

var durationType = reflect.TypeOf(Duration(0))

// typeErrors walks decoded JSON against the Go type and returns one FieldError per value of the
// wrong kind, in document order as far as JSON allows (keys sorted). encoding/json reports only
// the first, with a Go type name and often without the field path.
func typeErrors(v any, t reflect.Type, path string) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return nil // null leaves the zero value
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		raw, _ := json.Marshal(v)
		err := json.Unmarshal(raw, reflect.New(t).Interface())
		if err == nil {
			return nil
		}
		var fe *FieldError
		if errors.As(err, &fe) {
			c := *fe
			c.Path = join(path, fe.Path)
			return []error{&c}
		}
		if t == durationType {
			return []error{Hinted(path, `write a duration with its unit, quoted: "250ms", "5s", "2m"`,
				"%s is not a duration", describeValue(path, v))}
		}
		return []error{Errorf(path, "%v", err)}
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return []error{Errorf(path, "%s is not a mapping of fields", describeValue(path, v))}
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			fields[name] = t.Field(i).Type
		}
		var errs []error
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if ft, ok := fields[k]; ok {
				errs = append(errs, typeErrors(m[k], ft, join(path, k))...)
			}
		}
		return errs
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return []error{Errorf(path, "%s is not a mapping of names to %s", describeValue(path, v), kindName(t.Elem()))}
		}
		var errs []error
		for _, k := range slices.Sorted(maps.Keys(m)) {
			errs = append(errs, typeErrors(m[k], t.Elem(), join(path, k))...)
		}
		return errs
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil // json.RawMessage: decoded by its owner
		}
		list, ok := v.([]any)
		if !ok {
			return []error{Hinted(path, "write a list, even of one item: [a, b] or one \"- item\" per line",
				"%s is not a list of %s", describeValue(path, v), pluralName(t.Elem()))}
		}
		var errs []error
		for i, item := range list {
			errs = append(errs, typeErrors(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	}
	raw, _ := json.Marshal(v)
	if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
		hint := ""
		if _, ok := v.(string); ok && strings.HasSuffix(path, "_bytes") && isIntKind(t) {
			hint = "write a number of bytes without a unit: 1048576 for 1 MiB"
		}
		return []error{&FieldError{Path: path, Msg: fmt.Sprintf("%s is not %s", describeValue(path, v), kindName(t)), Hint: hint}}
	}
	return nil
}

func isIntKind(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// kindName is what a value of t is, in an operator's words rather than Go's.
func kindName(t reflect.Type) string {
	switch {
	case t == durationType:
		return `a duration such as "5s"`
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64:
		return "a whole number, 0 or more"
	case isIntKind(t):
		return "a whole number"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Slice:
		return "a list of " + pluralName(t.Elem())
	}
	return "a mapping"
}

func pluralName(t reflect.Type) string {
	switch {
	case t.Kind() == reflect.String:
		return "strings"
	case isIntKind(t):
		return "whole numbers"
	case t.Kind() == reflect.Bool:
		return "true/false values"
	}
	return "mappings"
}

// describeValue names a wrong value for an error. Strings are quoted only where a secret cannot
// be (short, and outside secret-bearing sections); elsewhere the error names only their kind.
func describeValue(path string, v any) string {
	switch val := v.(type) {
	case string:
		if sensitivePath(path) || !plainWord(val) {
			return "the string value (not shown)"
		}
		return fmt.Sprintf("%q", val)
	case float64, bool:
		b, _ := json.Marshal(val)
		return string(b)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return "the value"
}

// sensitivePath reports whether a field path lies where secret values might be written by
// mistake: secret references, token and auth parameters, credentials, inline scripts.
func sensitivePath(path string) bool {
	for _, seg := range strings.FieldsFunc(path, func(r rune) bool { return r == '.' || r == '[' }) {
		switch seg {
		case "secrets", "params", "auth", "credentials", "tokens", "hash", "inline", "vars", "headers", "body", "query":
			return true
		}
	}
	return false
}

// plainWord reports whether a wrong string value may be quoted in an error: short, and of the
// characters of names, numbers and host names only. A URL with credentials, a token or a
// password written in the wrong place is described, not shown.
func plainWord(s string) bool {
	if len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" ._-", r)) {
			return false
		}
	}
	return true
}
