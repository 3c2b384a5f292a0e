package main

// scenario is one provider under load and the no-op baseline it is compared with.
type scenario struct {
	name     string
	ex       *exchange
	baseline modes   // what the no-op server gets: the same messages, in these modes
	target   float64 // the throughput target as a ratio to the baseline; 0 = none
	note     string
}

// scenarios builds the bench's scenarios for bodies of about bodySize bytes.
func scenarios(bodySize int) []scenario {
	js, enc, form := jsonBody(bodySize), encryptedAnswer(bodySize), formBody(bodySize)
	plain := jsonBody(bodySize)
	ex := func(host, path, ct string, req, resp []byte) *exchange {
		return &exchange{authority: host, path: path, contentType: ct, reqBody: req, respBody: resp}
	}
	return []scenario{
		{name: "static-header", ex: ex("static.bench.local", "/orders/create", "application/json", js, plain),
			baseline: headerModes, target: 0.95, note: "static API key header; mode_override skips both bodies; baseline sends headers only"},
		{name: "simple-aes", ex: ex("simple.bench.local", "/orders/create", "application/json", js, enc),
			baseline: fullModes, target: 0.85, note: "article's simple signing + aes_cbc field, response decrypted"},
		{name: "script", ex: ex("script.bench.local", "/orders/create", "application/json", js, enc),
			baseline: fullModes, target: 0.60, note: "article's JS (custom mode), cached two-step token, response decrypted"},
		{name: "aws-sigv4", ex: ex("aws.bench.local", "/prod/orders", "application/json", js, plain),
			baseline: fullModes, target: 0.85, note: "SigV4 over the body; response body not requested"},
		{name: "alipay-rsa2", ex: ex("alipay.bench.local", "/gateway.do", "application/x-www-form-urlencoded", form, plain),
			baseline: fullModes, note: "RSA-2048 SHA256withRSA per request (no target in the issue)"},
		{name: "two-step", ex: ex("twostep.bench.local", "/orders/create", "application/json", js, enc),
			baseline: fullModes, target: 0.85, note: "oauth2 token (cached) + aes_cbc + simple, response decrypted"},
	}
}
