package token

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
)

func TestHTTPSource(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	deps := FetcherDeps{
		Keys:  mapKeys{"app_secret": secretMarker},
		Vars:  map[string]string{"app_key": "demo-app"},
		Clock: func() time.Time { return now },
		Nonce: func() string { return "n0nce" },
	}
	expMS := now.Add(2 * time.Hour).UnixMilli()
	tests := []struct {
		name, params, answer string
		wantMethod, wantPath string
		wantType, wantBody   string
		wantToken            string
		wantExpiry           time.Time
	}{
		{
			name: "json body with templates and literals",
			params: `{"body":{"appKey":"{var:app_key}","appSecret":"{secret:app_secret}","ts":"{timestamp_ms}","n":"{nonce}","v":2,"lit":"{{x}"},
				"token_path":"data.accessToken","expiry_path":"data.expireTime","expiry_format":"unix_ms","token_prefix":"Bearer "}`,
			answer:     `{"code":0,"data":{"accessToken":"abc","expireTime":` + itoa64(expMS) + `}}`,
			wantMethod: "POST", wantPath: "/token", wantType: "application/json",
			wantBody:  `{"appKey":"demo-app","appSecret":"` + secretMarker + `","lit":"{x}","n":"n0nce","ts":"` + itoa64(now.UnixMilli()) + `","v":2}`,
			wantToken: "Bearer abc", wantExpiry: time.UnixMilli(expMS),
		},
		{
			name:       "form body, default ttl",
			params:     `{"content_type":"form","body":{"grant":"client","ts":"{timestamp}","n":1},"default_ttl":"90s"}`,
			answer:     `{"access_token":"abc"}`,
			wantMethod: "POST", wantPath: "/token", wantType: "application/x-www-form-urlencoded",
			wantBody:  "grant=client&n=1&ts=" + itoa64(now.Unix()),
			wantToken: "abc", wantExpiry: now.Add(90 * time.Second),
		},
		{
			name:       "GET with query, rfc3339 expiry",
			params:     `{"method":"GET","query":{"appid":"{var:app_key}","grant_type":"client_credential"},"token_path":"items.0.t","expiry_path":"items.0.exp","expiry_format":"rfc3339"}`,
			answer:     `{"items":[{"t":"abc","exp":"2026-01-02T05:00:00Z"}]}`,
			wantMethod: "GET", wantPath: "/token?appid=demo-app&grant_type=client_credential",
			wantToken: "abc", wantExpiry: time.Date(2026, 1, 2, 5, 0, 0, 0, time.UTC),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got captured
			srv := capturingServer(t, tt.answer, &got)
			f, err := CompileFetcher(&config.TokenSource{Type: "http", URL: srv.URL + "/token", Params: []byte(tt.params)}, deps)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := f.Fetch(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got.method != tt.wantMethod || got.path != tt.wantPath || got.contentType != tt.wantType {
				t.Errorf("request %s %s (%s), want %s %s (%s)", got.method, got.path, got.contentType, tt.wantMethod, tt.wantPath, tt.wantType)
			}
			if got.body != tt.wantBody {
				t.Errorf("body differs (lengths %d, %d)", len(got.body), len(tt.wantBody))
			}
			if reveal(tok.Value) != tt.wantToken || !tok.Expiry.Equal(tt.wantExpiry) {
				t.Errorf("expiry %s want %s, token matches: %v", tok.Expiry, tt.wantExpiry, reveal(tok.Value) == tt.wantToken)
			}
		})
	}
}

func TestHTTPSourceBadAnswers(t *testing.T) {
	tests := []struct{ name, params, answer, says string }{
		{"no token at path", `{"token_path":"data.accessToken"}`, `{"data":{"code":40001}}`, "without data.accessToken"},
		{"token not a string", `{}`, `{"access_token":42}`, "without access_token"},
		{"no expiry at path", `{"expiry_path":"data.exp"}`, `{"access_token":"` + tokenMarker + `"}`, "without data.exp"},
		{"bad expiry", `{"expiry_path":"exp","expiry_format":"rfc3339"}`, `{"access_token":"` + tokenMarker + `","exp":"soon"}`, "not an RFC 3339 time"},
		{"json array", `{}`, `[1,2]`, "without access_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got captured
			srv := capturingServer(t, tt.answer, &got)
			f, err := CompileFetcher(&config.TokenSource{Type: "http", URL: srv.URL, Params: []byte(tt.params)}, FetcherDeps{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Fetch(context.Background())
			if failure.Status(err) != 502 || failure.StageOf(err) != "token" || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("got %v, want a token-stage 502 saying %q", err, tt.says)
			}
			noLeak(t, "error", err.Error())
		})
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		format string
		value  any
		want   time.Time
		err    bool
	}{
		{ExpirySecondsFromNow, json.Number("7200"), now.Add(2 * time.Hour), false},
		{ExpirySecondsFromNow, "60", now.Add(time.Minute), false},
		{ExpiryUnixSeconds, json.Number("1700003600"), time.Unix(1_700_003_600, 0), false},
		{ExpiryUnixMillis, json.Number("1700003600000"), time.Unix(1_700_003_600, 0), false},
		{ExpiryRFC3339, "2023-11-14T23:13:20Z", time.Unix(1_700_003_600, 0), false},
		{ExpirySecondsFromNow, json.Number("-1"), time.Time{}, true},
		{ExpirySecondsFromNow, json.Number("1e12"), time.Time{}, true},
		{ExpiryUnixSeconds, true, time.Time{}, true},
		{ExpiryRFC3339, "tomorrow", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			got, err := parseExpiry(tt.value, tt.format, now)
			if (err != nil) != tt.err || (!tt.err && !got.Equal(tt.want)) {
				t.Errorf("parseExpiry(%v) = %s, %v; want %s (error %v)", tt.value, got, err, tt.want, tt.err)
			}
		})
	}
}

func itoa64(n int64) string { b, _ := json.Marshal(n); return string(b) }
