// Package callbacks drives providers' callbacks (payment notifications) through the ingress
// listener: keygate verifies and decrypts them, and only genuine ones reach the service
// (docs/callbacks.md).
package callbacks

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/devstack"
)

const notifyHost = "wxpay-notify.pay.local"

// apiv3Key is the merchant's APIv3 key (32 bytes), generated per run.
var apiv3Key = func() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}()

type platform struct {
	serial string
	key    *rsa.PrivateKey
}

func newPlatform(t *testing.T, serial string) platform {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return platform{serial, k}
}

func (p platform) publicPEM(t *testing.T) string {
	der, err := x509.MarshalPKIXPublicKey(&p.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// service is the merchant's own notify endpoint: it records what reaches it and answers as
// WeChat Pay's documentation says a merchant answers.
type service struct {
	// reply and replyType are the merchant's answer; WeChat Pay's when empty.
	reply, replyType string

	mu  sync.Mutex
	got []delivered
}

type delivered struct {
	header http.Header
	body   []byte
}

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.got = append(s.got, delivered{r.Header.Clone(), b})
	s.mu.Unlock()
	if s.reply == "" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"code":"SUCCESS","message":"成功"}`)
		return
	}
	w.Header().Set("Content-Type", s.replyType)
	_, _ = io.WriteString(w, s.reply)
}

func (s *service) deliveries() []delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivered(nil), s.got...)
}

func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+pad)
}

func startWechatStack(t *testing.T, svcURL string, old, cur platform) *devstack.Stack {
	t.Helper()
	return startStackWith(t, `
  - name: wechatpay
    hosts: [wechatpay.egress.local]
    upstream: {url: `+svcURL+`/egress}
    secrets: {apiv3_key: secret/keygate/wechatpay#apiv3_key}
    signing:
      - {scheme: static, secret: apiv3_key, in: header, name: X-Unused}
`+wechatNotifyProvider(t, svcURL, old, cur))
}

// wechatNotifyProvider is the WeChat Pay callback provider trusting platforms' keys, delivering
// to svcURL/notify/wechatpay, as a providers list item.
func wechatNotifyProvider(t *testing.T, svcURL string, platforms ...platform) string {
	p := `  - name: wechatpay-notify
    callback: true
    hosts: [` + notifyHost + `]
    upstream: {url: ` + svcURL + `/notify/wechatpay, timeout: 5s}
    secrets:
      apiv3_key: secret/keygate/wechatpay#apiv3_key
    signing:
      - scheme: wechatpay_v3_callback
        apiv3_key: apiv3_key
        platform_keys:
`
	for _, pl := range platforms {
		p += `          - serial: ` + pl.serial + `
            public_key: |
              ` + indent(pl.publicPEM(t), 14) + "\n"
	}
	return p
}

// startStackWith starts keygate, the xDS server and the emulated Envoy on a config whose
// providers are the given list items (the file keystore holding the APIv3 key), with the
// ingress listener up.
func startStackWith(t *testing.T, providers string, top ...string) *devstack.Stack {
	t.Helper()
	cfg := "keystore:\n  type: file\n  file: {path: keys.yaml}\n" + strings.Join(top, "") + "providers:\n" + providers
	keys := "secret/keygate/wechatpay:\n  apiv3_key: \"" + apiv3Key + "\"\n"
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

// transaction is the decrypted resource of a TRANSACTION.SUCCESS notification, in the shape of
// WeChat Pay's published example.
const transaction = `{"mchid":"1900009191","appid":"wxd678efh567hg6787","out_trade_no":"1217752501201407033233368018",` +
	`"transaction_id":"1217752501201407033233368018","trade_type":"JSAPI","trade_state":"SUCCESS",` +
	`"trade_state_desc":"支付成功","bank_type":"CMC","success_time":"2018-06-08T10:34:56+08:00",` +
	`"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"amount":{"total":100,"payer_total":100,"currency":"CNY","payer_currency":"CNY"}}`

// notification encrypts plaintext with key (AEAD_AES_256_GCM, nonce and associated data as
// their bytes) into WeChat Pay's published notification body.
func notification(t *testing.T, key, plaintext string) []byte {
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := cipher.NewGCMWithNonceSize(block, 12)
	nonce := randText(12)
	ct := g.Seal(nil, []byte(nonce), []byte(plaintext), []byte("transaction"))
	body, _ := json.Marshal(map[string]any{
		"id": "EV-2018022511223320873", "create_time": "2015-05-20T13:29:35+08:00",
		"resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
		"resource": map[string]string{"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": base64.StdEncoding.EncodeToString(ct), "associated_data": "transaction", "nonce": nonce},
	})
	return body
}

func randText(n int) string {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

// callback is one notification as WeChat Pay sends it: body and the Wechatpay-* headers.
type callback struct {
	body   []byte
	header [][2]string // in order, names as written
}

func signed(t *testing.T, p platform, body []byte, ts time.Time) callback {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	nonce := randText(32)
	sum := sha256.Sum256([]byte(stamp + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return callback{body: body, header: [][2]string{
		{"Wechatpay-Serial", p.serial}, {"Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig)},
		{"Wechatpay-Timestamp", stamp}, {"Wechatpay-Nonce", nonce},
		{"Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048"},
	}}
}

func (c callback) with(name, value string) callback {
	out := callback{body: c.body}
	for _, h := range c.header {
		if h[0] == name {
			h[1] = value
		}
		out.header = append(out.header, h)
	}
	return out
}

func (c callback) plus(name, value string) callback {
	out := callback{body: c.body, header: append([][2]string(nil), c.header...)}
	out.header = append(out.header, [2]string{name, value})
	return out
}

// roundTrip sends req and returns the status and the body as text.
func roundTrip(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, base string, c callback) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/", strings.NewReader(string(c.body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = notifyHost
	req.Header.Set("Content-Type", "application/json")
	for _, h := range c.header {
		req.Header[h[0]] = append(req.Header[h[0]], h[1]) // as written: no canonicalization
	}
	return roundTrip(t, req)
}

func TestWechatPayCallback(t *testing.T) {
	svc := &service{}
	up := httptest.NewServer(svc)
	defer up.Close()
	old, cur, stranger := newPlatform(t, "5157F09EFDC096DE15EBE81A47057A72"), newPlatform(t, "PUB_KEY_ID_0114232134912410000000000000"), newPlatform(t, "5157F09EFDC096DE15EBE81A47057A72")
	s := startWechatStack(t, up.URL, old, cur)
	now := time.Now()

	// Genuine notifications, signed with the old and the new platform key (a rotation).
	for _, p := range []platform{old, cur} {
		status, body := post(t, s.IngressURL, signed(t, p, notification(t, apiv3Key, transaction), now))
		if status != 200 || body != `{"code":"SUCCESS","message":"成功"}` {
			t.Fatalf("genuine callback (%s): %d %s; the service's answer must pass unchanged", p.serial, status, body)
		}
	}
	got := svc.deliveries()
	if len(got) != 2 {
		t.Fatalf("service got %d callbacks, want 2", len(got))
	}
	for i, d := range got {
		var n struct {
			EventType string          `json:"event_type"`
			Resource  json.RawMessage `json:"resource"`
		}
		if err := json.Unmarshal(d.body, &n); err != nil || n.EventType != "TRANSACTION.SUCCESS" || string(n.Resource) != transaction {
			t.Fatalf("delivery %d is not the decrypted notification: %s", i, d.body)
		}
		serial := []string{old.serial, cur.serial}[i]
		want := "provider=wechatpay-notify; scheme=wechatpay_v3; platform_serial=" + serial + "; apiv3_key_version="
		if h := d.header.Get("X-Keygate-Callback"); h != want {
			t.Fatalf("delivery %d X-Keygate-Callback = %q, want %q", i, h, want)
		}
		if d.header.Get("Wechatpay-Signature") != "" {
			t.Fatalf("delivery %d still carries WeChat Pay's signature headers", i)
		}
	}

	genuine := signed(t, cur, notification(t, apiv3Key, transaction), now)
	if status, _ := post(t, s.IngressURL, genuine); status != 200 {
		t.Fatalf("genuine callback: %d", status)
	}
	tampered := signed(t, cur, notification(t, apiv3Key, transaction), now)
	tampered.body = []byte(strings.Replace(string(tampered.body), "TRANSACTION.SUCCESS", "REFUND.SUCCESS", 1))
	other := signed(t, cur, notification(t, apiv3Key, transaction), now)
	attacks := map[string]callback{
		"replayed":                   genuine,
		"forged (another key)":       signed(t, stranger, notification(t, apiv3Key, transaction), now),
		"wrong serial":               signed(t, platform{"0000000000000000000000000000DEAD", cur.key}, notification(t, apiv3Key, transaction), now),
		"expired timestamp":          signed(t, cur, notification(t, apiv3Key, transaction), now.Add(-10*time.Minute)),
		"timestamp from the future":  signed(t, cur, notification(t, apiv3Key, transaction), now.Add(10*time.Minute)),
		"body tampered":              tampered,
		"no signature":               callback{body: notification(t, apiv3Key, transaction)},
		"duplicate signature header": other.plus("Wechatpay-Signature", "AAAA"),
		"case-variant duplicate":     signed(t, cur, notification(t, apiv3Key, transaction), now).plus("wEchatpay-sIgnature", "AAAA"),
		"spoofed keygate header":     signed(t, cur, notification(t, apiv3Key, transaction), now).plus("X-Keygate-Callback", "provider=wechatpay-notify"),
		// Envoy forwards underscores (headers_with_underscores_action ALLOW); WSGI, Rack and PHP
		// read this as X-Keygate-Callback.
		"spoofed with underscores":    signed(t, cur, notification(t, apiv3Key, transaction), now).plus("x_keygate_callback", "provider=wechatpay-notify"),
		"wrong APIv3 key":             signed(t, cur, notification(t, strings.Repeat("k", 32), transaction), now),
		"serial of one, key of other": signed(t, platform{old.serial, cur.key}, notification(t, apiv3Key, transaction), now),
		"signature type downgrade":    signed(t, cur, notification(t, apiv3Key, transaction), now).with("Wechatpay-Signature-Type", "WECHATPAY2-SM2-WITH-SM3"),
		"WeChat's signature probe":    signed(t, cur, notification(t, apiv3Key, transaction), now).with("Wechatpay-Signature", "WECHATPAY/SIGNTEST/"+base64.StdEncoding.EncodeToString([]byte("x"))),
	}
	for name, c := range attacks {
		status, body := post(t, s.IngressURL, c)
		var fail struct{ Code string }
		if status < 400 || json.Unmarshal([]byte(body), &fail) != nil || fail.Code != "FAIL" {
			t.Errorf("%s: %d %s, want WeChat Pay's failure answer (4XX/5XX, code FAIL)", name, status, body)
		}
	}
	// A genuine callback sent to the egress listener finds no route: callbacks are ingress only.
	req, _ := http.NewRequest("POST", s.EgressURL+"/", strings.NewReader(string(genuine.body)))
	req.Host = notifyHost
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 404 {
		t.Errorf("callback through the egress: %v %v, want 404", err, resp)
	}
	// And an egress request sent to the ingress (from the internet) finds no route either: the
	// ingress routes only callbacks, so nothing keygate might sign there leaves.
	req, _ = http.NewRequest("POST", s.IngressURL+"/", strings.NewReader(`{}`))
	req.Host = "wechatpay.egress.local"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 404 {
		t.Errorf("egress host through the ingress: %v %v, want 404", err, resp)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), apiv3Key) || strings.Contains(fmt.Sprint(resp.Header), apiv3Key) {
			t.Error("the egress provider's secret came back to the internet caller")
		}
	}
	if n := len(svc.deliveries()); n != 3 {
		t.Fatalf("forged callbacks delivered: service got %d callbacks, want the 3 genuine ones", n)
	}
}
