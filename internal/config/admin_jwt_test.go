package config

import (
	"strings"
	"testing"
)

// TestAdminJWTValidation: each mistake in admin.jwt is named by its field path.
func TestAdminJWTValidation(t *testing.T) {
	const base = "keystore: {type: file, file: {path: keys.yaml}}\nadmin:\n  jwt: "
	for jwt, want := range map[string]string{
		`{issuer: "https://login.test", audience: keygate, jwks_file: jwks.json}`:                                       "",
		`{issuer: "https://login.test", audience: keygate, jwks_url: "https://login.test/keys"}`:                        "",
		`{issuer: "https://login.test", audience: keygate, jwks_url: "http://127.0.0.1:8080/keys"}`:                     "",
		`{audience: keygate, jwks_file: jwks.json}`:                                                                     "admin.jwt.issuer: required",
		`{issuer: "https://login.test", jwks_file: jwks.json}`:                                                          "admin.jwt.audience: required",
		`{issuer: "https://login.test", audience: keygate}`:                                                             "admin.jwt: needs jwks_url or jwks_file",
		`{issuer: i, audience: a, jwks_file: f, jwks_url: "https://x.test/k"}`:                                          "admin.jwt: jwks_url and jwks_file are exclusive",
		`{issuer: i, audience: a, jwks_url: "http://login.test/keys"}`:                                                  "admin.jwt.jwks_url: must be https",
		`{issuer: i, audience: a, jwks_url: "keys"}`:                                                                    "admin.jwt.jwks_url: not a URL with a host",
		`{issuer: i, audience: a, jwks_url: "https://u:p@login.test/keys"}`:                                             "admin.jwt.jwks_url: must not carry credentials",
		`{issuer: i, audience: a, jwks_file: f, algorithms: [ES256, HS256]}`:                                            "admin.jwt.algorithms[1]: \"HS256\" is not one of",
		`{issuer: i, audience: a, jwks_file: f, unknown_field: 1}`:                                                      "unknown_field",
		`{issuer: i, audience: a, jwks_file: f, console: {client_id: kc}}`:                                              "",
		`{issuer: i, audience: a, jwks_file: f, console: {client_id: kc, token_url: "http://127.0.0.1:9/t"}}`:           "",
		`{issuer: i, audience: a, jwks_file: f, console: {scopes: [openid]}}`:                                           "admin.jwt.console.client_id: required",
		`{issuer: i, audience: a, jwks_file: f, console: {client_id: kc, token_url: "http://idp.test/t"}}`:              "admin.jwt.console.token_url: must be https",
		`{issuer: i, audience: a, jwks_file: f, console: {client_id: kc, authorization_url: "https://u:p@idp.test/a"}}`: "admin.jwt.console.authorization_url: must not carry credentials",
		`{issuer: i, audience: a, jwks_file: f, console: {client_id: kc, client_secret: s}}`:                            "client_secret",
	} {
		f, err := Parse([]byte(base + jwt + "\n"))
		if err == nil {
			err = f.Validate()
		}
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", jwt, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: got %v, want an error containing %q", jwt, err, want)
		}
	}
}
