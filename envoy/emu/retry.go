package emu

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
)

func convertRetryPolicy(rp *routev3.RetryPolicy) *RetryPolicy {
	if rp == nil {
		return nil
	}
	out := &RetryPolicy{NumRetries: 1} // num_retries defaults to 1
	if n := rp.GetNumRetries(); n != nil {
		out.NumRetries = int(n.GetValue())
	}
	for _, on := range strings.Split(rp.GetRetryOn(), ",") {
		if on = strings.TrimSpace(on); on != "" {
			out.RetryOn = append(out.RetryOn, on)
		}
	}
	for _, c := range rp.GetRetriableStatusCodes() {
		out.RetriableStatusCodes = append(out.RetriableStatusCodes, int(c))
	}
	return out
}

// forwardWithRetries is the router's attempt loop. As source/common/router/router.cc
// Filter::doRetry does, every retry sends the same final headers and a copy of the same body:
// no decoder filter (ext_proc) runs again, so a signature is replayed as it is. The route
// timeout covers all attempts; the cluster's round robin picks each attempt's endpoint.
func (e *Emulator) forwardWithRetries(ctx context.Context, r *http.Request, route *Route, cl *upstreamCluster, m *message, suppress bool) (*upstreamResponse, *localReply, error) {
	if d := routeTimeout(route); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	retries := 0
	if rp := route.RetryPolicy; rp != nil {
		retries = rp.NumRetries
	}
	h := m.headers.clone() // the router's map: an upstream filter's changes stay for the next attempt
	for attempt := 0; ; attempt++ {
		u, lr, err := e.attempt(ctx, r, route, cl, &h, m, suppress)
		if err != nil || attempt >= retries || ctx.Err() != nil || !route.RetryPolicy.wants(u, lr) {
			return u, lr, err
		}
	}
}

func routeTimeout(route *Route) (d time.Duration) {
	d = defaultRouteTimeout
	if route.Timeout != nil {
		d = *route.Timeout
	}
	return d
}

// wants reports whether the policy retries this outcome (RetryStateImpl::wouldRetryFromReset
// and wouldRetryFromHeaders, for the conditions the emulator can tell apart).
func (rp *RetryPolicy) wants(u *upstreamResponse, lr *localReply) bool {
	if rp == nil {
		return false
	}
	on := func(c string) bool { return slices.Contains(rp.RetryOn, c) }
	if lr != nil {
		switch lr.details {
		case detailsConnectFailure:
			return on("connect-failure") || on("5xx") || on("gateway-error")
		case detailsReset:
			return on("reset") || on("5xx") || on("gateway-error")
		}
		return false
	}
	status, _ := strconv.Atoi(firstValue(u.headers, ":status"))
	switch {
	case on("retriable-status-codes") && slices.Contains(rp.RetriableStatusCodes, status):
		return true
	case on("5xx") && status >= http.StatusInternalServerError:
		return true
	case on("gateway-error") && status >= 502 && status <= 504:
		return true
	}
	return false
}

func firstValue(h headerMap, key string) string { v, _ := h.get(key); return v }
