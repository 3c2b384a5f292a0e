package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/keygate/keygate/internal/audit"
	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/versions"
)

// apiError is an error with the status the API replies.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) error {
	return errorf(http.StatusForbidden, format, args...)
}

// statusOf is the one mapping from errors to API statuses.
func statusOf(err error) int {
	var ae *apiError
	var sp *ScriptProblem
	switch {
	case errors.As(err, &ae):
		return ae.status
	case errors.As(err, &sp):
		return http.StatusBadRequest
	case errors.Is(err, versions.ErrConflict):
		return http.StatusConflict
	}
	return failure.Status(err)
}

// call is one admin request: who, and the audit event its handler fills in.
type call struct {
	w  http.ResponseWriter
	r  *http.Request
	p  Principal
	ev audit.Admin
	// raw, when set, is written as the reply instead of JSON (dry-run output).
	raw         []byte
	contentType string
}

type handlerFunc func(s *server, c *call) (any, error)

// handle registers an authenticated, audited endpoint that enforces the route's permission
// before its handler runs (a route without one is refused).
func (s *server) handle(mux *http.ServeMux, rt route) {
	action, h := rt.action, rt.h
	mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) {
		start := s.opts.Now()
		c := &call{w: w, r: r, ev: audit.Admin{Time: start.UTC(), Action: action, Tenant: r.PathValue("tenant")}}
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
		var body any
		p, err := s.login(w, r)
		ok := err == nil
		if ok {
			c.p = p
			c.ev.Actor, c.ev.Role = p.Name, string(p.Role)
			if p.Role != RoleGatewayAdmin {
				// A tenant role's events are its own tenant's, whatever tenant the URL names:
				// otherwise its refused requests fill another tenant's audit retention, and each
				// invented name is a ring of its own. What it tried stays named in the event.
				if c.ev.Tenant != "" && c.ev.Tenant != p.Tenant {
					c.ev.Target = "tenant " + c.ev.Tenant
				}
				c.ev.Tenant = p.Tenant
			}
			if err = rt.perm.check(p, r.PathValue("tenant")); err == nil {
				body, err = h(s, c)
			}
		} else {
			c.ev.Tenant = "" // an unauthenticated request concerns no tenant, whatever its URL says
		}
		status := http.StatusOK
		switch {
		case err != nil:
			status = statusOf(err)
			c.ev.Error = err.Error()
			c.ev.Outcome = audit.OutcomeError
			if status < 500 {
				c.ev.Outcome = audit.OutcomeDenied
			}
			writeJSON(w, status, failure.BodyOf(err, status))
		case c.raw != nil:
			c.ev.Outcome = audit.OutcomeOK
			w.Header().Set("Content-Type", c.contentType)
			w.WriteHeader(status)
			_, _ = w.Write(c.raw)
		default:
			c.ev.Outcome = audit.OutcomeOK
			writeJSON(w, status, body)
		}
		c.ev.Status = status
		if ok && err == nil && quietActions[action] {
			return
		}
		if !ok {
			record, skipped := s.guard.recordAnonymous()
			if !record {
				return
			}
			if skipped > 0 {
				c.ev.Error = fmt.Sprintf("%s (%d more unauthenticated requests were not recorded)", c.ev.Error, skipped)
			}
		}
		if aerr := s.opts.Audit.Write(r.Context(), c.ev); aerr != nil {
			s.opts.Logger.Error("audit write failed", "action", action, "err", aerr)
		}
		s.opts.Logger.Info("admin request", "action", action, "actor", c.ev.Actor, "tenant", c.ev.Tenant,
			"status", status, "duration", time.Since(start))
	})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(body)
}

// decodeJSON decodes the request body strictly.
func decodeJSON(r *http.Request, dst any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return errorf(http.StatusBadRequest, "request body: %v", err)
	}
	return nil
}
