// Package emu is a Go emulator of Envoy's HTTP connection manager with the ext_proc HTTP filter
// and the router, so keygate's ext_proc server can be tested end to end where no Envoy binary
// can run. Its worth is its fidelity to docs/envoy-ext-proc.md in this repository (read from
// Envoy's source, main branch, Aug 2026; API types from go-control-plane/envoy v1.40.0). Every
// rule it reproduces has a conformance test named after the spec section (TestSpec1_...,
// TestSpec9_..., TestRouter_...); section 12 there lists what still differs from Envoy 1.40.
//
// # What it reproduces
//
//   - One Process stream per request, opened lazily; protocol_config on the first message,
//     metadata_context on every message, attributes on the first message of each direction.
//   - Request/response headers (lower-case keys, raw_value only, :authority :path :method
//     :scheme / :status, plus x-request-id and x-forwarded-proto from the HCM), BUFFERED bodies
//     (whole buffer, end_of_stream rules, empty chunked body sent as ""), trailers when SEND;
//     an HTTP/2 request or answer with trailers and no DATA gets no body message
//     (Filter::onTrailers); HTTP/1 request and response trailers are dropped (enable_trailers
//     off); absolute-form targets split into :authority and :path (handlePath).
//   - grpc_service.initial_metadata on every Process stream.
//   - Envoy's local-reply details strings (ext_proc_error_per-message_timeout_exceeded,
//     ext_proc_error_gRPC_error_<code>{<message>}, whitespace replaced by '_').
//   - Strict ping-pong with message_timeout (default 200 ms: 504, or continue with
//     failure_mode_allow); clean close = continue unmodified; gRPC error or failed open =
//     status_on_error (500) or continue with failure_mode_allow; spurious, mismatched and empty
//     responses = 500.
//   - Header mutations: removals first, raw_value only (value-only sets ""), both set = hard
//     error, legacy append only, mutation_rules check order, disallow_is_error, header count
//     (removals counted too) and size limits; hard errors ignore failure_mode_allow.
//     ImmediateResponse header mutations apply until the first failure and the reply is sent.
//   - BUFFERED bodies: buffer limit (default 1 MiB, 413 request / 500 response), content-length
//     kept with headers SEND and stripped with headers SKIP, the content-length equality check on
//     body replacement (500), clear_body, CONTINUE_AND_REPLACE, ImmediateResponse (status < 200
//     becomes 200), mode_override (allow_mode_override, allowed_override_modes, headers responses
//     only, literal body modes, DEFAULT header/trailer modes from the filter), data during the
//     headers round trip buffered against the limit, per-route ExtProcPerRoute (disabled,
//     processing_mode, failure_mode_allow), clear_route_cache with route re-selection.
//   - Router: virtual hosts by :authority (exact, *.suffix, prefix.*, "*"; ports not stripped
//     unless IgnorePortInHostMatching/StripAnyHostPort), first matching prefix/path route, route
//     timeout (default 15 s, 0 = none) counted from when ext_proc released the request, 504/503/404
//     local replies that still pass response_headers to ext_proc, prefix_rewrite,
//     host_rewrite_literal, :authority sent as Host, x-envoy-expected-rq-timeout-ms,
//     x-envoy-original-host/-path upstream and x-envoy-upstream-service-time on the response
//     unless the router's suppress_envoy_headers is set, round robin over loopback endpoints,
//     TLS and HTTP/2 upstreams; route retry_policy (connect-failure, reset, 5xx, gateway-error,
//     retriable-status-codes; num_retries) with doRetry's replay of the same headers and body;
//     ext_proc as an upstream filter of a cluster (Cluster.UpstreamExtProc, or a cluster's
//     HttpProtocolOptions.http_filters from xDS): one stream per attempt, the router's headers
//     carrying earlier attempts' mutations, immediate responses and route cache clears ignored
//     (the attempt waits for the route timeout).
//   - Config swaps (SetConfig, and the ADS client in xdsclient.go) that re-route without restart.
//
// # What it deliberately does not
//
//   - HTTP/3, upgrades/CONNECT, refused-stream (not told apart from a reset), retry back-off
//     and host predicates, the retry buffer limit, upstream filters other than ext_proc, health checks,
//     outlier detection, load balancing other than round robin, access logs, the admin API,
//     tracing.
//   - STREAMED, BUFFERED_PARTIAL, FULL_DUPLEX_STREAMED and GRPC body modes: rejected at load
//     (ErrUnsupported) and failed with 500 (Stats.Unsupported) when a mode_override asks for them.
//   - CEL: attributes are the fixed names in attributes.go (connection.* from the client TLS
//     certificate, request.path/method/host/protocol, source.address, xds.route_name,
//     xds.virtual_host_name, xds.cluster_name) plus Config.AttributeHook; an upstream filter
//     reads the same (the downstream StreamInfo, UpstreamFilterManager::streamInfo()).
//   - http_service, observability_mode, async mode, dynamic_metadata forwarding, metadata
//     options, forward_rules, per-route grpc_initial_metadata, deferred close.
//   - Timing details: the body is read after the request_headers reply instead of concurrently,
//     and a response that arrives while nothing is outstanding is noticed at the next message
//     (or before the response is written), not the instant it arrives.
//   - Header order: Go does not keep the order of incoming headers; the emulator sends them
//     sorted by name after the pseudo-headers.
//
// # What a green end-to-end test through it proves
//
// That keygate's ext_proc server speaks the protocol as Envoy uses it: the message order,
// end_of_stream flags, raw_value encoding, the exact responses it must return (content-length
// set in the same body response, mutations that Envoy would silently drop, ImmediateResponse
// use, never closing the stream early), and that keygate's xDS resources convert into a working
// route table. It does not prove behaviour under real Envoy's threading, flow control and
// timing, HTTP/2 codec limits, TLS settings of the real listener, CEL evaluation, or anything in
// the list above; a config Envoy would reject for reasons outside this package may still load.
package emu
