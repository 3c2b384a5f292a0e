package callbacks

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/devstack"
)

const (
	alipayNotifyHost = "alipay-notify.pay.local"
	alipayAppID      = "2015102700040153"
)

// alipayExample is the notification of Alipay's published example (opendocs "异步通知说明",
// app payment): the parameters Alipay POSTs to notify_url, before sign and sign_type.
var alipayExample = [][2]string{
	{"total_amount", "2.00"}, {"buyer_id", "2088102116773037"}, {"body", "大乐透2.1"},
	{"trade_no", "2016071921001003030200089909"}, {"refund_fee", "0.00"}, {"notify_time", "2016-07-19 14:10:49"},
	{"subject", "大乐透2.1"}, {"charset", "utf-8"}, {"notify_type", "trade_status_sync"},
	{"out_trade_no", "0719141034-6418"}, {"gmt_close", "2016-07-19 14:10:46"}, {"gmt_payment", "2016-07-19 14:10:47"},
	{"trade_status", "TRADE_SUCCESS"}, {"version", "1.0"}, {"gmt_create", "2016-07-19 14:10:44"},
	{"app_id", alipayAppID}, {"seller_id", "2088102119685838"}, {"notify_id", "4a91b7a78a503640467525113fb7d8bg8e"},
	{"fund_bill_list", `[{"amount":"2.00","fundChannel":"ALIPAYACCOUNT"}]`},
}

// alipaySign is Alipay's signature, written from its documentation independently of keygate's
// code: drop sign and sign_type and empty values, sort by name, name=value joined by "&" with
// the values decoded, SHA256withRSA, base64.
func alipaySign(t *testing.T, key *rsa.PrivateKey, params [][2]string) string {
	var kv []string
	for _, p := range params {
		if p[0] != "sign" && p[0] != "sign_type" && p[1] != "" {
			kv = append(kv, p[0]+"="+p[1])
		}
	}
	sort.Strings(kv)
	sum := sha256.Sum256([]byte(strings.Join(kv, "&")))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// alipayNotify is a notification signed by key, with sign_type RSA2, as Alipay sends it.
func alipayNotify(t *testing.T, key *rsa.PrivateKey, params [][2]string) [][2]string {
	out := append([][2]string(nil), params...)
	return append(out, [2]string{"sign", alipaySign(t, key, params)}, [2]string{"sign_type", "RSA2"})
}

// encodeForm keeps the order and repeats as given (url.Values would sort and merge them).
func encodeForm(params [][2]string) string {
	parts := make([]string, len(params))
	for i, p := range params {
		parts[i] = url.QueryEscape(p[0]) + "=" + url.QueryEscape(p[1])
	}
	return strings.Join(parts, "&")
}

func replaced(params [][2]string, name, value string) [][2]string {
	out := append([][2]string(nil), params...)
	for i := range out {
		if out[i][0] == name {
			out[i][1] = value
		}
	}
	return out
}

func without(params [][2]string, name string) [][2]string {
	var out [][2]string
	for _, p := range params {
		if p[0] != name {
			out = append(out, p)
		}
	}
	return out
}

func startAlipayStack(t *testing.T, svcURL string, alipay platform) *devstack.Stack {
	t.Helper()
	cfg := `
keystore:
  type: file
  file: {path: keys.yaml}
providers:
  - name: alipay-notify
    callback: true
    hosts: [` + alipayNotifyHost + `]
    upstream: {url: ` + svcURL + `/notify/alipay, timeout: 5s}
    secrets:
      alipay_public_key: secret/keygate/alipay#alipay_public_key
    signing:
      - scheme: alipay_rsa2_callback
        app_id: "` + alipayAppID + `"
        alipay_public_key: alipay_public_key
`
	keys := "secret/keygate/alipay:\n  alipay_public_key: |\n    " + indent(alipay.publicPEM(t), 4) + "\n"
	dir := t.TempDir()
	for name, data := range map[string]string{"keygate.yaml": cfg, "keys.yaml": keys} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := devstack.Start(context.Background(), devstack.Options{ConfigDir: dir})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(s.Close)
	if s.IngressURL == "" {
		t.Fatal("no ingress listener")
	}
	return s
}

type alipayPost struct {
	method, path, contentType, body string
	extra                           [][2]string // headers
}

func postAlipay(t *testing.T, base string, p alipayPost) (int, string) {
	t.Helper()
	if p.method == "" {
		p.method = "POST"
	}
	if p.path == "" {
		p.path = "/"
	}
	if p.contentType == "" {
		p.contentType = "application/x-www-form-urlencoded; charset=utf-8"
	}
	req, err := http.NewRequest(p.method, base+p.path, strings.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = alipayNotifyHost
	req.Header.Set("Content-Type", p.contentType)
	for _, h := range p.extra {
		req.Header.Add(h[0], h[1])
	}
	return roundTrip(t, req)
}

func TestAlipayCallback(t *testing.T) {
	svc := &service{reply: "success", replyType: "text/plain;charset=utf-8"}
	up := httptest.NewServer(svc)
	defer up.Close()
	alipay, stranger := newPlatform(t, "alipay"), newPlatform(t, "stranger")
	s := startAlipayStack(t, up.URL, alipay)

	genuine := encodeForm(alipayNotify(t, alipay.key, alipayExample))
	status, body := postAlipay(t, s.IngressURL, alipayPost{body: genuine})
	if status != 200 || body != "success" {
		t.Fatalf("genuine notification: %d %q; the service's success must pass unchanged", status, body)
	}
	got := svc.deliveries()
	if len(got) != 1 {
		t.Fatalf("service got %d notifications, want 1", len(got))
	}
	var delivered map[string]string
	if err := json.Unmarshal(got[0].body, &delivered); err != nil {
		t.Fatalf("delivery is not a JSON object: %s", got[0].body)
	}
	if len(delivered) != len(alipayExample) {
		t.Errorf("delivered %d parameters, want the %d signed ones (sign and sign_type dropped): %v", len(delivered), len(alipayExample), delivered)
	}
	for _, p := range alipayExample {
		if delivered[p[0]] != p[1] {
			t.Errorf("delivered %s = %q, want %q", p[0], delivered[p[0]], p[1])
		}
	}
	want := "provider=alipay-notify; scheme=alipay_rsa2; app_id=" + alipayAppID + "; alipay_public_key_version="
	if h := got[0].header.Get("X-Keygate-Callback"); h != want {
		t.Errorf("X-Keygate-Callback = %q, want %q", h, want)
	}
	if ct := got[0].header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("delivered Content-Type %q, want application/json", ct)
	}

	signedForm := alipayNotify(t, alipay.key, alipayExample)
	otherApp := alipayNotify(t, alipay.key, replaced(alipayExample, "app_id", "2021000000000000"))
	gbk := alipayNotify(t, alipay.key, replaced(alipayExample, "charset", "GBK"))
	// Re-partitioning: the sign string joins decoded values with "&", so a parameter folded
	// into the value of the one sorted before it leaves the string, and the signature, intact.
	merged := without(replaced(signedForm, "trade_no", "2016071921001003030200089909&trade_status=TRADE_SUCCESS"), "trade_status")
	split := alipayNotify(t, alipay.key, replaced(alipayExample, "subject", "大乐透2.1&subject2=x"))
	attacks := map[string]alipayPost{
		"parameter folded into another": {body: encodeForm(merged)},
		"genuine value holding &name=":  {body: encodeForm(split)},
		"name holding =":                {body: genuine + "&a%3Db=c"},
		"forged (another key)":          {body: encodeForm(alipayNotify(t, stranger.key, alipayExample))},
		"tampered amount":               {body: encodeForm(replaced(signedForm, "total_amount", "2000.00"))},
		"tampered status":               {body: encodeForm(replaced(signedForm, "trade_status", "TRADE_FINISHED"))},
		"added unsigned parameter":      {body: encodeForm(append(signedForm, [2]string{"refund_fee", "2.00"}))},
		"added parameter":               {body: encodeForm(append(signedForm, [2]string{"discount", "2.00"}))},
		"missing sign":                  {body: encodeForm(without(signedForm, "sign"))},
		"empty sign":                    {body: encodeForm(replaced(signedForm, "sign", ""))},
		"sign_type RSA (SHA1)":          {body: encodeForm(replaced(signedForm, "sign_type", "RSA"))},
		"missing sign_type":             {body: encodeForm(without(signedForm, "sign_type"))},
		"duplicated sign":               {body: encodeForm(append(signedForm, [2]string{"sign", "AAAA"}))},
		"duplicated sign_type":          {body: encodeForm(append(signedForm, [2]string{"sign_type", "RSA2"}))},
		"duplicated out_trade_no":       {body: encodeForm(append(signedForm, [2]string{"out_trade_no", "other"}))},
		"non-UTF-8 value":               {body: genuine + "&x=%FF%FE"},
		"non-UTF-8 name":                {body: genuine + "&%C3%28=1"},
		"invalid form encoding":         {body: genuine + "&bad=%zz"},
		"another app's (genuine)":       {body: encodeForm(otherApp)},
		"GBK charset (signed)":          {body: encodeForm(gbk)},
		"GBK content type":              {body: genuine, contentType: "application/x-www-form-urlencoded; charset=GBK"},
		"JSON content type":             {body: genuine, contentType: "application/json"},
		"query beside the form":         {body: genuine, path: "/?trade_status=TRADE_SUCCESS"},
		"GET":                           {method: "GET", path: "/?" + genuine},
		"spoofed keygate header":        {body: genuine, extra: [][2]string{{"X-Keygate-Callback", "provider=alipay-notify"}}},
		"sign not base64":               {body: encodeForm(replaced(signedForm, "sign", "%%%"))},
		"WeChat-shaped callback":        {body: `{"resource":{}}`, contentType: "application/json"},
		"two Content-Type headers":      {body: genuine, extra: [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}}},
		"semicolon separator":           {body: strings.Replace(genuine, "&", ";", 1)},
		"sign moved to a new value":     {body: encodeForm(replaced(alipayNotify(t, alipay.key, replaced(alipayExample, "total_amount", "0.01")), "total_amount", "2.00"))},
	}
	for name, p := range attacks {
		status, body := postAlipay(t, s.IngressURL, p)
		if status < 400 || body != "failure" {
			t.Errorf("%s: %d %q, want Alipay's failure answer (failure)", name, status, body)
		}
	}
	if n := len(svc.deliveries()); n != 1 {
		t.Fatalf("forged notifications delivered: service got %d, want the 1 genuine one", n)
	}
}
