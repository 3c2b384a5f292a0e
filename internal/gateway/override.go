package gateway

import (
	"fmt"
	"slices"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/keystore"
)

// The console's playground tries a script before it is saved: CheckScript compiles it as a
// save would (errors at line:column), WithScript builds a snapshot in which the provider runs
// it. Both use the provider's own script settings (timeout, memory, secret roles, function
// names), its secrets pinned as the running config pins them, and the same compiler as a
// config apply: the unsaved script runs exactly as the saved one would. Nothing is published.

// Scripted returns the index in s.File.Providers of provider name, which must have a script:
// an unknown provider is NotFound, one that signs with built-in steps BadRequest (the caller's
// mistake, not a problem in any script text).
func Scripted(s *Snapshot, name string) (int, error) {
	_, ok := s.byName[name]
	i := slices.IndexFunc(s.File.Providers, func(p config.Provider) bool { return p.Name == name })
	if !ok || i < 0 {
		return 0, failure.New(failure.NotFound, "script", "no provider %q", name)
	}
	if s.File.Providers[i].Script == nil {
		return 0, failure.New(failure.BadRequest, "script", "provider %q has no script: it signs with built-in steps", name)
	}
	return i, nil
}

// scriptProvider is provider name of s with its inline script replaced by text.
func scriptProvider(s *Snapshot, name, text string) (int, config.Provider, *Provider, error) {
	i, err := Scripted(s, name)
	if err != nil {
		return 0, config.Provider{}, nil, err
	}
	pc, cur := s.File.Providers[i], s.byName[name]
	if text == "" {
		return 0, config.Provider{}, nil, failure.New(failure.BadRequest, "script", "the script is empty")
	}
	sc := *pc.Script
	sc.File, sc.Inline = "", text
	pc.Script = &sc
	return i, pc, cur, nil
}

// pinsOf are the KV versions cur's secrets are pinned to, as Meta.Pins.
func pinsOf(cur *Provider) map[string]int {
	pins := map[string]int{}
	for _, ref := range cur.Secrets {
		if ref.Kind == keystore.KV && ref.Version > 0 {
			pins[ref.Unversioned().String()] = ref.Version
		}
	}
	return pins
}

// CheckScript compiles text as provider name's script without building anything else. The
// error is the script compiler's own (a *script.SyntaxError carries the line and column).
func (c *Compiler) CheckScript(s *Snapshot, name, text string) error {
	i, pc, cur, err := scriptProvider(s, name, text)
	if err != nil {
		return err
	}
	b := c.build(&pc, cur.Secrets, cur.Tokens != nil || pc.Token != nil, fmt.Sprintf("providers[%d].script", i))
	_, err = c.compileScript(*pc.Script, b, pc.Token)
	return err
}

// WithScript returns a snapshot holding only provider name, compiled with text as its inline
// script; s is unchanged and the result is never published. A script that does not compile
// returns the compiler's error as CheckScript does.
func (c *Compiler) WithScript(s *Snapshot, name, text string) (*Snapshot, error) {
	i, pc, cur, err := scriptProvider(s, name, text)
	if err != nil {
		return nil, err
	}
	p, err := c.compileProvider(fmt.Sprintf("providers[%d]", i), &pc, pinsOf(cur))
	if err != nil {
		// The provider's error holds the script's as text only: compile the script alone for
		// the compiler's own error (a syntax error's line and column).
		if serr := c.CheckScript(s, name, text); serr != nil {
			return nil, serr
		}
		return nil, err
	}
	f := *s.File
	f.Providers = []config.Provider{pc}
	out := &Snapshot{File: &f, MaxBody: s.MaxBody, Tenancy: s.Tenancy,
		byHost: map[string]*Provider{}, byName: map[string]*Provider{p.Name: p}}
	for _, h := range p.Hosts {
		out.byHost[h] = p
	}
	return out, nil
}
