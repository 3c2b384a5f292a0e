package emu

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// upstreamCluster is a Cluster with its connection pool.
type upstreamCluster struct {
	Cluster
	name      string // the key the cluster manager knows it by
	transport *http.Transport
	filter    *snapshot // the upstream ext_proc filter (Cluster.UpstreamExtProc), or nil
	next      atomic.Uint64
}

func newUpstreamCluster(c Cluster) *upstreamCluster {
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	t := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: c.ConnectTimeout}).DialContext,
		DisableCompression:  true, // Envoy neither asks for gzip nor decodes it
		TLSClientConfig:     c.TLS,
		MaxIdleConnsPerHost: 16,
	}
	protos := new(http.Protocols)
	switch {
	case c.HTTP2 && c.TLS == nil:
		protos.SetUnencryptedHTTP2(true)
	case c.HTTP2:
		protos.SetHTTP2(true)
	default:
		protos.SetHTTP1(true)
	}
	t.Protocols = protos
	return &upstreamCluster{Cluster: c, transport: t}
}

func (u *upstreamCluster) pick() (string, bool) {
	if len(u.Endpoints) == 0 {
		return "", false
	}
	n := u.next.Add(1) - 1
	return u.Endpoints[n%uint64(len(u.Endpoints))], true
}

// upstreamResponse is what the router hands to the encoder side of the filter chain.
type upstreamResponse struct {
	headers  headerMap // :status first
	body     []byte
	trailers headerMap
	eos      bool // end_stream on the headers (no body at all)
}

// Response code details of the router's resets before response headers, by reset reason.
const (
	detailsConnectFailure = "upstream_reset_before_response_started{connection_failure}"
	detailsReset          = "upstream_reset_before_response_started{connection_termination}"
)

// errResetAfterHeaders means the upstream failed after its headers arrived: Envoy resets the
// downstream stream.
var errResetAfterHeaders = errors.New("upstream reset after response headers")

// forward sends the final request headers and body to the cluster, reads the whole response and
// returns it, or a router local reply. suppress mirrors the router's suppress_envoy_headers.
func forward(ctx context.Context, route *Route, cl *upstreamCluster, h headerMap, body []byte, hasBody bool, suppress bool) (*upstreamResponse, *localReply, error) {
	endpoint, ok := cl.pick()
	if !ok {
		return nil, routerReply(503, "no healthy upstream", "no_healthy_upstream"), nil
	}
	timeout := defaultRouteTimeout
	if route.Timeout != nil {
		timeout = *route.Timeout
	}
	if timeout > 0 {
		if !suppress { // FilterUtility::finalTimeout(insert_envoy_expected_request_timeout_ms)
			h.set("x-envoy-expected-rq-timeout-ms", strconv.FormatInt(timeout.Milliseconds(), 10))
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := buildUpstreamRequest(ctx, route, cl, endpoint, h, body, hasBody, !suppress)
	if err != nil {
		return nil, routerReply(503, "upstream connect error or disconnect/reset before headers. reset reason: protocol error", "upstream_reset_before_response_started{protocol_error}"), nil
	}
	start := time.Now()
	resp, err := cl.transport.RoundTrip(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return nil, routerReply(504, "upstream request timeout", "upstream_response_timeout"), nil
		}
		if op := (*net.OpError)(nil); errors.As(err, &op) && op.Op == "dial" {
			return nil, routerReply(503, "upstream connect error or disconnect/reset before headers. reset reason: connection failure", detailsConnectFailure), nil
		}
		return nil, routerReply(503, "upstream connect error or disconnect/reset before headers. reset reason: connection termination", detailsReset), nil
	}
	defer func() { _ = resp.Body.Close() }()
	out := &upstreamResponse{headers: headerMap{entries: []headerEntry{{":status", strconv.Itoa(resp.StatusCode)}}}}
	out.headers.fromHTTPHeader(resp.Header)
	if resp.ContentLength >= 0 && !out.headers.has("content-length") && req.Method != http.MethodHead {
		out.headers.add("content-length", strconv.FormatInt(resp.ContentLength, 10))
	}
	if !suppress { // Filter::onUpstreamHeaders
		out.headers.add("x-envoy-upstream-service-time", strconv.FormatInt(time.Since(start).Milliseconds(), 10))
	}
	if out.body, err = io.ReadAll(resp.Body); err != nil {
		return nil, nil, errResetAfterHeaders
	}
	// Envoy's HTTP/1 codec drops response trailers (the cluster's enable_trailers is off, as
	// for requests); an HTTP/2 answer keeps them. An answer with trailers did not end on its
	// HEADERS, whatever its content-length says (Go's HTTP/2 server writes content-length: 0
	// beside trailers and no DATA).
	if resp.ProtoMajor >= 2 {
		out.trailers.fromHTTPHeader(resp.Trailer)
	}
	out.eos = (resp.ContentLength == 0 || req.Method == http.MethodHead) && len(out.trailers.entries) == 0
	return out, nil, nil
}

var errBodyTooLarge = errors.New("body over the buffer limit")

// buildUpstreamRequest applies the route's rewrites and carries :authority as Host. With
// original, a rewrite keeps the old value in x-envoy-original-path / x-envoy-original-host
// (RouteEntryImplBase::finalizeRequestHeaders, Utility::updateAuthority), as the router does
// unless suppress_envoy_headers is set.
func buildUpstreamRequest(ctx context.Context, route *Route, cl *upstreamCluster, endpoint string, h headerMap, body []byte, hasBody, original bool) (*http.Request, error) {
	method, _ := h.get(":method")
	path, _ := h.get(":path")
	authority, _ := h.get(":authority")
	if route.PrefixRewrite != "" && route.Prefix != "" && len(path) >= len(route.Prefix) {
		if original {
			h.set("x-envoy-original-path", path)
		}
		path = route.PrefixRewrite + path[len(route.Prefix):]
	}
	if route.HostRewriteLiteral != "" {
		if original {
			h.set("x-envoy-original-host", authority)
		}
		authority = route.HostRewriteLiteral
	}
	scheme := "http"
	if cl.TLS != nil {
		scheme = "https"
	}
	var rd io.Reader
	if hasBody {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, scheme+"://"+endpoint+"/", rd)
	if err != nil {
		return nil, err
	}
	if req.URL.Opaque = path; path == "" {
		req.URL.Opaque = "/"
	}
	req.Host = authority
	req.Header = http.Header{}
	for _, e := range h.entries {
		if e.key[0] == ':' || e.key == "host" || e.key == "content-length" {
			continue
		}
		req.Header.Add(e.key, e.value)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "") // stop Go from adding its own
	}
	switch n, ok := h.contentLength(); {
	case ok && hasBody:
		req.ContentLength = int64(n)
	case ok:
		req.ContentLength = 0
		if n > 0 {
			req.Header.Set("Content-Length", strconv.Itoa(n))
		}
	case hasBody:
		req.ContentLength = -1 // HTTP/1: chunked, as Envoy does without content-length
	}
	return req, nil
}
