package script

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/signer"
)

// Real providers' signing schemes written with the built-ins, under roles: each script's output
// is checked against an independent Go implementation of the provider's documented algorithm,
// and every output against every form of every secret (checkNoSecret; the signatures are not
// secret, the keys and derived chain keys are).

func runProvider(t *testing.T, src string, roles map[string]config.ScriptSecret, method, path string) *signer.Exchange {
	t.Helper()
	step, err := Compile(config.Script{Inline: src, Secrets: roles}, testBuild(t), Options{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	x := newExchange(path, "", nil)
	x.Request.Method = method
	if err := step.SignRequest(context.Background(), x); err != nil {
		t.Fatalf("sign: %v", err)
	}
	return x
}

func hexSHA256(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// TC3-HMAC-SHA256 (Tencent Cloud API 3.0), GET with an empty payload: a key chain of three
// derived keys, then the signature. Chain 4 keeps kDate, kService and kSigning handles. (The
// POST form, reading the body as sent with reqBody.raw(), is examples/scripts/tc3.js, run
// against Tencent's published example by internal/cli TestSignProviderScripts.)
const tc3Script = `function (reqHeaders, reqParams, reqBody, AppKey) {
  var ts = Math.floor(now() / 1000), date = new Date(now()).toISOString().slice(0, 10);
  var service = "cvm", scope = date + "/" + service + "/tc3_request";
  reqHeaders.set("Content-Type", "application/json");
  var canonical = "GET\n/\n" + reqHeaders.getURI().split("?")[1] + "\n" +
    "content-type:application/json\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n" + sha256("");
  var sts = "TC3-HMAC-SHA256\n" + ts + "\n" + scope + "\n" + sha256(canonical);
  var k = hmac_sha256_bytes("TC3" + secret("tc3_key"), date);
  k = hmac_sha256_bytes(k, service);
  k = hmac_sha256_bytes(k, "tc3_request");
  reqHeaders.set("Authorization", "TC3-HMAC-SHA256 Credential=" + AppKey + "/" + scope +
    ", SignedHeaders=content-type;host, Signature=" + hmac_sha256(k, sts));
  reqHeaders.set("X-TC-Timestamp", String(ts));
}`

func TestTC3(t *testing.T) {
	x := runProvider(t, tc3Script, map[string]config.ScriptSecret{"tc3_key": {Role: "hmac_key", Chain: 4}}, "GET", "/?Action=DescribeInstances&Limit=1")
	date, ts := pinned.Format("2006-01-02"), pinned.Unix()
	canonical := "GET\n/\nAction=DescribeInstances&Limit=1\ncontent-type:application/json\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n" + hexSHA256("")
	sts := fmt.Sprintf("TC3-HMAC-SHA256\n%d\n%s/cvm/tc3_request\n%s", ts, date, hexSHA256(canonical))
	k := hmacSHA256([]byte("TC3"+testSecrets["tc3_key"]), date)
	k = hmacSHA256(k, "cvm")
	k = hmacSHA256(k, "tc3_request")
	want := "TC3-HMAC-SHA256 Credential=demo-app/" + date + "/cvm/tc3_request, SignedHeaders=content-type;host, Signature=" + hex.EncodeToString(hmacSHA256(k, sts))
	if got := x.Request.Header.Get("Authorization"); got != want {
		t.Fatalf("Authorization\n got %s\nwant %s", got, want)
	}
	checkNoSecret(t, [][]byte{[]byte(headerText(x.Request.Header)), []byte(x.Request.Path)}, k)
}

// ACS3-HMAC-SHA256 (Alibaba Cloud V3 signature), GET with an empty payload.
const acs3Script = `function (reqHeaders, reqParams, reqBody, AppKey) {
  var date = new Date(now()).toISOString().replace(/\.\d+Z$/, "Z"), n = nonce();
  var payload = sha256("");
  var q = reqHeaders.getURI().split("?")[1].split("&").sort().join("&");
  var h = {"host": "ecs.aliyuncs.com", "x-acs-action": "DescribeRegions", "x-acs-content-sha256": payload,
    "x-acs-date": date, "x-acs-signature-nonce": n, "x-acs-version": "2014-05-26"};
  var names = sort_keys(h), canonHeaders = "";
  for (var i = 0; i < names.length; i++) {
    canonHeaders += names[i] + ":" + h[names[i]] + "\n";
    if (names[i] != "host") reqHeaders.set(names[i], h[names[i]]);
  }
  var signed = names.join(";");
  var canonical = "GET\n/\n" + q + "\n" + canonHeaders + "\n" + signed + "\n" + payload;
  var sig = hmac_sha256(secret("acs_secret"), "ACS3-HMAC-SHA256\n" + sha256(canonical));
  reqHeaders.set("Authorization", "ACS3-HMAC-SHA256 Credential=" + AppKey + ",SignedHeaders=" + signed + ",Signature=" + sig);
}`

func TestACS3(t *testing.T) {
	x := runProvider(t, acs3Script, nil, "GET", "/?RegionId=cn-hangzhou&AcceptLanguage=en")
	date := pinned.Format("2006-01-02T15:04:05Z")
	nonce := "a1b2c3d4e5f60718293a4b5c6d7e8f90"
	canonHeaders := "host:ecs.aliyuncs.com\nx-acs-action:DescribeRegions\nx-acs-content-sha256:" + hexSHA256("") +
		"\nx-acs-date:" + date + "\nx-acs-signature-nonce:" + nonce + "\nx-acs-version:2014-05-26\n"
	signed := "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
	canonical := "GET\n/\nAcceptLanguage=en&RegionId=cn-hangzhou\n" + canonHeaders + "\n" + signed + "\n" + hexSHA256("")
	sig := hex.EncodeToString(hmacSHA256([]byte(testSecrets["acs_secret"]), "ACS3-HMAC-SHA256\n"+hexSHA256(canonical)))
	want := "ACS3-HMAC-SHA256 Credential=demo-app,SignedHeaders=" + signed + ",Signature=" + sig
	if got := x.Request.Header.Get("Authorization"); got != want {
		t.Fatalf("Authorization\n got %s\nwant %s", got, want)
	}
	checkNoSecret(t, [][]byte{[]byte(headerText(x.Request.Header))})
}

// Aliyun RPC v1: HMAC-SHA1 keyed with AccessKeySecret + "&" over
// GET&%2F&percentEncode(sorted query), base64, as the Signature parameter.
const aliyunRPCScript = `function (reqHeaders, reqParams, reqBody, AppKey) {
  reqParams.set("AccessKeyId", AppKey);
  reqParams.set("SignatureMethod", "HMAC-SHA1");
  reqParams.set("SignatureNonce", nonce());
  reqParams.set("Timestamp", new Date(now()).toISOString().replace(/\.\d+Z$/, "Z"));
  var pairs = reqHeaders.getURI().split("?")[1].split("&").map(function (p) {
    var kv = p.split("="); return [decodeURIComponent(kv[0]), decodeURIComponent(kv[1] || "")];
  });
  pairs.sort(function (a, b) { return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0; });
  var canon = pairs.map(function (p) { return url_encode(p[0]) + "=" + url_encode(p[1]); }).join("&");
  var sts = "GET&" + url_encode("/") + "&" + url_encode(canon);
  reqParams.set("Signature", hmac_sha1_base64(secret("ali_secret") + "&", sts));
}`

func TestAliyunRPCv1(t *testing.T) {
	x := runProvider(t, aliyunRPCScript, nil, "GET", "/?Action=DescribeRegions&Version=2014-05-26&Format=JSON")
	q, _ := url.ParseQuery(strings.SplitN(x.Request.Path, "?", 2)[1])
	sig := q.Get("Signature")
	q.Del("Signature")
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, signer.URIEncode(k, true)+"="+signer.URIEncode(q.Get(k), true))
	}
	sts := "GET&%2F&" + signer.URIEncode(strings.Join(parts, "&"), true)
	m := hmac.New(sha1.New, []byte(testSecrets["ali_secret"]+"&"))
	m.Write([]byte(sts))
	if want := base64.StdEncoding.EncodeToString(m.Sum(nil)); sig != want || q.Get("Timestamp") != "2024-01-02T03:04:05Z" {
		t.Fatalf("Signature %s, want %s (query %s)", sig, want, x.Request.Path)
	}
	checkNoSecret(t, [][]byte{[]byte(x.Request.Path)})
}

// Amap (Gaode) web service: sig = md5(sorted "k=v" pairs joined by & + private key).
const amapScript = `function (reqHeaders, reqParams, reqBody, AppKey) {
  reqParams.set("key", AppKey);
  var q = reqHeaders.getURI().split("?")[1].split("&").sort().map(decodeURIComponent).join("&");
  reqParams.set("sig", md5(q + secret("amap_key")));
}`

func TestAmap(t *testing.T) {
	x := runProvider(t, amapScript, map[string]config.ScriptSecret{"amap_key": {Role: "sign_string"}}, "GET", "/v3/geocode/geo?address=beijing&city=010")
	sum := md5.Sum([]byte("address=beijing&city=010&key=demo-app" + testSecrets["amap_key"]))
	if want := "/v3/geocode/geo?address=beijing&city=010&key=demo-app&sig=" + hex.EncodeToString(sum[:]); x.Request.Path != want {
		t.Fatalf("path\n got %s\nwant %s", x.Request.Path, want)
	}
	checkNoSecret(t, [][]byte{[]byte(x.Request.Path)})
}

// Baidu Maps sn: md5(quote_plus(path + "?" + query + sk, safe)), Python's quote_plus with the
// documented safe set. Quoting is per character, so the script quotes its plain part itself
// and the secret through url_encode (whose result stays a sign string handle).
const baiduScript = `function (reqHeaders, reqParams, reqBody, AppKey) {
  reqParams.set("ak", AppKey);
  var safe = "/:=&?#+!$,;'@()*[]";
  function quote(s) {
    var out = "", b = new Uint8Array(hex_decode(hex_encode(s)));
    for (var i = 0; i < b.length; i++) {
      var c = String.fromCharCode(b[i]);
      if (/[A-Za-z0-9_.~-]/.test(c) || (b[i] < 128 && safe.indexOf(c) >= 0)) out += c;
      else if (c == " ") out += "+";
      else out += "%" + (b[i] < 16 ? "0" : "") + b[i].toString(16).toUpperCase();
    }
    return out;
  }
  reqParams.set("sn", md5(quote(reqHeaders.getURI()) + url_encode(secret("baidu_sk"))));
}`

func TestBaiduSN(t *testing.T) {
	x := runProvider(t, baiduScript, nil, "GET", "/geocoder/v2/?address=%E7%99%BE%E5%BA%A6%E5%A4%A7%E5%8E%A6&output=json")
	raw := "/geocoder/v2/?address=%E7%99%BE%E5%BA%A6%E5%A4%A7%E5%8E%A6&output=json&ak=demo-app"
	sum := md5.Sum([]byte(quotePlus(raw) + testSecrets["baidu_sk"]))
	if want := raw + "&sn=" + hex.EncodeToString(sum[:]); x.Request.Path != want {
		t.Fatalf("path\n got %s\nwant %s", x.Request.Path, want)
	}
	checkNoSecret(t, [][]byte{[]byte(x.Request.Path)})
}

// quotePlus is Python's urllib.parse.quote_plus(s, safe="/:=&?#+!$,;'@()*[]").
func quotePlus(s string) string {
	const safe = "/:=&?#+!$,;'@()*[]"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', strings.IndexByte("_.-~", c) >= 0, strings.IndexByte(safe, c) >= 0:
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
