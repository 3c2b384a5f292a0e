package extproc

import (
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/signer"
)

// ErrorBody is the JSON a caller gets when keygate refuses or fails a request.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what failed, where, and the HTTP status. Message never holds a secret.
type ErrorDetail struct {
	Status  int    `json:"status"`
	Kind    string `json:"kind"`
	Stage   string `json:"stage,omitempty"`
	Message string `json:"message"`
}

// immediateError is the ImmediateResponse for err: the status from failure.Status (the one
// mapping), a JSON body, and details Envoy logs as the response code details.
func immediateError(err error) *extprocv3.ProcessingResponse {
	status := failure.Status(err)
	stage := failure.StageOf(err)
	body, _ := json.Marshal(ErrorBody{Error: ErrorDetail{
		Status: status, Kind: failure.KindOf(err).String(), Stage: stage, Message: err.Error(),
	}})
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
// response to the caller. Hop-by-hop and length headers are left to Envoy.
func immediateAnswer(r *signer.Response) *extprocv3.ProcessingResponse {
	mut := &extprocv3.HeaderMutation{}
	for name, vals := range r.Header {
		lower := strings.ToLower(name)
		if hopByHop[lower] || lower == "content-length" {
			continue
		}
		for i, v := range vals {
			mut.SetHeaders = append(mut.SetHeaders, setHeader(lower, v, i > 0))
		}
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
		ImmediateResponse: &extprocv3.ImmediateResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(r.Status)},
			Headers: mut, Body: r.Body, Details: "keygate_token_retry",
		}}}
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
