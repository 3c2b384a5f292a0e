package main

import "github.com/keygate/keygate/internal/routing"

// scenario is one provider under load. Its baselines get the messages keygate's
// mode_override left (recorded at warm-up), so no ratio counts a saved round trip as speed.
type scenario struct {
	name   string // also the provider's name, so the route is keygate/<name>
	ex     *exchange
	target float64 // the throughput target as a ratio to the no-op baseline; 0 = none
	note   string
}

// scenarios builds the bench's scenarios for bodies of about bodySize bytes.
func scenarios(bodySize int) []scenario {
	js, enc, form := jsonBody(bodySize), encryptedAnswer(bodySize), formBody(bodySize)
	plain := jsonBody(bodySize)
	ex := func(host, path, ct string, req, resp []byte) *exchange {
		return &exchange{authority: host, path: path, contentType: ct, reqBody: req, respBody: resp, spiffeID: benchSPIFFEID}
	}
	scs := []scenario{
		{name: "static-header", ex: ex("static.bench.local", "/orders/create", "application/json", js, plain),
			target: 0.95, note: "static API key header; mode_override skips both bodies and the response headers"},
		{name: "simple-aes", ex: ex("simple.bench.local", "/orders/create", "application/json", js, enc),
			target: 0.85, note: "article's simple signing + aes_cbc field, response decrypted"},
		{name: "script", ex: ex("script.bench.local", "/orders/create", "application/json", js, enc),
			target: 0.60, note: "article's JS (custom mode), cached two-step token, response decrypted"},
		{name: "aws-sigv4", ex: ex("aws.bench.local", "/prod/orders", "application/json", js, plain),
			target: 0.85, note: "SigV4 over the body; response body not requested"},
		{name: "alipay-rsa2", ex: ex("alipay.bench.local", "/gateway.do", "application/x-www-form-urlencoded", form, plain),
			note: "RSA-2048 SHA256withRSA per request (no target in the issue)"},
		{name: "two-step", ex: ex("twostep.bench.local", "/orders/create", "application/json", js, enc),
			target: 0.85, note: "oauth2 token (cached) + aes_cbc + simple, response decrypted"},
	}
	for i := range scs {
		scs[i].ex.route = routing.RouteName(scs[i].name)
	}
	return scs
}
