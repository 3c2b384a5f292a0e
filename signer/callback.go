package signer

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/failure"
)

// CallbackStep verifies a provider's inbound callback (a payment notification) instead of
// signing an outbound request: it runs on the ingress listener (docs/callbacks.md). On success
// it leaves x.Request as the plain request the service gets, with CallbackHeader saying who
// verified it; on failure the provider gets Refusal's answer and the service nothing.
type CallbackStep interface {
	Step
	// Refusal is the provider's documented answer to a callback that failed: the provider
	// reads it as "not accepted" and retries later.
	Refusal(err error) *Response
}

// CallbackHeader tells the service which provider, scheme and key versions verified the
// callback. keygate refuses a callback that arrives carrying it (every x-keygate-* header is
// reserved), so the service can trust it on the ingress route.
const CallbackHeader = "X-Keygate-Callback"

// callbackStage is the failure stage of callback verification.
const callbackStage = "callback"

func callbackFailure(kind failure.Kind, format string, args ...any) error {
	return failure.New(kind, callbackStage, format, args...)
}

// verifiedBy is CallbackHeader's value: "provider=NAME; scheme=S; k=v; ...".
func verifiedBy(x *Exchange, scheme string, kv ...string) string {
	var b strings.Builder
	b.WriteString("provider=" + x.Provider + "; scheme=" + scheme)
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteString("; " + kv[i] + "=" + kv[i+1])
	}
	return b.String()
}

// keyVersion is the KV version of the named secret this exchange used, "" if none recorded.
func keyVersion(x *Exchange, name string) string {
	for _, u := range x.Used {
		if u.Name == name && u.Version > 0 {
			return strconv.Itoa(u.Version)
		}
	}
	return ""
}

// singleHeader is the one value of a header, refusing a repeated one (two signatures, two
// timestamps: which one was verified would be a guess).
func singleHeader(r *Request, name string) (string, error) {
	vals := r.Header.Values(name)
	switch len(vals) {
	case 0:
		return "", callbackFailure(failure.Unauthenticated, "callback without %s", name)
	case 1:
		return vals[0], nil
	}
	return "", callbackFailure(failure.BadRequest, "callback has %s %d times", name, len(vals))
}

// jsonRefusal is a Response with a JSON body.
func jsonRefusal(status int, body any) *Response {
	b, _ := json.Marshal(body)
	return &Response{Status: status, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: b}
}
