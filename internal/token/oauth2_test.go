package token

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
)

// captured is what a token endpoint received.
type captured struct {
	method, path, auth, contentType, body string
}

func capturingServer(t *testing.T, answer string, got *captured) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = captured{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestOAuth2VectorRFC6749(t *testing.T) {
	raw, err := os.ReadFile("../../test/vectors/rfc6749-client-credentials.json")
	if err != nil {
		t.Fatal(err)
	}
	var vec struct {
		ClientID      string `json:"client_id"`
		ClientSecret  string `json:"client_secret"`
		TokenRequest  string `json:"token_request"`
		TokenResponse string `json:"token_response"`
	}
	if err := json.Unmarshal(raw, &vec); err != nil {
		t.Fatal(err)
	}
	head, wantBody, _ := strings.Cut(vec.TokenRequest, "\r\n\r\n")
	want := captured{body: wantBody}
	lines := strings.Split(head, "\r\n")
	want.method, want.path, _ = strings.Cut(strings.TrimSuffix(lines[0], " HTTP/1.1"), " ")
	for _, l := range lines[1:] {
		name, value, _ := strings.Cut(l, ": ")
		switch name {
		case "Authorization":
			want.auth = value
		case "Content-Type":
			want.contentType = value
		}
	}
	var got captured
	srv := capturingServer(t, vec.TokenResponse, &got)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	params, _ := json.Marshal(map[string]string{"client_id": vec.ClientID, "client_secret": "cs"})
	f, err := CompileFetcher(&config.TokenSource{Type: "oauth2_client_credentials", URL: srv.URL + "/token", Params: params},
		FetcherDeps{Keys: mapKeys{"cs": vec.ClientSecret}, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("token request differs from RFC 6749 4.4.2 (method %q/%q path %q/%q content type %q/%q, body and Authorization equal: %v %v)",
			got.method, want.method, got.path, want.path, got.contentType, want.contentType, got.body == want.body, got.auth == want.auth)
	}
	if reveal(tok.Value) != "2YotnFZFEjr1zCsicMWpAA" || !tok.Expiry.Equal(now.Add(3600*time.Second)) {
		t.Errorf("token or expiry (%s) not taken from the response", tok.Expiry)
	}
}

func TestOAuth2Styles(t *testing.T) {
	tests := []struct {
		name, params, wantAuth, wantBody string
	}{
		{"basic encodes id and secret first", `{"client_id":"id:1 é","client_secret":"cs","scope":"read write"}`,
			"Basic aWQlM0ExKyVDMyVBOTpwJTJCcyUyNTMlM0Q=", "grant_type=client_credentials&scope=read+write"},
		{"body", `{"client_id":"id1","client_secret":"cs","auth_style":"body","audience":"api://x"}`,
			"", "grant_type=client_credentials&audience=api%3A%2F%2Fx&client_id=id1&client_secret=p%2Bs%253%3D"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got captured
			srv := capturingServer(t, `{"access_token":"a","expires_in":"60"}`, &got)
			f, err := CompileFetcher(&config.TokenSource{Type: "oauth2_client_credentials", URL: srv.URL, Params: []byte(tt.params)},
				FetcherDeps{Keys: mapKeys{"cs": "p+s%3="}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Fetch(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got.auth != tt.wantAuth || got.body != tt.wantBody {
				t.Errorf("Authorization matches: %v, body = %q want %q", got.auth == tt.wantAuth, redactBody(got.body), redactBody(tt.wantBody))
			}
		})
	}
}

// redactBody hides a client_secret form value in test failure messages.
func redactBody(b string) string {
	if i := strings.Index(b, "client_secret="); i >= 0 {
		return b[:i] + "client_secret=[redacted]"
	}
	return b
}

func TestCompileFetcherErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.TokenSource
		want string
	}{
		{"no url", config.TokenSource{Type: "http"}, "token.url: required"},
		{"bad scheme", config.TokenSource{Type: "http", URL: "ftp://x/token"}, "token.url"},
		{"credentials in url", config.TokenSource{Type: "http", URL: "https://u:p@x/token"}, "must not carry credentials"},
		{"unknown type", config.TokenSource{Type: "saml", URL: "https://x/t"}, `"saml" is not one of`},
		{"no client id", config.TokenSource{Type: "oauth2_client_credentials", URL: "https://x/t", Params: []byte(`{"client_secret":"cs"}`)}, "client_id: required"},
		{"no client secret", config.TokenSource{Type: "oauth2_client_credentials", URL: "https://x/t", Params: []byte(`{"client_id":"a"}`)}, "client_secret: required"},
		{"bad auth style", config.TokenSource{Type: "oauth2_client_credentials", URL: "https://x/t", Params: []byte(`{"client_id":"a","client_secret":"cs","auth_style":"jwt"}`)}, "auth_style"},
		{"unknown param", config.TokenSource{Type: "oauth2_client_credentials", URL: "https://x/t", Params: []byte(`{"client_id":"a","client_secret":"cs","grant":"x"}`)}, "grant"},
		{"unknown placeholder", config.TokenSource{Type: "http", URL: "https://x/t", Params: []byte(`{"body":{"a":"{uuid}"}}`)}, "unknown placeholder {uuid}"},
		{"missing var", config.TokenSource{Type: "http", URL: "https://x/t", Params: []byte(`{"body":{"a":"{var:nope}"}}`)}, `no var "nope"`},
		{"unclosed", config.TokenSource{Type: "http", URL: "https://x/t", Params: []byte(`{"headers":{"a":"{nonce"}}`)}, "unclosed"},
		{"get with body", config.TokenSource{Type: "http", URL: "https://x/t", Params: []byte(`{"method":"GET","body":{"a":"b"}}`)}, "GET token request has no body"},
		{"bad expiry format", config.TokenSource{Type: "http", URL: "https://x/t", Params: []byte(`{"expiry_format":"days"}`)}, "expiry_format"},
		{"bad path", config.TokenSource{Type: "http", URL: "https://x/t", Params: []byte(`{"token_path":"data..x"}`)}, "token_path"},
		{"object in form", config.TokenSource{Type: "http", URL: "https://x/t", Params: []byte(`{"content_type":"form","body":{"a":{"b":1}}}`)}, "form field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CompileFetcher(&tt.cfg, FetcherDeps{Keys: mapKeys{}, Vars: map[string]string{}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := CompileFetcher(&config.TokenSource{Type: "script"}, FetcherDeps{}); err != ErrScriptSource {
		t.Errorf("script source: %v", err)
	}
}

func TestOAuth2SecretUnavailable(t *testing.T) {
	f, err := CompileFetcher(&config.TokenSource{Type: "oauth2_client_credentials", URL: "http://127.0.0.1:1/t",
		Params: []byte(`{"client_id":"a","client_secret":"missing"}`)}, FetcherDeps{Keys: mapKeys{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Fetch(context.Background())
	if failure.KindOf(err) != failure.Unavailable || failure.StageOf(err) != "token" || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a missing client secret gave %v", err)
	}
}
