package signer

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/jsonbody"
)

// FuzzSortedSignString: the article's sign string over any JSON object: no panic, the same
// string every time, and what the simple step hashes (without building it) is exactly it, as is
// what custom mode's buildSignStr builds with a suffix.
func FuzzSortedSignString(f *testing.F) {
	many := `{`
	for i := range 40 {
		many += fmt.Sprintf(`"k%02d":"%s",`, i, strings.Repeat("v", i*9))
	}
	many += `"last":1}`
	for _, seed := range []string{
		many, `{"` + strings.Repeat("k", 300) + `":"v","a":"` + strings.Repeat("w", 250) + `","b":"x"}`,
		`{"` + strings.Repeat("k", 254) + `":"v","b":"` + strings.Repeat("y", 255) + `"}`,
		`{"appKey":"demo-app","data":"abc","timestamp":"1700000000"}`,
		`{"b":"2","a":"1","sign":"XYZ","empty":""}`,
		`{"n":1.50,"obj":{"k":[1,2]},"null":null,"t":true}`,
		`{"a=b":"c&d","ü":"\u00fc"}`, `{}`, `{"sign":"only"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := jsonbody.Parse(data)
		if err != nil {
			return
		}
		s := SortedSignString(o)
		if again := SortedSignString(o); again != s {
			t.Fatalf("sign string not deterministic: %q vs %q", s, again)
		}
		suffix := []byte("app-secret")
		if got, want := sumSortedSignString(o, suffix), sha256.Sum256([]byte(s+string(suffix))); got != want {
			t.Fatalf("sumSortedSignString differs from the hash of SortedSignString %q", s)
		}
		if got := SortedSignStringThen(o, string(suffix)); got != s+string(suffix) {
			t.Fatalf("SortedSignStringThen %q is not SortedSignString %q and the suffix", got, s)
		}
	})
}

// FuzzCloudSchemes: every cloud and map scheme over any method, target, header and body: no
// panic; a refusal is a 400 at stage sign; a signed request carries no line break in a header
// and no secret in the clear.
func FuzzCloudSchemes(f *testing.F) {
	f.Add("POST", "/?a=1&b=x+y", "application/json", "X-Acs-Action", "RunInstances", []byte(`{"a":1}`))
	f.Add("GET", "/v1/%E4%B8%AD/x?A=%zz", "text/plain", "X-Bce-Meta", " v ", []byte(nil))
	f.Add("PUT", "/a//b?Signature=x&Signature=y", "application/x-www-form-urlencoded", "X-Sdk-Date", "", []byte("sig=1&sn=2&a=%ZZ"))
	f.Add("DELETE", "", "", "X-Tc-Action", "Describe\x00", []byte("k=v&k=w"))
	secrets := map[string]string{"sk": "secret/p#sk", "tok": "secret/p#tok"}
	store := &memStore{vals: map[string]string{"secret/p#sk": "fuzz-secret-value", "secret/p#tok": "fuzz-token-value"}}
	steps := map[string]Step{}
	for scheme, params := range map[string]string{
		"tc3":          "{secret_id: AKID, secret_key: sk, token: tok}",
		"acs3":         "{access_key_id: AK, access_key_secret: sk, security_token: tok}",
		"aliyun_rpc":   "{access_key_id: AK, access_key_secret: sk}",
		"baidu_bce":    "{access_key_id: AK, secret_access_key: sk}",
		"huawei_apig":  "{access_key: AK, secret_key: sk}",
		"volcengine":   "{access_key_id: AK, secret_access_key: sk, region: r, service: s}",
		"amap":         "{private_key: sk, key: k}",
		"baidu_map_sn": "{sk: sk, ak: a}",
	} {
		steps[scheme] = mustStep(f, scheme, params, secrets, nil)
	}
	f.Fuzz(func(t *testing.T, method, target, contentType, hName, hValue string, body []byte) {
		for scheme, s := range steps {
			h := http.Header{}
			if contentType != "" && validHeaderValue(contentType) {
				h.Set("Content-Type", contentType)
			}
			if hName != "" && validHeaderValue(hValue) {
				h.Set(hName, hValue)
			}
			r := NewRequest(method, "https", "api.example.com", target, h, body)
			x := exchange(t, store, secrets, r)
			err := s.SignRequest(context.Background(), x)
			if err != nil {
				if failure.KindOf(err) != failure.BadRequest || failure.StageOf(err) != "sign" {
					t.Fatalf("%s: refusal %v is not a 400 at stage sign", scheme, err)
				}
				continue
			}
			for k, vs := range r.Header {
				for _, v := range vs {
					if !validHeaderValue(v) {
						t.Fatalf("%s: header %s holds a line break", scheme, k)
					}
					if strings.Contains(v, "fuzz-secret-value") {
						t.Fatalf("%s: header %s holds the secret", scheme, k)
					}
				}
			}
			if strings.Contains(r.Path, "fuzz-secret-value") || strings.Contains(string(r.Body()), "fuzz-secret-value") && !strings.Contains(string(body), "fuzz-secret-value") {
				t.Fatalf("%s: the secret leaked into the request", scheme)
			}
		}
	})
}
