package signer

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/keygate/keygate/internal/config"
)

// decodeParams decodes b.Params strictly into dst; errors name the step path.
func decodeParams(b Build, dst any) error {
	if err := config.DecodeParams(b.Params, dst); err != nil {
		return config.Errorf(b.Path, "%v", err)
	}
	return nil
}

// paramError is a config error at one parameter of the step.
func paramError(b Build, param, format string, args ...any) error {
	return config.Errorf(b.Path+"."+param, format, args...)
}

// oneOf checks an enum parameter, applying its default (the first allowed value) when empty.
func oneOf(b Build, param string, v *string, allowed ...string) error {
	if *v == "" {
		*v = allowed[0]
	}
	for _, a := range allowed {
		if *v == a {
			return nil
		}
	}
	return paramError(b, param, "%q is not one of %s", *v, strings.Join(allowed, ", "))
}

// plainValue is a non-secret parameter value: literal text, or "var:NAME" for the provider's
// vars entry NAME (resolved at build time), or, where a secret is allowed, "secret:NAME" for
// the provider secret NAME (read per request).
type plainValue struct {
	text   string
	secret string // secret name when read from the keystore
}

func parsePlainValue[S ~string](b Build, param string, in S, required, secretAllowed bool) (plainValue, error) {
	s := string(in)
	switch {
	case s == "" && required:
		return plainValue{}, paramError(b, param, "required")
	case strings.HasPrefix(s, "var:"):
		name := strings.TrimPrefix(s, "var:")
		v, ok := b.Vars[name]
		if !ok {
			return plainValue{}, paramError(b, param, "var %q is not in the provider's vars", name)
		}
		return plainValue{text: v}, nil
	case strings.HasPrefix(s, "secret:"):
		name := strings.TrimPrefix(s, "secret:")
		if !secretAllowed {
			return plainValue{}, paramError(b, param, "must not be a secret")
		}
		if err := RequireReadableSecret(b, name); err != nil {
			return plainValue{}, paramError(b, param, "%v", err)
		}
		return plainValue{secret: name}, nil
	}
	return plainValue{text: s}, nil
}

// resolve returns the value; a secret one is revealed here, at its point of use.
func (v plainValue) resolve(ctx context.Context, x *Exchange) (string, error) {
	if v.secret == "" {
		return v.text, nil
	}
	s, err := x.Keys.Secret(ctx, x, v.secret)
	if err != nil {
		return "", err
	}
	return string(s.Reveal()), nil
}

// textParam is a plain string parameter that also accepts a YAML number, so an unquoted
// merchant or app ID (mchid: 1900009191) is not a type error.
type textParam string

func (t *textParam) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = textParam(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number")
	}
	*t = textParam(n.String())
	return nil
}
