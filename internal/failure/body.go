package failure

import (
	"errors"
	"net/http"
	"strings"
)

// Body is the JSON of every error keygate answers, on the data plane (the ImmediateResponse a
// caller gets) and in the admin API alike:
//
//	{"error": {"status": 413, "kind": "too_large", "stage": "identify", "message": "..."}}
type Body struct {
	Error Detail `json:"error"`
}

// Detail says what failed, where, and the HTTP status. Message never holds a secret.
type Detail struct {
	Status  int    `json:"status"`
	Kind    string `json:"kind"`
	Stage   string `json:"stage,omitempty"`
	Message string `json:"message"`
}

// BodyOf is err's reply body with status (which the caller took from Status, or from its own
// mapping for errors that are not a failure). Kind is the failure's kind, else the status's.
func BodyOf(err error, status int) Body {
	kind := StatusKind(status)
	var e *Error
	if errors.As(err, &e) {
		kind = KindOf(err).String()
	}
	return Body{Error: Detail{Status: status, Kind: kind, Stage: StageOf(err), Message: err.Error()}}
}

// StatusKind names a status as Body's kind: the Kind with that status, else the status text in
// snake case ("conflict", "too_many_requests").
func StatusKind(status int) string {
	for k, s := range statuses {
		if s == status {
			return k.String()
		}
	}
	if t := http.StatusText(status); t != "" {
		return strings.ReplaceAll(strings.ToLower(t), " ", "_")
	}
	return "error"
}
