package signer

import (
	"context"
	"crypto/md5" //nolint:gosec // the providers' digest
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/failure"
)

// Config errors of the cloud schemes name the parameter (its full field path).
func TestCloudSchemesConfigErrorsNameTheField(t *testing.T) {
	secrets := map[string]string{"k": "secret/p#k", "tr": "transit:transit/h"}
	tests := []struct{ scheme, params, field string }{
		{"tc3", "{secret_id: AKID}", ".secret_key"},
		{"tc3", "{secret_key: k}", ".secret_id"},
		{"tc3", "{secret_id: AKID, secret_key: nope}", ".secret_key"},
		{"tc3", "{secret_id: AKID, secret_key: tr}", ".secret_key"}, // chained HMACs need the bytes
		{"tc3", "{secret_id: var:missing, secret_key: k}", ".secret_id"},
		{"tc3", "{secret_id: AKID, secret_key: k, token: nope}", ".token"},
		{"tc3", "{secret_id: AKID, secret_key: k, signed_headers: ['x-a', 'X-A']}", ".signed_headers[1]"},
		{"tc3", "{secret_id: AKID, secret_key: k, signed_headers: ['bad name']}", ".signed_headers[0]"},
		{"tc3", "{secret_id: AKID, secret_key: k, signed_headers: [content-length]}", ".signed_headers[0]"},
		{"tc3", "{secret_id: AKID, secret_key: k, bogus: 1}", "bogus"},
		{"acs3", "{access_key_id: a, access_key_secret: k, signed_headers: [x-keygate-tenant-key]}", ".signed_headers[0]"},
		{"huawei_apig", "{access_key: a, secret_key: k, signed_headers: [x-a, X-Envoy-Original-Path]}", ".signed_headers[1]"},
		{"acs3", "{access_key_id: a}", ".access_key_secret"},
		{"acs3", "{access_key_id: a, access_key_secret: k, security_token: tr}", ".security_token"},
		{"aliyun_rpc", "{access_key_id: a, access_key_secret: tr}", ".access_key_secret"},
		{"aliyun_rpc", "{access_key_secret: k}", ".access_key_id"},
		{"baidu_bce", "{access_key_id: a, secret_access_key: k, expiration: -5}", ".expiration"},
		{"baidu_bce", "{access_key_id: a, secret_access_key: k, omit_signed_headers: true, signed_headers: [x-a]}", ".signed_headers"},
		{"baidu_bce", "{access_key_id: a}", ".secret_access_key"},
		{"huawei_apig", "{secret_key: k}", ".access_key"},
		{"huawei_apig", "{access_key: a}", ".secret_key"},
		{"volcengine", "{access_key_id: a, secret_access_key: k, service: iam}", ".region"},
		{"volcengine", "{access_key_id: a, secret_access_key: k, region: cn-north-1}", ".service"},
		{"volcengine", "{access_key_id: a, secret_access_key: tr, region: r, service: s}", ".secret_access_key"},
		{"amap", "{}", ".private_key"},
		{"amap", "{private_key: k, key: secret:nope}", ".key"},
		{"baidu_map_sn", "{sk: tr}", ".sk"},
		{"baidu_map_sn", "{sk: k, ak: var:nope}", ".ak"},
	}
	for _, tt := range tests {
		t.Run(tt.scheme+" "+tt.field, func(t *testing.T) {
			_, err := buildStep(t, tt.scheme, tt.params, secrets, nil)
			if err == nil || !strings.Contains(err.Error(), "providers[0].signing[0]") || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("error %v, want one naming %s", err, tt.field)
			}
		})
	}
}

func runStep(t *testing.T, scheme, params string, vals map[string]string, r *Request) (*Exchange, error) {
	t.Helper()
	secrets := map[string]string{}
	store := &memStore{vals: map[string]string{}}
	for name, v := range vals {
		secrets[name] = "secret/p#" + name
		store.vals["secret/p#"+name] = v
	}
	x := exchange(t, store, secrets, r)
	return x, mustStep(t, scheme, params, secrets, nil).SignRequest(context.Background(), x)
}

func TestTC3Behaviour(t *testing.T) {
	sk := map[string]string{"sk": "s3cr3t-key", "tok": "temp-token"}
	t.Run("content-type required", func(t *testing.T) {
		_, err := runStep(t, "tc3", "{secret_id: AKID, secret_key: sk}", sk, NewRequest("GET", "https", "cvm.tencentcloudapi.com", "/?Limit=1", nil, nil))
		wantKind(t, err, failure.BadRequest, "sign")
	})
	t.Run("keygate's clock, the caller's action, token", func(t *testing.T) {
		h := http.Header{"Content-Type": {"application/json"}, "X-Tc-Timestamp": {"1"}, "X-Tc-Action": {"DescribeZones"}}
		r := NewRequest("POST", "https", "cvm.tencentcloudapi.com", "/", h, []byte(`{}`))
		x, err := runStep(t, "tc3", "{secret_id: AKID, secret_key: sk, token: tok, action: DescribeInstances, region: ap-guangzhou}", sk, r)
		if err != nil {
			t.Fatal(err)
		}
		if r.Header.Get("X-Tc-Timestamp") != "1704164645" || r.Header.Get("X-Tc-Action") != "DescribeZones" ||
			r.Header.Get("X-Tc-Region") != "ap-guangzhou" || r.Header.Get("X-Tc-Token") != "temp-token" {
			t.Fatalf("headers %v", r.Header)
		}
		if len(x.Sensitive) != 1 || x.Sensitive[0] != "temp-token" {
			t.Fatalf("token not marked sensitive: %v", x.Sensitive)
		}
		// service from the host's first label; date from keygate's clock
		if a := r.Header.Get("Authorization"); !strings.Contains(a, "Credential=AKID/2024-01-02/cvm/tc3_request, SignedHeaders=content-type;host, Signature=") {
			t.Fatalf("Authorization %s", a)
		}
	})
	t.Run("a signed header the request lacks", func(t *testing.T) {
		r := NewRequest("POST", "https", "cvm.tencentcloudapi.com", "/", http.Header{"Content-Type": {"application/json"}}, nil)
		_, err := runStep(t, "tc3", "{secret_id: AKID, secret_key: sk, signed_headers: [x-tc-action]}", sk, r)
		wantKind(t, err, failure.BadRequest, "sign")
	})
	t.Run("signed_headers covers the value lower-cased", func(t *testing.T) {
		r := NewRequest("POST", "https", "cvm.tencentcloudapi.com", "/", http.Header{"Content-Type": {"application/json"}, "X-Tc-Action": {"DescribeInstances"}}, nil)
		if _, err := runStep(t, "tc3", "{secret_id: AKID, secret_key: sk, signed_headers: [X-TC-Action]}", sk, r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.Header.Get("Authorization"), "SignedHeaders=content-type;host;x-tc-action,") {
			t.Fatal(r.Header.Get("Authorization"))
		}
	})
}

func TestACS3BodyAndTransit(t *testing.T) {
	body := []byte(`{"RegionId":"cn-hangzhou"}`)
	h := http.Header{"Content-Type": {"application/json"}, "X-Acs-Action": {"RunInstances"}, "X-Acs-Version": {"2014-05-26"}, "X-Envoy-Foo": {"x"}}
	r := NewRequest("POST", "https", "ecs.aliyuncs.com", "/a%20b/c?z=1&a=x+y", h, body)
	ts := &transitStore{hmacKeys: map[string][]byte{"transit/h": []byte("secret")}}
	secrets := map[string]string{"h": "transit:transit/h"}
	x := exchange(t, ts, secrets, r)
	if err := mustStep(t, "acs3", "{access_key_id: AK, access_key_secret: h}", secrets, nil).SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if r.Header.Get("X-Acs-Content-Sha256") != hex.EncodeToString(sum[:]) || ts.calls != 1 {
		t.Fatalf("body hash %s, transit calls %d", r.Header.Get("X-Acs-Content-Sha256"), ts.calls)
	}
	want := "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature="
	if a := r.Header.Get("Authorization"); !strings.HasPrefix(a, want) {
		t.Fatalf("Authorization %s", a)
	}
	if r.Header.Get("X-Acs-Signature-Nonce") != "n0nce" {
		t.Fatal("nonce not from the clock")
	}
}

func TestAliyunRPCHostileParameters(t *testing.T) {
	sk := map[string]string{"sk": "testsecret", "tok": "sts/token+="}
	t.Run("caller's common parameters are replaced", func(t *testing.T) {
		r := NewRequest("GET", "https", "ecs.aliyuncs.com", "/?Action=A&Signature=forged&AccessKeyId=other&Timestamp=1999&SignatureNonce=x", nil, nil)
		x, err := runStep(t, "aliyun_rpc", "{access_key_id: testid, access_key_secret: sk, security_token: tok}", sk, r)
		if err != nil {
			t.Fatal(err)
		}
		q, _ := url.ParseQuery(r.RawQuery())
		if len(q["Signature"]) != 1 || q.Get("Signature") == "forged" || q.Get("AccessKeyId") != "testid" ||
			q.Get("Timestamp") != "2024-01-02T03:04:05Z" || q.Get("SignatureNonce") != "n0nce" || q.Get("SecurityToken") != "sts/token+=" {
			t.Fatalf("query %v", q)
		}
		if len(x.Sensitive) != 1 || x.Sensitive[0] != "sts%2Ftoken%2B%3D" {
			t.Fatalf("sensitive %v", x.Sensitive)
		}
	})
	for name, r := range map[string]*Request{
		"repeated parameter": NewRequest("GET", "https", "h", "/?A=1&A=2", nil, nil),
		"bad escape":         NewRequest("GET", "https", "h", "/?A=%zz", nil, nil),
		"form sets Signature": NewRequest("POST", "https", "h", "/?Action=A",
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte("Signature=x")),
		"form repeats a query parameter": NewRequest("POST", "https", "h", "/?Action=A",
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte("Action=B")),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := runStep(t, "aliyun_rpc", "{access_key_id: testid, access_key_secret: sk}", sk, r)
			wantKind(t, err, failure.BadRequest, "sign")
		})
	}
	t.Run("form body is signed and kept", func(t *testing.T) {
		r := NewRequest("POST", "https", "h", "/?Action=A", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte("PhoneNumbers=1&SignName=a+b"))
		if _, err := runStep(t, "aliyun_rpc", "{access_key_id: testid, access_key_secret: sk}", sk, r); err != nil {
			t.Fatal(err)
		}
		if string(r.Body()) != "PhoneNumbers=1&SignName=a+b" || !strings.Contains(r.RawQuery(), "&Signature=") || strings.Contains(r.RawQuery(), "PhoneNumbers") {
			t.Fatalf("query %s body %s", r.RawQuery(), r.Body())
		}
	})
}

func TestBaiduBCEListsSignedHeaders(t *testing.T) {
	// Baidu's example with the signed headers listed: the canonical request, and so the
	// signature, is the published one; only the Authorization's header list differs.
	h := http.Header{"Content-Type": {"text/plain"}, "Content-Md5": {"NFzcPqhviddjRNnSOGo4rw=="}, "Date": {"Mon, 27 Apr 2015 16:23:49 +0800"}}
	r := NewRequest("PUT", "https", "bj.bcebos.com", "/v1/test/myfolder/readme.txt?partNumber=9&uploadId=a44cc9bab11cbd156984767aad637851", h, []byte("Example\n"))
	store := &memStore{vals: map[string]string{"secret/p#sk": strings.Repeat("b", 32)}}
	secrets := map[string]string{"sk": "secret/p#sk"}
	x := exchange(t, store, secrets, r)
	x.Clock = FixedClock(mustTime(t, "2015-04-27T08:23:49Z"), "")
	if err := mustStep(t, "baidu_bce", "{access_key_id: "+strings.Repeat("a", 32)+", secret_access_key: sk}", secrets, nil).SignRequest(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	want := "bce-auth-v1/" + strings.Repeat("a", 32) + "/2015-04-27T08:23:49Z/1800/content-length;content-md5;content-type;host;x-bce-date/d74a04362e6a848f5b39b15421cb449427f419c95a480fd6b8cf9fc783e2999e"
	if got := r.Header.Get("Authorization"); got != want {
		t.Fatalf("Authorization\n got %s\nwant %s", got, want)
	}
}

func TestHuaweiCanonicalURI(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "/",
		"/":                 "/",
		"/v1/x/vpcs":        "/v1/x/vpcs/",
		"/v1/a%20b/c%2Fd/":  "/v1/a%20b/c/d/", // the SDKs sign URL.Path, already decoded
		"/v1/%E4%B8%AD~x.y": "/v1/%E4%B8%AD~x.y/",
	} {
		if got, err := huaweiCanonicalURI(in); err != nil || got != want {
			t.Errorf("%q -> %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := huaweiCanonicalURI("/%zz"); failure.KindOf(err) != failure.BadRequest {
		t.Errorf("bad escape: %v", err)
	}
}

func TestMapSchemesForms(t *testing.T) {
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	t.Run("amap adds key and signs the form body", func(t *testing.T) {
		r := NewRequest("POST", "https", "yuntuapi.amap.com", "/datamanage/data/create?tableid=t1", form.Clone(), []byte("data=%7B%22_name%22%3A%22a+b%22%7D&sig=old"))
		x, err := runStep(t, "amap", "{private_key: pk, key: secret:ak}", map[string]string{"pk": "bbbbb", "ak": "my/key"}, r)
		if err != nil {
			t.Fatal(err)
		}
		// decoded values, sorted by name, the query's parameters included, the private key appended
		want := md5hex(`data={"_name":"a b"}&key=my/key&tableid=t1bbbbb`)
		if string(r.Body()) != "data=%7B%22_name%22%3A%22a+b%22%7D&key=my%2Fkey&sig="+want {
			t.Fatalf("body %s, want sig %s", r.Body(), want)
		}
		if len(x.Sensitive) != 1 || x.Sensitive[0] != "my%2Fkey" {
			t.Fatalf("sensitive %v", x.Sensitive)
		}
	})
	t.Run("baidu_map_sn sorts a POST form and replaces sn", func(t *testing.T) {
		r := NewRequest("POST", "https", "api.map.baidu.com", "/geodata/v3/poi/create", form.Clone(), []byte("title=a%20b&ak=yourak&sn=old&geotable_id=1"))
		if _, err := runStep(t, "baidu_map_sn", "{sk: sk}", map[string]string{"sk": "yoursk"}, r); err != nil {
			t.Fatal(err)
		}
		want := md5hex(url.QueryEscape("/geodata/v3/poi/create?ak=yourak&geotable_id=1&title=a%20b" + "yoursk"))
		if string(r.Body()) != "ak=yourak&geotable_id=1&title=a%20b&sn="+want {
			t.Fatalf("body %s", r.Body())
		}
	})
	t.Run("malformed parameters", func(t *testing.T) {
		for _, scheme := range []string{"amap", "baidu_map_sn"} {
			r := NewRequest("GET", "https", "h", "/x?a=%zz", nil, nil)
			_, err := runStep(t, scheme, map[string]string{"amap": "{private_key: k}", "baidu_map_sn": "{sk: k}"}[scheme], map[string]string{"k": "v"}, r)
			wantKind(t, err, failure.BadRequest, "sign")
		}
	})
	t.Run("amap repeated parameter", func(t *testing.T) {
		r := NewRequest("GET", "https", "h", "/x?a=1&a=2", nil, nil)
		_, err := runStep(t, "amap", "{private_key: k}", map[string]string{"k": "v"}, r)
		wantKind(t, err, failure.BadRequest, "sign")
	})
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s)) //nolint:gosec // the providers' digest
	return hex.EncodeToString(sum[:])
}

// A token or ID from the keystore ending in a newline (a file's last line) is refused, not
// written into a header; the error does not carry the value.
func TestCloudSchemesRefuseLineBreaksFromTheKeystore(t *testing.T) {
	vals := map[string]string{"sk": "k", "tok": "token-value\n", "id": "AKID\r\n"}
	h := http.Header{"Content-Type": {"application/json"}}
	for scheme, params := range map[string]string{
		"tc3":         "{secret_id: AKID, secret_key: sk, token: tok}",
		"acs3":        "{access_key_id: secret:id, access_key_secret: sk}",
		"baidu_bce":   "{access_key_id: AK, secret_access_key: sk, security_token: tok}",
		"huawei_apig": "{access_key: secret:id, secret_key: sk}",
		"volcengine":  "{access_key_id: AK, secret_access_key: sk, region: r, service: s, session_token: tok}",
	} {
		_, err := runStep(t, scheme, params, vals, NewRequest("POST", "https", "a.example.com", "/", h.Clone(), []byte("{}")))
		wantKind(t, err, failure.BadRequest, "sign")
		if strings.Contains(err.Error(), "token-value") || strings.Contains(err.Error(), "AKID") {
			t.Fatalf("%s: error carries the value: %v", scheme, err)
		}
	}
}
