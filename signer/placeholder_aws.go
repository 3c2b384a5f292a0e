package signer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/keygate/keygate/internal/failure"
)

// awsSDKParams configure aws_sigv4_sdk: SigV4 for requests an official AWS SDK already signed
// with the placeholder access key ID. Region and service are the SDK's (its credential scope),
// within the allow-lists; the signed headers are the SDK's; the payload mode is the SDK's
// where it can be re-signed. Header and presigned (query) forms are both re-signed in the form
// the SDK used.
type awsSDKParams struct {
	Placeholder             string    `json:"placeholder"`               // default KEYGATE-PLACEHOLDER
	PlaceholderSessionToken string    `json:"placeholder_session_token"` // the SDK's fake session token, if it sets one
	AccessKeyID             textParam `json:"access_key_id"`             // literal, var:NAME or secret:NAME
	SecretAccessKey         string    `json:"secret_access_key"`         // secret name (KV)
	SessionToken            string    `json:"session_token"`             // optional secret name (KV)
	Regions                 []string  `json:"regions"`                   // allowed SDK regions; empty: any
	Services                []string  `json:"services"`                  // allowed SDK services; empty: any
	// Region and Service sign a request that carries no SDK signature at all; without them
	// such a request is refused.
	Region  string `json:"region"`
	Service string `json:"service"`
}

type awsSDKStep struct {
	p     awsSDKParams
	keyID plainValue
}

var _ Step = (*awsSDKStep)(nil)

func newAWSSigV4SDK(b Build) (Step, error) {
	var p awsSDKParams
	if err := decodeParams(b, &p); err != nil {
		return nil, err
	}
	if p.Placeholder == "" {
		p.Placeholder = DefaultPlaceholder
	}
	id, err := parsePlainValue(b, "access_key_id", p.AccessKeyID, true, true)
	if err != nil {
		return nil, err
	}
	if id.secret == "" && isPlaceholder(id.text, p.Placeholder) {
		return nil, paramError(b, "access_key_id", "is the placeholder itself")
	}
	if err := requireParamSecret(b, "secret_access_key", p.SecretAccessKey, true); err != nil {
		return nil, err
	}
	if p.SessionToken != "" {
		if err := requireParamSecret(b, "session_token", p.SessionToken, true); err != nil {
			return nil, err
		}
	}
	if (p.Region == "") != (p.Service == "") {
		return nil, paramError(b, "region", "region and service go together (the scope of requests the SDK did not sign)")
	}
	return &awsSDKStep{p: p, keyID: id}, nil
}

// The SDK body is read: a hex X-Amz-Content-Sha256 is recomputed, and services without that
// header sign the body's hash.
func (s *awsSDKStep) Needs() Needs { return Needs{RequestBody: true} }

// awsAuthQuery are the query parameters of a presigned URL's signature (compared lower-case).
var awsAuthQuery = map[string]bool{
	"x-amz-algorithm": true, "x-amz-credential": true, "x-amz-date": true, "x-amz-expires": true,
	"x-amz-signedheaders": true, "x-amz-signature": true, "x-amz-security-token": true,
}

// awsNeverSigned are headers keygate leaves out of a re-signature even when the SDK signed them:
// hop-by-hop headers and those Envoy or the transport may change in flight.
var awsNeverSigned = map[string]bool{
	"authorization": true, "connection": true, "expect": true, "keep-alive": true,
	"proxy-authorization": true, "te": true, "trailer": true, "transfer-encoding": true,
	"upgrade": true, "user-agent": true, "x-amzn-trace-id": true, "x-request-id": true,
}

// sdkSig is what the SDK chose, read from its (unverified) signature.
type sdkSig struct {
	presigned     bool
	region        string
	service       string
	signedHeaders []string
	date, expires string // presigned: the SDK's validity window, kept
	query         []string
	payloadHashes []string // presigned: X-Amz-Content-Sha256 values the SDK hoisted into the query
}

func (s *awsSDKStep) SignRequest(ctx context.Context, x *Exchange) error {
	r := x.Request
	sig, err := s.readSDKSignature(r)
	if err != nil {
		return err
	}
	for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
		r.Header.Del(h)
	}
	if sig.presigned {
		return s.presign(ctx, x, sig)
	}
	payload, err := awsPayloadHash(r)
	if err != nil {
		return err
	}
	amzDate := x.Clock.Now().UTC().Format(amzDateFormat)
	r.Header.Set("X-Amz-Date", amzDate)
	extra := []string{"host", "x-amz-date"}
	if r.Header.Get("X-Amz-Content-Sha256") != "" {
		extra = append(extra, "x-amz-content-sha256")
	}
	if s.p.SessionToken != "" {
		tok, err := x.Keys.Secret(ctx, x, s.p.SessionToken)
		if err != nil {
			return err
		}
		r.Header.Set("X-Amz-Security-Token", string(tok.Reveal()))
		x.MarkSensitive(string(tok.Reveal()))
		extra = append(extra, "x-amz-security-token")
	}
	names := awsSignedNames(r, sig.signedHeaders, extra)
	scope := amzDate[:8] + "/" + sig.region + "/" + sig.service + "/aws4_request"
	query, err := awsCanonicalQuery(r.RawQuery())
	if err != nil {
		return failure.Wrap(failure.BadRequest, "sign", err, "query")
	}
	signature, err := s.sign(ctx, x, sig, amzDate, scope, awsCanonical(r, sig.service, query, names, payload))
	if err != nil {
		return err
	}
	keyID, err := s.keyID.resolve(ctx, x)
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+keyID+"/"+scope+
		", SignedHeaders="+strings.Join(names, ";")+", Signature="+signature)
	return nil
}

// presign re-signs a presigned URL in query form, with the SDK's date and expiry.
func (s *awsSDKStep) presign(ctx context.Context, x *Exchange, sig sdkSig) error {
	r := x.Request
	if r.Header.Get("X-Amz-Content-Sha256") != "" {
		return failure.New(failure.BadRequest, placeholderStage, "a presigned URL with an X-Amz-Content-Sha256 header: the payload hash of a presigned request travels in the query")
	}
	var payload string
	if len(sig.payloadHashes) > 0 {
		// The SDK's payload mode, hoisted into the query: the header form's rules.
		var err error
		if payload, err = awsPayloadMode(sig.payloadHashes, r.Body()); err != nil {
			return err
		}
	} else {
		payload = "UNSIGNED-PAYLOAD"
		if sig.service != "s3" {
			sum := sha256.Sum256(r.Body())
			payload = hex.EncodeToString(sum[:])
		}
	}
	keyID, err := s.keyID.resolve(ctx, x)
	if err != nil {
		return err
	}
	scope := sig.date[:8] + "/" + sig.region + "/" + sig.service + "/aws4_request"
	names := awsSignedNames(r, sig.signedHeaders, []string{"host"})
	q := slices.Clone(sig.query)
	add := func(k, v string) { q = append(q, URIEncode(k, true)+"="+URIEncode(v, true)) }
	add("X-Amz-Algorithm", "AWS4-HMAC-SHA256")
	add("X-Amz-Credential", keyID+"/"+scope)
	add("X-Amz-Date", sig.date)
	add("X-Amz-Expires", sig.expires)
	add("X-Amz-SignedHeaders", strings.Join(names, ";"))
	if s.p.SessionToken != "" {
		tok, err := x.Keys.Secret(ctx, x, s.p.SessionToken)
		if err != nil {
			return err
		}
		add("X-Amz-Security-Token", string(tok.Reveal()))
		x.MarkSensitive(URIEncode(string(tok.Reveal()), true))
	}
	raw := strings.Join(q, "&")
	query, err := awsCanonicalQuery(raw)
	if err != nil {
		return failure.Wrap(failure.BadRequest, "sign", err, "query")
	}
	signature, err := s.sign(ctx, x, sig, sig.date, scope, awsCanonical(r, sig.service, query, names, payload))
	if err != nil {
		return err
	}
	r.SetRawQuery(raw + "&X-Amz-Signature=" + signature)
	return nil
}

func (s *awsSDKStep) sign(ctx context.Context, x *Exchange, sig sdkSig, amzDate, scope, creq string) (string, error) {
	sum := sha256.Sum256([]byte(creq))
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	secret, err := x.Keys.Secret(ctx, x, s.p.SecretAccessKey)
	if err != nil {
		return "", err
	}
	k := awsHMAC(append([]byte("AWS4"), secret.Reveal()...), amzDate[:8])
	k = awsHMAC(k, sig.region)
	k = awsHMAC(k, sig.service)
	k = awsHMAC(k, "aws4_request")
	return hex.EncodeToString(awsHMAC(k, sts)), nil
}
