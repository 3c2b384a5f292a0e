package signer

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/keystore"
)

const (
	sharedVectors  = "../test/vectors" // public test vectors, kept in the repository
	exampleVectors = "../examples/vectors"
)

func readVector(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedVectors, name))
	if err != nil {
		t.Fatalf("test vectors missing: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func parseRaw(t testing.TB, raw []byte) *Request {
	t.Helper()
	hr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := RequestFromHTTP(hr, "https")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runExample does what `keygate sign` does with an examples/vectors config: parse and validate
// the config, compile the provider's steps from the catalogue, run them on the raw request.
func runExample(t *testing.T, cfgFile, provider, reqFile string, clock Clock) (*Request, *Exchange) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(exampleVectors, cfgFile))
	if err != nil {
		t.Fatal(err)
	}
	f, err := config.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := f.Keystore.File.Path; got != "keys.yaml" { // relative to the config file
		t.Fatalf("keystore path %q", got)
	}
	store := loadExampleKeys(t)
	for _, p := range f.Providers {
		if p.Name != provider {
			continue
		}
		refs := refsOf(t, p.Secrets)
		var steps []Step
		for i, st := range p.Signing {
			s, err := Builtins()[st.Scheme](Build{Provider: p.Name, Path: fmt.Sprintf("signing[%d]", i),
				Params: st.Params, Secrets: refs, Vars: p.Vars})
			if err != nil {
				t.Fatal(err)
			}
			steps = append(steps, s)
		}
		raw, err := os.ReadFile(filepath.Join(exampleVectors, reqFile))
		if err != nil {
			t.Fatal(err)
		}
		r := parseRaw(t, raw)
		x := &Exchange{Provider: p.Name, Request: r, Keys: NewKeys(store, refs), Clock: clock}
		for _, s := range steps {
			if err := s.SignRequest(context.Background(), x); err != nil {
				t.Fatal(err)
			}
		}
		return r, x
	}
	t.Fatalf("provider %q not in %s", provider, cfgFile)
	return nil, nil
}

// loadExampleKeys reads examples/vectors/keys.yaml (the file keystore format: "mount/path" ->
// field -> value) into a memStore.
func loadExampleKeys(t *testing.T) *memStore {
	data, err := os.ReadFile(filepath.Join(exampleVectors, "keys.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]map[string]string
	if err := yaml.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	m := &memStore{vals: map[string]string{}}
	for path, fields := range top {
		for field, v := range fields {
			m.vals[path+"#"+field] = v
		}
	}
	return m
}

func TestVectorAWSSigV4(t *testing.T) {
	var v struct {
		Credentials struct {
			AccessKeyID     string `json:"access_key_id"`
			SecretAccessKey string `json:"secret_access_key"`
		} `json:"credentials"`
		Time            time.Time `json:"time"`
		Region, Service string
		Cases           []struct {
			Name, Request, Authorization string
		}
	}
	readVector(t, "aws-sigv4.json", &v)
	secrets := map[string]string{"sk": "secret/aws#sk"}
	store := &memStore{vals: map[string]string{"secret/aws#sk": v.Credentials.SecretAccessKey}}
	step := mustStep(t, "aws_sigv4", fmt.Sprintf("{access_key_id: %s, secret_access_key: sk, region: %s, service: %s}",
		v.Credentials.AccessKeyID, v.Region, v.Service), secrets, nil)
	for _, c := range v.Cases {
		t.Run(c.Name, func(t *testing.T) {
			r := parseRaw(t, []byte(c.Request))
			x := exchange(t, store, secrets, r)
			x.Clock = FixedClock(v.Time, "")
			if err := step.SignRequest(context.Background(), x); err != nil {
				t.Fatal(err)
			}
			if got := r.Header.Get("Authorization"); got != c.Authorization {
				t.Fatalf("Authorization\n got %s\nwant %s", got, c.Authorization)
			}
		})
		t.Run(c.Name+"/example", func(t *testing.T) {
			r, _ := runExample(t, "aws-sigv4.yaml", "aws-example", "aws-"+c.Name+".http", FixedClock(v.Time, ""))
			if got := r.Header.Get("Authorization"); got != c.Authorization {
				t.Fatalf("Authorization\n got %s\nwant %s", got, c.Authorization)
			}
		})
	}
}

func TestVectorRFC9421(t *testing.T) {
	var v struct {
		Created        int64  `json:"created"`
		SignatureInput string `json:"signature_input"`
		Signature      string `json:"signature"`
		SignatureBase  string `json:"signature_base"`
	}
	readVector(t, "rfc9421-hmac.json", &v)
	r, _ := runExample(t, "rfc9421.yaml", "rfc9421-example", "rfc9421-b25.http", FixedClock(time.Unix(v.Created, 0), ""))
	label, params, _ := strings.Cut(v.SignatureInput, "=")
	base, err := signatureBase(r, []string{"date", "@authority", "content-type"}, params)
	if err != nil || string(base) != v.SignatureBase {
		t.Fatalf("signature base %q, %v", base, err)
	}
	if label != "sig-b25" || r.Header.Get("Signature-Input") != v.SignatureInput {
		t.Fatalf("Signature-Input\n got %s\nwant %s", r.Header.Get("Signature-Input"), v.SignatureInput)
	}
	if got := r.Header.Get("Signature"); got != v.Signature {
		t.Fatalf("Signature\n got %s\nwant %s", got, v.Signature)
	}
	if pinnedTime, _ := time.Parse(time.RFC3339, "2021-04-20T02:07:53Z"); pinnedTime.Unix() != v.Created {
		t.Fatalf("the --time documented in rfc9421.yaml is not created=%d", v.Created)
	}
}

func TestVectorWechatPay(t *testing.T) {
	var v struct {
		Example struct {
			Key, Nonce, Plaintext string
			AssociatedData        string `json:"associated_data"`
			Ciphertext            string `json:"ciphertext_base64"`
		} `json:"aes_gcm_example"`
	}
	readVector(t, "wechatpay-v3.json", &v)
	t.Run("aes-gcm example", func(t *testing.T) {
		e := v.Example
		got, err := openWechatResource([]byte(e.Key), wechatResource{Algorithm: "AEAD_AES_256_GCM",
			Ciphertext: e.Ciphertext, Nonce: e.Nonce, AssociatedData: e.AssociatedData})
		if err != nil || string(got) != e.Plaintext {
			t.Fatalf("decrypt: %q, %v", got, err)
		}
	})
	t.Run("request message and authorization", func(t *testing.T) {
		r, _ := runExample(t, "wechatpay.yaml", "wechatpay-example", "wechatpay.http",
			FixedClock(time.Unix(1704164645, 0), "593BEC0C930BF1AFEB40B4A08C8FB242"))
		auth := r.Header.Get("Authorization")
		re := regexp.MustCompile(`^WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",timestamp="1704164645",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",signature="([A-Za-z0-9+/=]+)"$`)
		m := re.FindStringSubmatch(auth)
		if m == nil {
			t.Fatalf("Authorization %q does not have the published format", auth)
		}
		msg := "POST\n/v3/pay/transactions/native\n1704164645\n593BEC0C930BF1AFEB40B4A08C8FB242\n" + string(r.Body()) + "\n"
		sig, _ := base64.StdEncoding.DecodeString(m[1])
		pub, err := ParsePublicKeyPEM([]byte(loadExampleKeys(t).vals["secret/vectors/wechatpay#platform_public_key"]))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(msg))
		if err := rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
			t.Fatalf("signature does not verify over the documented message: %v", err)
		}
	})
}

var _ keystore.Getter = (*memStore)(nil)
