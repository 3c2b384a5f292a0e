package signer

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/jsonbody"
)

// wechatMaxSkew is how far a response timestamp may be from now (WeChat Pay's rule).
const wechatMaxSkew = 5 * time.Minute

// ProcessResponse verifies a 2xx response's Wechatpay-Signature, then (decrypt_resource)
// replaces a top-level resource object with its decrypted JSON. Non-2xx responses pass as they
// are: WeChat Pay does not sign every error, and its clients do not verify them either.
func (s *wechatStep) ProcessResponse(ctx context.Context, x *Exchange) error {
	resp := x.Response
	if resp == nil || resp.Status < 200 || resp.Status > 299 {
		return nil
	}
	// Config requires a platform key; an empty set here still refuses (verify finds no key).
	if err := s.verify(ctx, x); err != nil {
		return err
	}
	if s.p.DecryptResource {
		return s.decryptResource(ctx, x)
	}
	return nil
}

func (s *wechatStep) verify(ctx context.Context, x *Exchange) error {
	h := x.Response.Header
	serial, ts, nonce := h.Get("Wechatpay-Serial"), h.Get("Wechatpay-Timestamp"), h.Get("Wechatpay-Nonce")
	sigText := h.Get("Wechatpay-Signature")
	if serial == "" || ts == "" || nonce == "" || sigText == "" {
		return failure.New(failure.BadGateway, "verify", "response lacks the Wechatpay-Serial, -Timestamp, -Nonce or -Signature header")
	}
	platform, ok := s.platform[serial]
	if !ok {
		return failure.New(failure.BadGateway, "verify", "response is signed by platform key %q, not one of the configured %q", serial, s.platformSerials)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return failure.New(failure.BadGateway, "verify", "Wechatpay-Timestamp %q is not unix seconds", ts)
	}
	if skew := x.Clock.Now().Unix() - sec; math.Abs(float64(skew)) > wechatMaxSkew.Seconds() {
		return failure.New(failure.BadGateway, "verify", "Wechatpay-Timestamp is %ds away from now (limit %s)", skew, wechatMaxSkew)
	}
	sig, err := base64.StdEncoding.DecodeString(sigText)
	if err != nil {
		return failure.New(failure.BadGateway, "verify", "Wechatpay-Signature is not base64")
	}
	key, err := platform.get(ctx, x)
	if err != nil {
		return err
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return failure.New(failure.Internal, "verify", "platform key %s is not an RSA key", platform.describe())
	}
	sum := sha256.Sum256(wechatMessage(ts, nonce, x.Response.Body))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return failure.New(failure.BadGateway, "verify", "Wechatpay-Signature does not verify with platform key %q", serial)
	}
	return nil
}

// wechatResource is an encrypted resource object of a WeChat Pay response or notification.
type wechatResource struct {
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	Nonce          string `json:"nonce"`
	AssociatedData string `json:"associated_data"`
}

func (s *wechatStep) decryptResource(ctx context.Context, x *Exchange) error {
	obj, err := jsonbody.Parse(x.Response.Body)
	if err != nil {
		return nil // not JSON (e.g. 204 No Content): there is no resource to decrypt
	}
	raw, ok := obj.Raw("resource")
	if !ok {
		return nil
	}
	var res wechatResource
	if err := json.Unmarshal(raw, &res); err != nil {
		return failure.New(failure.BadGateway, "decrypt", "resource is not an object")
	}
	if res.Algorithm != "AEAD_AES_256_GCM" {
		return failure.New(failure.BadGateway, "decrypt", "resource algorithm %q is not AEAD_AES_256_GCM", res.Algorithm)
	}
	key, err := x.Keys.Secret(ctx, x, s.p.APIv3Key)
	if err != nil {
		return err
	}
	plain, err := openWechatResource(key.Reveal(), res)
	if err != nil {
		return failure.Wrap(failure.BadGateway, "decrypt", err, "resource with APIv3 key "+s.apiv3Ref)
	}
	setDecrypted(obj, "resource", plain)
	x.Response.Body = obj.Marshal()
	return nil
}

// openWechatResource decrypts AEAD_AES_256_GCM: the nonce and associated data are used as the
// bytes of their strings, the ciphertext (with its 16-byte tag) is base64.
func openWechatResource(key []byte, res wechatResource) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errDecrypt
	}
	g, err := cipher.NewGCMWithNonceSize(block, len(res.Nonce))
	if err != nil || len(res.Nonce) == 0 {
		return nil, errDecrypt
	}
	ct, err := base64.StdEncoding.DecodeString(res.Ciphertext)
	if err != nil {
		return nil, errDecrypt
	}
	plain, err := g.Open(nil, []byte(res.Nonce), ct, []byte(res.AssociatedData))
	if err != nil {
		return nil, errDecrypt
	}
	return plain, nil
}
