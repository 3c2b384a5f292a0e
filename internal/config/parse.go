package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Parse decodes a YAML (or JSON) config strictly: unknown keys and wrong types are errors that
// name the field path, e.g. `providers[1].upstream.timeout`. It does not validate; see Validate.
func Parse(data []byte) (*File, error) {
	if err := CheckAliases(data); err != nil {
		return nil, err
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("config is not valid YAML: %w", err)
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return nil, errors.New("config is empty")
	}
	var f File
	if err := decodeStrict(data, js, &f, "config: "); err != nil {
		return nil, err
	}
	return &f, nil
}

// decodeStrict decodes js, the JSON form of the YAML data, into v (a pointer to a struct),
// refusing unknown keys and wrong types with errors that name the path and are placed in data
// (line and column); any other decoder error is returned cleaned, after prefix.
func decodeStrict(data, js []byte, v any, prefix string) error {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	var generic any
	_ = json.Unmarshal(js, &generic)
	t := reflect.TypeOf(v).Elem()
	if path, known := unknownField(generic, t, ""); path != "" {
		return Annotate(unknownFieldError(path, known), data)
	}
	if errs := typeErrors(generic, t, ""); len(errs) > 0 {
		return Annotate(errors.Join(errs...), data)
	}
	return errors.New(prefix + cleanJSONError(err))
}

// Hash is the content hash of a config as written: "sha256:<hex>".
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return HashPrefix + hex.EncodeToString(sum[:])
}

// HashPrefix starts every stored hash: config versions, tenant credentials, admin tokens.
const HashPrefix = "sha256:"

// ParseHash decodes a "sha256:<64 hex digits>" hash, as Hash writes it.
func ParseHash(s string) ([sha256.Size]byte, error) {
	var out [sha256.Size]byte
	h, ok := strings.CutPrefix(s, HashPrefix)
	b, err := hex.DecodeString(h)
	if !ok || err != nil || len(b) != sha256.Size {
		return out, fmt.Errorf("want %s<64 hex digits>", HashPrefix)
	}
	copy(out[:], b)
	return out, nil
}

func cleanJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("%s: got %s, want %s", te.Field, article(te.Value), kindName(te.Type))
		}
		return fmt.Sprintf("got %s, want %s", article(te.Value), kindName(te.Type))
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// article turns encoding/json's name of a JSON value's kind ("string", "number", "array",
// "object", "bool") into words: it never holds the value itself.
func article(kind string) string {
	switch {
	case kind == "array":
		return "a list"
	case kind == "object":
		return "a mapping"
	case kind == "bool":
		return "true or false"
	case strings.HasPrefix(kind, "number"):
		return "a number"
	}
	return "a " + kind
}

var unmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

// unknownFieldError names an unknown key and, when one is close, the field meant.
func unknownFieldError(path string, known []string) error {
	key := path[strings.LastIndexAny(path, ".]")+1:]
	if near := closest(key, known); near != "" {
		return Hinted(path, fmt.Sprintf("did you mean %s?", near), "unknown field")
	}
	slices.Sort(known)
	return Hinted(path, "fields here: "+strings.Join(known, ", "), "unknown field")
}

// closest is the name in names nearest to s (edit distance at most 2, or a case or '-'/'_'
// difference), or "".
func closest(s string, names []string) string {
	norm := func(x string) string { return strings.ReplaceAll(strings.ToLower(x), "-", "_") }
	best, bestD := "", 3
	for _, n := range names {
		if norm(n) == norm(s) {
			return n
		}
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// unknownField walks decoded JSON against the Go type and returns the path of the first key
// the type does not have (keys in sorted order) and the keys it has there, or "".
// encoding/json reports unknown keys without their path.
func unknownField(v any, t reflect.Type, path string) (string, []string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return "", nil
	}
	switch val := v.(type) {
	case map[string]any:
		switch t.Kind() {
		case reflect.Map:
			for _, k := range slices.Sorted(maps.Keys(val)) {
				if p, known := unknownField(val[k], t.Elem(), join(path, k)); p != "" {
					return p, known
				}
			}
		case reflect.Struct:
			fields := map[string]reflect.Type{}
			for i := range t.NumField() {
				name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
				fields[name] = t.Field(i).Type
			}
			for _, k := range slices.Sorted(maps.Keys(val)) {
				ft, ok := fields[k]
				if !ok {
					return join(path, k), slices.Collect(maps.Keys(fields))
				}
				if p, known := unknownField(val[k], ft, join(path, k)); p != "" {
					return p, known
				}
			}
		}
	case []any:
		if t.Kind() == reflect.Slice {
			for i, child := range val {
				if p, known := unknownField(child, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); p != "" {
					return p, known
				}
			}
		}
	}
	return "", nil
}

func join(path, key string) string {
	if key == "" {
		return path
	}
	if path == "" {
		return key
	}
	return path + "." + key
}
