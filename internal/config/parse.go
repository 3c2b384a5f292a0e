package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
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
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		var generic any
		_ = json.Unmarshal(js, &generic)
		if path := unknownField(generic, reflect.TypeOf(f), ""); path != "" {
			return nil, fmt.Errorf("%s: unknown field", path)
		}
		return nil, fmt.Errorf("config: %s", cleanJSONError(err))
	}
	return &f, nil
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
			return fmt.Sprintf("%s: want %s, got %s", te.Field, te.Type, te.Value)
		}
		return fmt.Sprintf("want %s, got %s", te.Type, te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

var unmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

// unknownField walks decoded JSON against the Go type and returns the path of the first key
// the type does not have, or "". encoding/json reports unknown keys without their path.
func unknownField(v any, t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return ""
	}
	switch val := v.(type) {
	case map[string]any:
		switch t.Kind() {
		case reflect.Map:
			for k, child := range val {
				if p := unknownField(child, t.Elem(), join(path, k)); p != "" {
					return p
				}
			}
		case reflect.Struct:
			fields := map[string]reflect.Type{}
			for i := range t.NumField() {
				name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
				fields[name] = t.Field(i).Type
			}
			for k, child := range val {
				ft, ok := fields[k]
				if !ok {
					return join(path, k)
				}
				if p := unknownField(child, ft, join(path, k)); p != "" {
					return p
				}
			}
		}
	case []any:
		if t.Kind() == reflect.Slice {
			for i, child := range val {
				if p := unknownField(child, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); p != "" {
					return p
				}
			}
		}
	}
	return ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
