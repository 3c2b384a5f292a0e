package faults

import (
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
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Callback faults (docs/callbacks.md): what the internet sends to the ingress listener claiming
// to be WeChat Pay or Alipay. The service behind it counts every delivery that is not a
// genuine notification seen for the first time: that count is the table's "forged" column.

const (
	wechatNotifyHost = "wxpay-notify.faults.local"
	alipayNotifyHost = "alipay-notify.faults.local"
	platformSerial   = "5157F09EFDC096DE15EBE81A47057A72"
	faultsAlipayApp  = "2015102700040153"
	genuineMark      = "GENUINE-"
)

// callbackKeys are a run's provider-side keys: WeChat Pay's platform key and Alipay's key,
// which sign the notifications, and a stranger's, which forges them.
type callbackKeys struct {
	platform, alipay, stranger *rsa.PrivateKey
}

func newCallbackKeys(t *testing.T) callbackKeys {
	gen := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	return callbackKeys{gen(), gen(), gen()}
}

func publicPEM(t *testing.T, k *rsa.PrivateKey, indent string) string {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	return strings.ReplaceAll(text, "\n", "\n"+indent)
}

// callbackProviders are the two callback providers, delivering to service.
func callbackProviders(t *testing.T, k callbackKeys, service string) string {
	return `
  - name: wechatpay-notify
    callback: true
    hosts: [` + wechatNotifyHost + `]
    upstream: {url: "` + service + `/notify/wechatpay"}
    secrets: {apiv3_key: secret/faults/wechatpay#apiv3_key}
    signing:
      - scheme: wechatpay_v3_callback
        apiv3_key: apiv3_key
        platform_keys:
          - serial: ` + platformSerial + `
            public_key: |
              ` + publicPEM(t, k.platform, "              ") + `
  - name: alipay-notify
    callback: true
    hosts: [` + alipayNotifyHost + `]
    upstream: {url: "` + service + `/notify/alipay"}
    signing:
      - scheme: alipay_rsa2_callback
        app_id: "` + faultsAlipayApp + `"
        alipay_public_key: |
          ` + publicPEM(t, k.alipay, "          ") + `
`
}

// notifyService is the merchant's notify endpoint: a delivery is genuine only if keygate
// vouched for it and its trade number is a genuine one not delivered before.
func notifyService(t *testing.T) *upstream {
	var mu sync.Mutex
	seen := map[string]bool{}
	return newUpstream(t, &upstream{guards: guardCallback, credential: func(r *http.Request) credential {
		if !strings.HasPrefix(r.Header.Get("X-Keygate-Callback"), "provider=") {
			return credential{}
		}
		trade := deliveredTrade(r)
		mu.Lock()
		defer mu.Unlock()
		if !strings.HasPrefix(trade, genuineMark) || seen[trade] {
			return credential{}
		}
		seen[trade] = true
		return credential{known: true, valid: true}
	}})
}

// deliveredTrade reads out_trade_no from a delivery: WeChat Pay's in the decrypted resource,
// Alipay's at the top level.
func deliveredTrade(r *http.Request) string {
	var n struct {
		OutTradeNo string `json:"out_trade_no"`
		Resource   struct {
			OutTradeNo string `json:"out_trade_no"`
		} `json:"resource"`
	}
	if json.NewDecoder(r.Body).Decode(&n) != nil {
		return ""
	}
	if n.Resource.OutTradeNo != "" {
		return n.Resource.OutTradeNo
	}
	return n.OutTradeNo
}

// wechatCallback builds WeChat Pay's notification for trade, encrypted with the APIv3 key and
// signed by key under serial at ts.
func wechatCallback(t *testing.T, s Secrets, key *rsa.PrivateKey, serial, trade string, ts time.Time) (http.Header, string) {
	block, err := aes.NewCipher([]byte(s.APIv3Key))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := cipher.NewGCM(block)
	nonce := randomText(12)
	plain := `{"mchid":"1900009191","out_trade_no":"` + trade + `","trade_state":"SUCCESS","amount":{"total":100}}`
	body, _ := json.Marshal(map[string]any{"id": "EV-" + randomText(8), "event_type": "TRANSACTION.SUCCESS",
		"resource_type": "encrypt-resource", "resource": map[string]string{"algorithm": "AEAD_AES_256_GCM",
			"ciphertext":      base64.StdEncoding.EncodeToString(g.Seal(nil, []byte(nonce), []byte(plain), []byte("transaction"))),
			"associated_data": "transaction", "nonce": nonce}})
	stamp, callNonce := strconv.FormatInt(ts.Unix(), 10), randomText(32)
	sum := sha256.Sum256([]byte(stamp + "\n" + callNonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Wechatpay-Serial", serial)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("Wechatpay-Timestamp", stamp)
	h.Set("Wechatpay-Nonce", callNonce)
	return h, string(body)
}

// alipayCallback is Alipay's notification for trade signed by key: the documented RSA2 over
// the sorted parameters without sign and sign_type.
func alipayCallback(t *testing.T, key *rsa.PrivateKey, trade string) string {
	v := url.Values{"app_id": {faultsAlipayApp}, "out_trade_no": {trade}, "trade_status": {"TRADE_SUCCESS"},
		"total_amount": {"2.00"}, "notify_id": {randomText(20)}, "notify_type": {"trade_status_sync"}, "charset": {"utf-8"}}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k+"="+v.Get(k))
	}
	sort.Strings(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "&")))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	v.Set("sign", base64.StdEncoding.EncodeToString(sig))
	v.Set("sign_type", "RSA2")
	return v.Encode()
}

// callbackWorld starts keygate with the callback providers, the egress (unused by callers)
// and the ingress; it returns the ingress URL.
func callbackWorld(t *testing.T, e *env, r *record) (string, callbackKeys) {
	k := newCallbackKeys(t)
	svc := r.watch(notifyService(t))
	up := r.watch(verifyingUpstream(t, e.s, nil, 0))
	loaded := loadConfig(t, writeConfig(t, e.s, setup{upstream: up, providers: callbackProviders(t, k, svc.URL())}))
	kg := startKeygate(t, newApp(t, loaded, e.log), loaded, "127.0.0.1:0", e.log)
	return startIngress(t, loaded.File, kg.addr, e.log), k
}

func postCallback(c *caller, ingress, host string, h http.Header, body string) int {
	req, err := http.NewRequest(http.MethodPost, ingress+"/", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Host = host
	for name, vals := range h {
		req.Header[name] = vals
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return c.do(req)
}

// forgedCallback: WeChat Pay notifications signed by a stranger's key under the platform's
// serial, and with the body changed after signing; Alipay notifications signed by a stranger
// and with the amount changed. All get the provider's failure answer (401); none is delivered.
func forgedCallback(t *testing.T, e *env, r *record) {
	ingress, k := callbackWorld(t, e, r)
	r.caller = newCaller(ingress)
	for i := range 5 {
		h, body := wechatCallback(t, e.s, k.stranger, platformSerial, "FORGED-"+strconv.Itoa(i), time.Now())
		postCallback(r.caller, ingress, wechatNotifyHost, h, body)
		h, body = wechatCallback(t, e.s, k.platform, platformSerial, "TAMPERED-"+strconv.Itoa(i), time.Now())
		postCallback(r.caller, ingress, wechatNotifyHost, h, strings.Replace(body, "TRANSACTION.SUCCESS", "REFUND.SUCCESS", 1))
		postCallback(r.caller, ingress, alipayNotifyHost, nil, alipayCallback(t, k.stranger, "FORGED-ali-"+strconv.Itoa(i)))
		tampered := alipayCallback(t, k.alipay, "TAMPERED-ali-"+strconv.Itoa(i))
		postCallback(r.caller, ingress, alipayNotifyHost, nil, strings.Replace(tampered, "total_amount=2.00", "total_amount=2000.00", 1))
	}
	wantOnly(t, r.caller, http.StatusUnauthorized)
	r.note("WeChat Pay answers {\"code\":\"FAIL\"}, Alipay answers failure; both retry later")
}

// replayedCallback: one genuine WeChat Pay notification is delivered; the same bytes sent
// again (an attacker who captured it) are refused by the replay guard (403).
func replayedCallback(t *testing.T, e *env, r *record) {
	ingress, k := callbackWorld(t, e, r)
	r.caller = newCaller(ingress)
	h, body := wechatCallback(t, e.s, k.platform, platformSerial, genuineMark+"replayed", time.Now())
	if postCallback(r.caller, ingress, wechatNotifyHost, h, body) != http.StatusOK {
		t.Fatal("the genuine notification was not delivered")
	}
	for range 10 {
		postCallback(r.caller, ingress, wechatNotifyHost, h, body)
	}
	_, got := r.caller.snapshot()
	if got["200"] != 1 || got["403"] != 10 {
		t.Errorf("callers got %v, want 200 x1 (the genuine one) and 403 x10 (its replays)", got)
	}
}

// expiredCallback: genuinely signed notifications whose Wechatpay-Timestamp is 10 minutes old
// or ahead (the window is 5 minutes) are refused (401).
func expiredCallback(t *testing.T, e *env, r *record) {
	ingress, k := callbackWorld(t, e, r)
	r.caller = newCaller(ingress)
	for i := range 10 {
		skew := 10 * time.Minute
		if i%2 == 1 {
			skew = -skew
		}
		h, body := wechatCallback(t, e.s, k.platform, platformSerial, "STALE-"+strconv.Itoa(i), time.Now().Add(-skew))
		postCallback(r.caller, ingress, wechatNotifyHost, h, body)
	}
	wantOnly(t, r.caller, http.StatusUnauthorized)
}

// wrongSerialCallback: notifications signed by the real platform key but naming a serial that
// is not configured (a retired or invented platform certificate) are refused (401).
func wrongSerialCallback(t *testing.T, e *env, r *record) {
	ingress, k := callbackWorld(t, e, r)
	r.caller = newCaller(ingress)
	for i := range 10 {
		h, body := wechatCallback(t, e.s, k.platform, "0000000000000000000000000000DEAD", "WRONGSERIAL-"+strconv.Itoa(i), time.Now())
		postCallback(r.caller, ingress, wechatNotifyHost, h, body)
	}
	wantOnly(t, r.caller, http.StatusUnauthorized)
}
