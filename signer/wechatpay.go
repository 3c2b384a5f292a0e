package signer

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/failure"
)

// wechatPlatformKey is one WeChat Pay platform key (a platform certificate's key, or a
// "PUB_KEY_ID_..." WeChat Pay public key) and the serial responses name it by.
type wechatPlatformKey struct {
	Serial    string `json:"serial"`
	PublicKey string `json:"public_key"` // secret name, or the PEM itself
}

// wechatParams configure WeChat Pay API v3.
type wechatParams struct {
	MchID      textParam `json:"mchid"`       // literal or var:NAME
	SerialNo   textParam `json:"serial_no"`   // the merchant certificate serial; literal or var:NAME
	PrivateKey string    `json:"private_key"` // secret name (KV PEM or transit RSA key)
	// Response verification (required): platform_public_key with its
	// platform_serial, or platform_keys for a rotation, when WeChat Pay signs with either the
	// old or the new platform key until every response uses the new one.
	PlatformPublicKey string              `json:"platform_public_key"` // secret name, or the PEM itself
	PlatformSerial    string              `json:"platform_serial"`
	PlatformKeys      []wechatPlatformKey `json:"platform_keys"`
	// Resource decryption (AEAD_AES_256_GCM with the APIv3 key).
	APIv3Key        string `json:"apiv3_key"` // secret name
	DecryptResource bool   `json:"decrypt_resource"`
}

type wechatStep struct {
	p               wechatParams
	mchid, serialNo string
	platform        map[string]*publicKeySource // by serial; never empty for wechatpay_v3
	platformSerials []string                    // in config order, for errors
	apiv3Ref        string
}

var _ ResponseStep = (*wechatStep)(nil)

func newWechatPayV3(b Build) (Step, error) {
	var p wechatParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	mchid, err := parsePlainValue(b, "mchid", p.MchID, true, false)
	if err != nil {
		return nil, err
	}
	serial, err := parsePlainValue(b, "serial_no", p.SerialNo, true, false)
	if err != nil {
		return nil, err
	}
	if err := requireParamSecret(b, "private_key", p.PrivateKey, false); err != nil {
		return nil, err
	}
	s := &wechatStep{p: p, mchid: mchid.text, serialNo: serial.text}
	if err := s.compilePlatformKeys(b); err != nil {
		return nil, err
	}
	if p.DecryptResource {
		if err := requireParamSecret(b, "apiv3_key", p.APIv3Key, true); err != nil {
			return nil, err
		}
		s.apiv3Ref = b.Secrets[p.APIv3Key].String()
	} else if p.APIv3Key != "" {
		return nil, paramError(b, "apiv3_key", "set, but decrypt_resource is false")
	}
	// WeChat Pay signs every 2xx answer; without a platform key keygate would pass answers it
	// cannot tell from forgeries (fail open), so the key is required, not optional.
	if len(s.platform) == 0 {
		return nil, paramError(b, "platform_public_key",
			"required (with platform_serial), or platform_keys: WeChat Pay's platform keys, which verify every 2xx response")
	}
	return s, nil
}

// compilePlatformKeys reads platform_public_key/platform_serial or platform_keys.
func (s *wechatStep) compilePlatformKeys(b Build) error {
	p := s.p
	switch {
	case p.PlatformPublicKey != "" && len(p.PlatformKeys) > 0:
		return paramError(b, "platform_keys", "set with platform_public_key: use one or the other")
	case p.PlatformPublicKey != "":
		if p.PlatformSerial == "" {
			return paramError(b, "platform_serial", "required with platform_public_key: responses name the key that signed them")
		}
		p.PlatformKeys = []wechatPlatformKey{{Serial: p.PlatformSerial, PublicKey: p.PlatformPublicKey}}
	case p.PlatformSerial != "":
		return paramError(b, "platform_serial", "set without platform_public_key")
	}
	s.platform = make(map[string]*publicKeySource, len(p.PlatformKeys))
	for i, k := range p.PlatformKeys {
		param := fmt.Sprintf("platform_keys[%d]", i)
		if len(s.p.PlatformKeys) == 0 {
			param = "platform_public_key" // the single-key form: name the field the user wrote
		}
		if k.Serial == "" || k.PublicKey == "" {
			return paramError(b, param, "needs serial and public_key")
		}
		if _, dup := s.platform[k.Serial]; dup {
			return paramError(b, param+".serial", "%q is listed twice", k.Serial)
		}
		src, err := newPublicKeySource(b, param, k.PublicKey)
		if err != nil {
			return err
		}
		s.platform[k.Serial] = src
		s.platformSerials = append(s.platformSerials, k.Serial)
	}
	return nil
}

func (s *wechatStep) Needs() Needs {
	return Needs{RequestBody: true, ResponseBody: true}
}

func (s *wechatStep) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	ts := strconv.FormatInt(x.Clock.Now().Unix(), 10)
	nonce := x.Clock.Nonce()
	msg := wechatMessage(r.Method, r.Path, ts, nonce, r.Body())
	sig, err := x.Keys.Sign(ctx, x, s.p.PrivateKey, "sha256", msg)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(`WECHATPAY2-SHA256-RSA2048 mchid="`)
	b.WriteString(s.mchid)
	b.WriteString(`",nonce_str="`)
	b.WriteString(nonce)
	b.WriteString(`",timestamp="`)
	b.WriteString(ts)
	b.WriteString(`",serial_no="`)
	b.WriteString(s.serialNo)
	b.WriteString(`",signature="`)
	b.WriteString(base64.StdEncoding.EncodeToString(sig))
	b.WriteString(`"`)
	if !validHeaderValue(b.String()) {
		return failure.New(failure.BadRequest, "sign", "the nonce holds a line break")
	}
	r.Header.Set("Authorization", b.String())
	return nil
}

// wechatMessage is "line\n" for each of the lines, the form both request signatures and
// response signatures use.
func wechatMessage(lines ...any) []byte {
	var b []byte
	for _, l := range lines {
		switch v := l.(type) {
		case string:
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		}
		b = append(b, '\n')
	}
	return b
}
