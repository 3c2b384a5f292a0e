package extproc

import (
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/signer"
)

// ErrorBody is the JSON a caller gets when keygate refuses or fails a request: the one error
// shape of keygate, the admin API's too (failure.Body).
type ErrorBody = failure.Body

// immediateError is the ImmediateResponse for err: the status from failure.Status (the one
// mapping), a JSON body, and details Envoy logs as the response code details.
func immediateError(err error) *extprocv3.ProcessingResponse {
	status := failure.Status(err)
	stage := failure.StageOf(err)
	body, _ := json.Marshal(failure.BodyOf(err, status))
	details := "keygate_" + failure.KindOf(err).String()
	if stage != "" {
		details += "_at_" + stage
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
		ImmediateResponse: &extprocv3.ImmediateResponse{
			Status: &typev3.HttpStatus{Code: typev3.StatusCode(status)},
			Headers: &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{
				setHeader("content-type", "application/json", false),
				setHeader("x-keygate-error", strconv.Itoa(status)+" "+stage, false),
			}},
			Body:    body,
			Details: details,
		}}}
}

// immediateAnswer hands Envoy a provider answer keygate obtained itself (the retry), as the
// response to the caller. Hop-by-hop and length headers are left to Envoy. Only headers
// Envoy's mutation checker accepts are sent, sorted by name: Filter::sendImmediateResponse
// applies them with the filter's rules and stops at the first failure (keygate's config makes
// a disallowed header an error), so one x-envoy-* header from the provider would otherwise
// drop whichever headers came after it in map order.
func immediateAnswer(r *signer.Response) *extprocv3.ProcessingResponse {
	mut := &extprocv3.HeaderMutation{}
	names := make([]string, 0, len(r.Header))
	for name := range r.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		lower := strings.ToLower(name)
		if hopByHop[lower] || lower == "content-length" || !envoyAccepts(lower) {
			continue
		}
		for i, v := range r.Header[name] {
			if strings.ContainsAny(v, "\x00\r\n") {
				continue // Envoy's headerValueIsValid
			}
			addSet(mut, setHeader(lower, v, i > 0))
		}
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
		ImmediateResponse: &extprocv3.ImmediateResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(r.Status)},
			Headers: mut, Body: r.Body, Details: "keygate_token_retry",
		}}}
}

// envoyAccepts reports whether Envoy's mutation checker, as keygate configures it (xds
// extProcFilter: allow_all_routing, disallow_is_error, allow_envoy unset), lets a response
// header be set: a token name that is not x-envoy-* nor a pseudo-header.
func envoyAccepts(name string) bool {
	if name == "" || strings.HasPrefix(name, ":") || strings.HasPrefix(name, "x-envoy") {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

var hopByHop = map[string]bool{"connection": true, "keep-alive": true, "transfer-encoding": true,
	"upgrade": true, "proxy-connection": true, "te": true, "trailer": true}

func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelWarn
}

func logAttrs(o Outcome) []slog.Attr {
	return []slog.Attr{
		slog.String("phase", o.Phase), slog.String("tenant", o.Tenant), slog.String("provider", o.Provider),
		slog.Int("status", o.Status), slog.String("stage", o.Stage), slog.String("err", errText(o.Err)),
		slog.Duration("took", o.Duration),
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
