package config

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Step is one signing or encryption step: `scheme` names it, every other key is the scheme's
// own parameter, decoded strictly by the scheme with DecodeParams.
//
//	signing:
//	  - scheme: aes_cbc
//	    field: data
//	  - scheme: simple
//	    app_key: demo-app
type Step struct {
	Scheme string
	Params json.RawMessage // a JSON object without the "scheme" key
}

func (s *Step) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return Hinted("", "write a mapping: - scheme: NAME, then the scheme's own keys", "a signing step is not a mapping")
	}
	raw, ok := m["scheme"]
	if !ok {
		return Hinted("scheme", "every step names its scheme first: - scheme: aes_cbc", "required")
	}
	if err := json.Unmarshal(raw, &s.Scheme); err != nil {
		return Errorf("scheme", "must be a string")
	}
	delete(m, "scheme")
	params, err := json.Marshal(m)
	if err != nil {
		return err
	}
	s.Params = params
	return nil
}

func (s Step) MarshalJSON() ([]byte, error) {
	m := map[string]json.RawMessage{}
	if len(s.Params) > 0 {
		if err := json.Unmarshal(s.Params, &m); err != nil {
			return nil, err
		}
	}
	name, _ := json.Marshal(s.Scheme)
	m["scheme"] = name
	return json.Marshal(m)
}

// DecodeParams decodes a step's (or token source's) parameters into dst strictly: an unknown key
// is an error naming it. Empty params decode as {}.
func DecodeParams(params json.RawMessage, dst any) error {
	if len(params) == 0 {
		params = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("%s", cleanJSONError(err))
	}
	return nil
}
