// Package jsonbody is an ordered, lossless JSON object: the request and response bodies that
// signing steps and scripts read and change. Key order is kept as received (new keys go last),
// numbers keep their exact text, and a body is parsed once however many steps touch it.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Object is a JSON object with its key order. Not safe for concurrent use.
type Object struct {
	keys []string
	vals map[string]json.RawMessage
}

// New returns an empty object.
func New() *Object { return &Object{vals: map[string]json.RawMessage{}} }

// Parse decodes b, which must hold exactly one JSON object. Duplicate keys are rejected: a
// signer and a provider that resolve them differently would disagree on what was signed.
func Parse(b []byte) (*Object, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("body is not a JSON object")
	}
	o := New()
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("body is not valid JSON: %w", err)
		}
		key := tok.(string) // inside an object, encoding/json yields only string keys here
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("body field %q is not valid JSON: %w", key, err)
		}
		if _, dup := o.vals[key]; dup {
			return nil, fmt.Errorf("body has the key %q twice", key)
		}
		o.keys = append(o.keys, key)
		o.vals[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("body is not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("body has data after the JSON object")
	}
	return o, nil
}

// Keys returns the keys in order. The slice must not be modified.
func (o *Object) Keys() []string { return o.keys }

// Len is the number of keys.
func (o *Object) Len() int { return len(o.keys) }

// Raw returns the JSON text of a value.
func (o *Object) Raw(key string) (json.RawMessage, bool) {
	v, ok := o.vals[key]
	return v, ok
}

// Text returns a value as signing strings use it: a JSON string unquoted, null as "", and any
// other value (number, bool, object, array) as its compact JSON text.
func (o *Object) Text(key string) (string, bool) {
	raw, ok := o.vals[key]
	if !ok {
		return "", false
	}
	return TextOf(raw), true
}

// TextOf is Text for one raw value.
func TextOf(raw json.RawMessage) string {
	switch {
	case len(raw) > 0 && raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case string(raw) == "null":
		return ""
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.String()
	}
	return string(raw)
}

// Set sets key to the JSON encoding of v; a new key goes last.
func (o *Object) Set(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("body field %q: %w", key, err)
	}
	o.SetRaw(key, raw)
	return nil
}

// SetString sets key to the JSON string s.
func (o *Object) SetString(key, s string) {
	raw, _ := json.Marshal(s) // a string always marshals
	o.SetRaw(key, raw)
}

// SetRaw sets key to raw, which must be valid JSON.
func (o *Object) SetRaw(key string, raw json.RawMessage) {
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = raw
}

// Delete removes key.
func (o *Object) Delete(key string) {
	if _, ok := o.vals[key]; !ok {
		return
	}
	delete(o.vals, key)
	for i, k := range o.keys {
		if k == key {
			o.keys = append(o.keys[:i:i], o.keys[i+1:]...)
			break
		}
	}
}

// AppendTo appends the compact JSON encoding of the object, keys in order, to dst.
func (o *Object) AppendTo(dst []byte) []byte {
	buf := bytes.NewBuffer(dst)
	buf.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		key, _ := json.Marshal(k)
		buf.Write(key)
		buf.WriteByte(':')
		if json.Compact(buf, o.vals[k]) != nil {
			buf.Write(o.vals[k])
		}
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// Marshal returns the compact JSON encoding of the object.
func (o *Object) Marshal() []byte { return o.AppendTo(nil) }

// MarshalJSON makes an Object embeddable in other JSON.
func (o *Object) MarshalJSON() ([]byte, error) { return o.Marshal(), nil }
