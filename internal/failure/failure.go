// Package failure holds keygate's typed errors. Every package returns a *Error (or wraps one with
// %w) and one place, Status, maps it to the HTTP status a caller sees in the ImmediateResponse.
// Messages must never contain secret values: they are shown to callers, logged and audited.
package failure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies a failure; each kind has exactly one HTTP status.
type Kind int

const (
	Internal        Kind = iota // 500: a bug or an impossible state
	BadRequest                  // 400: the caller's request cannot be signed as written
	Unauthenticated             // 401: no or wrong tenant credential
	Forbidden                   // 403: the tenant may not use this provider
	NotFound                    // 404: no provider matches the request
	TooLarge                    // 413: body over the configured limit
	BadGateway                  // 502: a provider or token endpoint answered with garbage
	Unavailable                 // 503: a dependency (Vault, token endpoint, config) is down
	Timeout                     // 504: a dependency or script ran out of time
)

var statuses = map[Kind]int{
	Internal: http.StatusInternalServerError, BadRequest: http.StatusBadRequest,
	Unauthenticated: http.StatusUnauthorized, Forbidden: http.StatusForbidden,
	NotFound: http.StatusNotFound, TooLarge: http.StatusRequestEntityTooLarge,
	BadGateway: http.StatusBadGateway, Unavailable: http.StatusServiceUnavailable,
	Timeout: http.StatusGatewayTimeout,
}

var names = map[Kind]string{
	Internal: "internal", BadRequest: "bad_request", Unauthenticated: "unauthenticated",
	Forbidden: "forbidden", NotFound: "not_found", TooLarge: "too_large",
	BadGateway: "bad_gateway", Unavailable: "unavailable", Timeout: "timeout",
}

func (k Kind) String() string { return names[k] }

// Error is a classified failure at a named pipeline stage ("identify", "keystore", "token",
// "sign", "encrypt", "script", "decrypt", ...).
type Error struct {
	Kind  Kind
	Stage string
	Msg   string // safe to show the caller: never a secret value
	Err   error  // cause, for errors.Is/As; its text is shown too, so it must be secret-free
}

func (e *Error) Error() string {
	msg := e.Msg
	if e.Err != nil {
		if msg != "" {
			msg += ": "
		}
		msg += e.Err.Error()
	}
	if e.Stage == "" {
		return msg
	}
	return e.Stage + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

// New builds an Error with a formatted message.
func New(kind Kind, stage, format string, args ...any) *Error {
	return &Error{Kind: kind, Stage: stage, Msg: fmt.Sprintf(format, args...)}
}

// Wrap classifies err as kind at stage; msg, if not empty, is prefixed. A nil err gives nil.
// The outermost kind wins: KindOf and Status read the outermost *Error.
func Wrap(kind Kind, stage string, err error, msg string) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: kind, Stage: stage, Msg: msg, Err: err}
}

// KindOf reports the kind of the outermost *Error in err's chain. Context deadline errors are
// Timeout and cancellations Unavailable; anything unclassified is Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return Timeout
	case errors.Is(err, context.Canceled):
		return Unavailable
	}
	return Internal
}

// StageOf reports the stage of the outermost *Error that names one.
func StageOf(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return ""
		}
		if e.Stage != "" {
			return e.Stage
		}
		err = e.Err
	}
	return ""
}

// Status is the HTTP status for err: the single place where errors become statuses.
func Status(err error) int { return statuses[KindOf(err)] }
