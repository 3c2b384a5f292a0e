package signer

import (
	"context"
	"crypto/rsa"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAlipayFindsItsParametersWhereTheCallerPutThem: without `in`, the parameters are the form
// body when the body is a form (by Content-Type, or a body with no Content-Type at all), else the
// query; the signature goes where the parameters were, and a form body the caller sent without a
// Content-Type is labelled as one (a caller's own Content-Type is kept).
func TestAlipayFindsItsParametersWhereTheCallerPutThem(t *testing.T) {
	key := testKeys()["rsa"].(*rsa.PrivateKey)
	secrets := map[string]string{"pk": "secret/p#pk"}
	store := &memStore{vals: map[string]string{"secret/p#pk": pemOf(t, key, "pkcs1")}}
	for _, tt := range []struct {
		name, contentType, query, body string
		inBody                         bool
		wantContentType                string
	}{
		{"form body without Content-Type", "", "", "biz_content=x", true, "application/x-www-form-urlencoded;charset=utf-8"},
		{"form body with its Content-Type", "application/x-www-form-urlencoded; charset=GBK", "", "biz_content=x", true, "application/x-www-form-urlencoded; charset=GBK"},
		{"no body", "", "method=m", "", false, ""},
		{"JSON body", "application/json", "method=m", `{"a":1}`, false, "application/json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.contentType != "" {
				h.Set("Content-Type", tt.contentType)
			}
			path := "/gateway.do"
			if tt.query != "" {
				path += "?" + tt.query
			}
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			r := NewRequest("POST", "https", "openapi.alipay.com", path, h, body)
			step := mustStep(t, "alipay_rsa2", "{app_id: '2014072300007148', private_key: pk, charset: utf-8}", secrets, nil)
			if err := step.SignRequest(context.Background(), exchange(t, store, secrets, r)); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(string(r.Body()), "sign="); got != tt.inBody {
				t.Errorf("signature in the body: %v, want %v (body %q)", got, tt.inBody, r.Body())
			}
			if got := strings.Contains(r.RawQuery(), "sign="); got == tt.inBody {
				t.Errorf("signature in the query: %v, want %v (query %q)", got, !tt.inBody, r.RawQuery())
			}
			if !tt.inBody && string(r.Body()) != tt.body {
				t.Errorf("body changed to %q", r.Body())
			}
			if got := r.Header.Get("Content-Type"); got != tt.wantContentType {
				t.Errorf("Content-Type %q, want %q", got, tt.wantContentType)
			}
		})
	}
}

// TestAlipaySignStringIsAlipays: sorted by key, sign and empty values left out, key=value with
// the values unencoded, joined by "&" with none before the first or after the last.
func TestAlipaySignStringIsAlipays(t *testing.T) {
	v := url.Values{"method": {"alipay.trade.query"}, "app_id": {"1"}, "sign": {"old"}, "empty": {""},
		"biz_content": {`{"a":"b c"}`}}
	want := `app_id=1&biz_content={"a":"b c"}&method=alipay.trade.query`
	if got := AlipaySignString(v); got != want {
		t.Errorf("AlipaySignString = %q, want %q", got, want)
	}
	if got := AlipaySignString(url.Values{"only": {"x"}}); got != "only=x" {
		t.Errorf("one parameter: %q", got)
	}
}
