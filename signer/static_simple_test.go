package signer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/failure"
)

func TestStatic(t *testing.T) {
	secrets := map[string]string{"k": "secret/p#k", "user": "secret/p#user"}
	store := &memStore{vals: map[string]string{"secret/p#k": "s3cr&t=1", "secret/p#user": "bob"}}
	tests := []struct {
		name, params, header, want, query string
	}{
		{"header", "{secret: k, in: header, name: X-Api-Key, prefix: 'Key '}", "X-Api-Key", "Key s3cr&t=1", "b=2&a=1"},
		{"bearer", "{secret: k, in: bearer}", "Authorization", "Bearer s3cr&t=1", "b=2&a=1"},
		{"basic literal", "{secret: k, in: basic, username: alice}", "Authorization", "Basic YWxpY2U6czNjciZ0PTE=", "b=2&a=1"},
		{"basic secret user", "{secret: k, in: basic, username: 'secret:user'}", "Authorization", "Basic Ym9iOnMzY3ImdD0x", "b=2&a=1"},
		{"query replaces and encodes", "{secret: k, in: query, name: a}", "", "", "b=2&a=s3cr%26t%3D1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := jsonRequest(`{}`)
			x := exchange(t, store, secrets, r)
			if err := mustStep(t, "static", tc.params, secrets, nil).SignRequest(context.Background(), x); err != nil {
				t.Fatal(err)
			}
			if tc.header != "" && r.Header.Get(tc.header) != tc.want {
				t.Errorf("%s does not hold the expected credential", tc.header)
			}
			if r.RawQuery() != tc.query {
				t.Errorf("query %q, want %q", r.RawQuery(), tc.query)
			}
			if len(x.Used) == 0 || x.Used[0].Ref != "secret/p#k" {
				t.Errorf("use not recorded: %+v", x.Used)
			}
			// The credential as written is marked sensitive: dry-run output redacts it.
			if len(x.Sensitive) != 1 || x.Sensitive[0] == "" {
				t.Errorf("%d sensitive strings recorded, want the credential", len(x.Sensitive))
			}
		})
	}
	t.Run("keystore error passes through", func(t *testing.T) {
		x := exchange(t, &memStore{}, secrets, jsonRequest(`{}`))
		err := mustStep(t, "static", "{secret: k, in: bearer}", secrets, nil).SignRequest(context.Background(), x)
		wantKind(t, err, failure.Unavailable, "keystore")
	})
}

func TestSimple(t *testing.T) {
	secrets := map[string]string{"app_secret": "secret/keygate/demo#app_secret"}
	store := &memStore{vals: map[string]string{"secret/keygate/demo#app_secret": "AppSecure"}}
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	tests := []struct {
		name, params, body, want string
		kind                     failure.Kind
	}{
		{"article example", "{app_key: var:AppKey, app_secret: app_secret}",
			`{"timestamp":"1700000000","data":"123456","sign":"old"}`,
			`{"timestamp":"1700000000","data":"123456","appKey":"demo-app","sign":"` +
				strings.ToUpper(sum("appKey=demo-app&data=123456&timestamp=1700000000AppSecure")) + `"}`, 0},
		{"lower case, own fields", "{app_key: k1, app_secret: app_secret, app_key_field: app_id, sign_field: signature, case: lower}",
			`{"n":1,"empty":""}`,
			`{"n":1,"empty":"","app_id":"k1","signature":"` + sum("app_id=k1&n=1AppSecure") + `"}`, 0},
		{"bad JSON", "{app_key: k, app_secret: app_secret}", `{"a":`, "", failure.BadRequest},
		{"not an object", "{app_key: k, app_secret: app_secret}", `[1,2]`, "", failure.BadRequest},
		{"empty body", "{app_key: k, app_secret: app_secret}", ``, "", failure.BadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := jsonRequest(tc.body)
			step := mustStep(t, "simple", tc.params, secrets, map[string]string{"AppKey": "demo-app"})
			if !step.Needs().RequestBody {
				t.Fatal("simple must ask for the body")
			}
			err := step.SignRequest(context.Background(), exchange(t, store, secrets, r))
			if tc.want == "" {
				wantKind(t, err, tc.kind, "sign")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(r.Body()); got != tc.want {
				t.Fatalf("body\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
