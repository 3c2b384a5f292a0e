package admin

import (
	"errors"
	"io"
	"mime"
	"net/http"
)

// The console's script playground: a dry run of an unsaved script or of a pasted provider
// answer, and a script check as the user types. Both reach the same compiler and pipeline as
// a saved config (DryRunner, ScriptChecker); the API only parses, scopes and audits.

// dryRunInput is a dry run's body: a raw HTTP request (the body itself), or JSON naming the
// request and, optionally, an unsaved script and a provider answer.
type dryRunInput struct {
	Request  []byte
	Response []byte
	Script   *string
	json     bool
}

// dryRunJSON is the JSON form of a dry run's body.
type dryRunJSON struct {
	Request  string  `json:"request"`
	Response string  `json:"response,omitempty"`
	Script   *string `json:"script,omitempty"`
}

func readDryRun(r *http.Request) (dryRunInput, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		var j dryRunJSON
		if err := decodeJSON(r, &j); err != nil {
			return dryRunInput{}, err
		}
		if j.Request == "" {
			return dryRunInput{}, errorf(http.StatusBadRequest, "request: a raw HTTP/1.1 request is required")
		}
		in := dryRunInput{Request: []byte(j.Request), Script: j.Script, json: true}
		if j.Response != "" {
			in.Response = []byte(j.Response)
		}
		return in, nil
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return dryRunInput{}, errorf(http.StatusBadRequest, "request body: %v", err)
	}
	return dryRunInput{Request: raw}, nil
}

// checkRequest is a script check's body.
type checkRequest struct {
	Script string `json:"script"`
}

// checkReply: OK, or the problem at its line and column.
type checkReply struct {
	OK bool `json:"ok"`
	*ScriptProblem
}

func (s *server) checkScript(c *call) (any, error) {
	return s.checkScriptOf(c, c.r.PathValue("tenant"), false)
}

// checkScriptAny is a gateway admin's check of any provider by name (dryRunAny's twin).
func (s *server) checkScriptAny(c *call) (any, error) { return s.checkScriptOf(c, "", true) }

func (s *server) checkScriptOf(c *call, tenant string, anyTenant bool) (any, error) {
	provider := c.r.PathValue("provider")
	c.ev.Target = "provider " + provider
	if _, err := s.providerOf(c, provider, tenant, anyTenant); err != nil {
		return nil, err
	}
	if s.opts.Scripts == nil {
		return nil, errorf(http.StatusNotImplemented, "script checks are not available")
	}
	var req checkRequest
	if err := decodeJSON(c.r, &req); err != nil {
		return nil, err
	}
	release, err := s.scriptSlot(c)
	if err != nil {
		return nil, err
	}
	defer release()
	err = s.opts.Scripts.CheckScript(c.r.Context(), provider, req.Script)
	var prob *ScriptProblem
	switch {
	case err == nil:
		return checkReply{OK: true}, nil
	case errors.As(err, &prob):
		return checkReply{ScriptProblem: prob}, nil
	}
	return nil, err
}

// providerMetrics answers GET /v1/metrics/providers: request counts, errors and latency per
// provider, of the providers the caller may see (a tenant role: its own tenant's only).
func (s *server) providerMetrics(c *call) (any, error) {
	if s.opts.ProviderMetrics == nil {
		return nil, errorf(http.StatusNotImplemented, "no metrics registry configured")
	}
	all, named, err := s.opts.ProviderMetrics()
	if err != nil {
		return nil, err
	}
	out := []ProviderMetrics{}
	for _, m := range all {
		if c.p.Role == RoleGatewayAdmin || (m.Tenant != "" && m.Tenant == c.p.Tenant) {
			out = append(out, m)
		}
	}
	return map[string]any{"providers": out, "names": named}, nil
}

// quietActions are read-only routes a page calls every few seconds or keystrokes (a script
// check, the metrics poll): their successes are not audited, or they would push every other
// event out of a tenant's audit retention. A refusal or a failure is still audited.
var quietActions = map[string]bool{"script.check": true, "metrics.providers": true}
