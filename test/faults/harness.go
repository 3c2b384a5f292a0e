package faults

import (
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/tenancy"
)

// Secrets are this run's key material, random so a leak scan can look for them and so nothing
// depends on a value written in the source.
type Secrets struct {
	APIKey, ClientSecret, AESKey, AESIV, Plaintext string
	// APIv3Key decrypts WeChat Pay callbacks; AWSSecret is the real AWS secret access key the
	// placeholder provider re-signs with (callback_faults.go, placeholder_faults.go).
	APIv3Key, AWSSecret string
}

// NewSecrets makes random ones.
func NewSecrets() Secrets {
	return Secrets{
		APIKey: "fk-api-" + randomText(20), ClientSecret: "fk-client-" + randomText(20),
		AESKey: randomText(16), AESIV: randomText(16), Plaintext: "PLAINTEXT-" + randomText(16),
		APIv3Key: randomText(32), AWSSecret: "fk-aws-" + randomText(33),
	}
}

const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func (s Secrets) keysYAML() string {
	return "secret/faults/static:\n  api_key: " + s.APIKey + "\n  aes_key: " + s.AESKey + "\n  aes_iv: " + s.AESIV +
		"\nsecret/faults/oauth:\n  client_secret: " + s.ClientSecret +
		"\nsecret/faults/wechatpay:\n  apiv3_key: " + s.APIv3Key +
		"\nsecret/faults/aws:\n  secret_access_key: " + s.AWSSecret + "\n"
}

// providersYAML are the providers every fault config holds: a static key with an encrypted
// field (plaintext must never leave), an OAuth2 two-step provider, and two scripts that fail.
// UPSTREAM and TOKENURL are replaced by the fault's servers.
const providersYAML = `
providers:
  - name: static
    hosts: [static.faults.local]
    upstream: {url: "UPSTREAM/api", timeout: ROUTETIMEOUT}
    secrets: {api_key: secret/faults/static#api_key, aes_key: secret/faults/static#aes_key, aes_iv: secret/faults/static#aes_iv}
    signing:
      - {scheme: aes_cbc, key: aes_key, iv: aes_iv, field: data}
      - {scheme: static, secret: api_key, in: header, name: X-Api-Key}
  - name: oauth
    hosts: [oauth.faults.local]
    upstream: {url: "UPSTREAM/api", timeout: ROUTETIMEOUT}
    secrets: {client_secret: secret/faults/oauth#client_secret}
    token:
      type: oauth2_client_credentials
      url: TOKENURL
      timeout: 300ms
      params: {client_id: faults, client_secret: client_secret}
    signing: [{scheme: token}]
  - name: loop
    hosts: [loop.faults.local]
    upstream: {url: "UPSTREAM/api"}
    script: {timeout: 50ms, inline: "function (reqHeaders, reqParams, reqBody) { for (;;) {} }"}
  - name: throws
    hosts: [throws.faults.local]
    upstream: {url: "UPSTREAM/api"}
    script: {inline: "function (reqHeaders, reqParams, reqBody) { throw new Error('provider script failed') }"}
  - name: bomb-fill
    hosts: [bomb-fill.faults.local]
    upstream: {url: "UPSTREAM/api"}
    script: {timeout: 50ms, inline: "function (reqHeaders, reqParams, reqBody) { new Array(5e7).fill(1) }"}
  - name: bomb-repeat
    hosts: [bomb-repeat.faults.local]
    upstream: {url: "UPSTREAM/api"}
    script: {timeout: 50ms, inline: "function (reqHeaders, reqParams, reqBody) { 'x'.repeat(3e8) }"}
  - name: bomb-typed
    hosts: [bomb-typed.faults.local]
    upstream: {url: "UPSTREAM/api"}
    script: {timeout: 50ms, inline: "function (reqHeaders, reqParams, reqBody) { new Uint8Array(1e9).fill(1) }"}
  # A hostile script author: the attacks of issue 13 one after another, each caught, the loot
  # sent upstream. Each attack must fail the request instead; nothing reaches the upstream.
  - name: hostile
    hosts: [hostile.faults.local]
    upstream: {url: "UPSTREAM/api"}
    secrets: {aes_key: secret/faults/static#aes_key, aes_iv: secret/faults/static#aes_iv, api_key: secret/faults/static#api_key}
    script:
      inline: |
        function (reqHeaders, reqParams, reqBody, AppKey, AesKey, AesIV) {
          var loot = "";
          function grab(f) { try { loot += "|" + String(f()) } catch (e) { loot += "|" + e } }
          grab(function () { return aes_cbc_pkcs5_decrypt(AesKey, new Uint8Array(aes_cbc_pkcs5_encrypt(AesKey, new Uint8Array(32), AesIV)), AesIV) });
          grab(function () { return aes_cbc_pkcs5_decrypt(AesKey, new Uint8Array(16), new Uint8Array(16)) });
          grab(function () { return hex_encode(aes_cbc_pkcs5_encrypt(AesIV + AesIV, new Uint8Array(16), AesKey)) });
          grab(function () { return hex_encode(aes_gcm_encrypt("0123456789abcdef", "x", secret("api_key"))) });
          grab(function () { return hex_encode(secret("api_key")) });
          grab(function () { return hmac_sha256(AesKey, "x") });
          reqHeaders.set("X-Loot", loot);
          reqBody.set("loot", loot);
        }
`

// setup is one fault's world.
type setup struct {
	keystore     string // the keystore section; default the file keystore
	maxBody      int64  // limits.max_body_bytes; default 4096
	routeTimeout string // upstream.timeout; default 2s
	upstream     *upstream
	issuer       *issuer
	// providers are appended to providersYAML's list (callback and placeholder providers).
	providers string
}

func configYAML(s Secrets, st setup) string {
	ks := st.keystore
	if ks == "" {
		ks = "keystore: {type: file, file: {path: keys.yaml}}"
	}
	if st.maxBody == 0 {
		st.maxBody = 4096
	}
	if st.routeTimeout == "" {
		st.routeTimeout = "2s"
	}
	tokenURL := "http://127.0.0.1:9/token"
	if st.issuer != nil {
		tokenURL = st.issuer.URL()
	}
	cfg := ks + "\nlimits: {max_body_bytes: " + strconv.FormatInt(st.maxBody, 10) + "}\n" + providersYAML + st.providers
	return strings.NewReplacer("UPSTREAM", st.upstream.URL(), "TOKENURL", tokenURL,
		"ROUTETIMEOUT", st.routeTimeout).Replace(cfg)
}

// writeConfig writes keygate.yaml and keys.yaml into a fresh folder.
func writeConfig(t *testing.T, s Secrets, st setup) string {
	dir := t.TempDir()
	for name, data := range map[string]string{"keygate.yaml": configYAML(s, st), "keys.yaml": s.keysYAML()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// verifyingUpstream is the upstream every provider of a fault config shares: it requires the
// static API key or an issued token, and never the plaintext.
func verifyingUpstream(t *testing.T, s Secrets, is *issuer, delay time.Duration) *upstream {
	return newUpstream(t, &upstream{plaintext: []string{s.Plaintext}, delay: delay, credential: func(r *http.Request) credential {
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") && is != nil {
			tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			known, valid := is.check(tok)
			return credential{known: known, valid: valid}
		}
		ok := constantEqual(r.Header.Get("X-Api-Key"), s.APIKey)
		return credential{known: ok, valid: ok}
	}})
}

// world is one fault's running keygate and egress.
type world struct {
	kg     *keygate
	egress string
}

// startWorld starts keygate (in process) with dir's config and the egress in front of it.
func startWorld(t *testing.T, e *env, dir string) *world {
	t.Helper()
	loaded := loadConfig(t, dir)
	kg := startKeygate(t, newApp(t, loaded, e.log), loaded, "127.0.0.1:0", e.log)
	return &world{kg: kg, egress: StartEgress(t, loaded.File, kg.addr, e.log)}
}

// caller sends requests the way a business service does and tallies what it got back.
type caller struct {
	egress    string
	client    *http.Client
	tenantKey string // the AppKey sent with every request, when the config has tenants

	mu       sync.Mutex
	sent     int
	statuses map[string]int
	bodies   [][]byte // error bodies, for the leak scan
}

func newCaller(egress string) *caller {
	return &caller{egress: egress, client: &http.Client{Timeout: 20 * time.Second}, statuses: map[string]int{}}
}

// send posts body to host and returns the status (0 when no HTTP answer came back).
func (c *caller) send(host, body string) int {
	req, err := http.NewRequest(http.MethodPost, c.egress+"/orders", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Host = host
	req.Header.Set("Content-Type", "application/json")
	return c.do(req)
}

// do sends req (made for c.egress) and tallies the answer.
func (c *caller) do(req *http.Request) int {
	if c.tenantKey != "" {
		req.Header.Set(tenancy.TenantKeyHeader, c.tenantKey)
	}
	status, key := 0, "no answer"
	resp, err := c.client.Do(req)
	var b []byte
	if err == nil {
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		status, key = resp.StatusCode, strconv.Itoa(resp.StatusCode)
	}
	c.mu.Lock()
	c.sent++
	c.statuses[key]++
	if status >= 400 {
		c.bodies = append(c.bodies, b)
	}
	c.mu.Unlock()
	return status
}

// until200 sends to host every 250ms until one request gets 200, at most tries times (the
// egress's gRPC channel reconnects with backoff after keygate or Vault come back).
func (c *caller) until200(host, body string, tries int) bool {
	for range tries {
		if c.send(host, body) == http.StatusOK {
			return true
		}
		time.Sleep(250 * time.Millisecond)
	}
	return false
}

// sendN sends n requests, conc at a time.
func (c *caller) sendN(n, conc int, host, body string) {
	var wg sync.WaitGroup
	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)
	for range conc {
		wg.Go(func() {
			for range next {
				c.send(host, body)
			}
		})
	}
	wg.Wait()
}

func (c *caller) errorBodies() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.bodies...)
}

func (c *caller) snapshot() (int, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.statuses))
	for k, v := range c.statuses {
		out[k] = v
	}
	return c.sent, out
}

// orderBody is a request for the static provider: its data field must leave encrypted.
func orderBody(s Secrets) string { return `{"data":"` + s.Plaintext + `","amount":7}` }
