package signer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

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

// readSDKSignature finds the SDK's signature (header or query form), checks that it was made
// with the placeholder, and returns what the SDK chose. The query's signature parameters are
// removed from the request here; the headers by the caller.
func (s *awsSDKStep) readSDKSignature(r *Request) (sdkSig, error) {
	var sig sdkSig
	auth := r.Header.Values("Authorization")
	var authQ map[string][]string
	for _, p := range strings.Split(r.RawQuery(), "&") {
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		uk, err := url.QueryUnescape(k)
		if err != nil {
			return sig, failure.Wrap(failure.BadRequest, placeholderStage, err, "query")
		}
		lk := strings.ToLower(uk)
		if !awsAuthQuery[lk] {
			if lk == "x-amz-content-sha256" {
				uv, err := url.QueryUnescape(v)
				if err != nil {
					return sig, failure.Wrap(failure.BadRequest, placeholderStage, err, "query")
				}
				sig.payloadHashes = append(sig.payloadHashes, uv)
			}
			sig.query = append(sig.query, p)
			continue
		}
		if uk != awsCanonicalAuthParam(lk) {
			return sig, failure.New(failure.BadRequest, placeholderStage, "query parameter %q is a SigV4 parameter in the wrong case", printable(uk))
		}
		uv, err := url.QueryUnescape(v)
		if err != nil {
			return sig, failure.Wrap(failure.BadRequest, placeholderStage, err, "query "+uk)
		}
		if authQ == nil {
			authQ = map[string][]string{}
		}
		authQ[lk] = append(authQ[lk], uv)
	}
	for lk, vs := range authQ {
		if len(vs) > 1 {
			return sig, failure.New(failure.BadRequest, placeholderStage, "query parameter %s is given %d times", awsCanonicalAuthParam(lk), len(vs))
		}
	}
	tokens := r.Header.Values("X-Amz-Security-Token")
	if t, ok := authQ["x-amz-security-token"]; ok {
		tokens = append(tokens, t...)
	}
	if len(tokens) > 1 {
		return sig, failure.New(failure.BadRequest, placeholderStage, "X-Amz-Security-Token is given %d times", len(tokens))
	}
	// Any SigV4 parameter in the query makes it a presigned URL (a lone X-Amz-Date beside an
	// Authorization header is a second signature's part, refused like a whole one).
	presigned := len(authQ) > 0
	var cred string
	switch {
	case len(auth) > 0 && presigned:
		return sig, failure.New(failure.BadRequest, placeholderStage, "the request carries both an Authorization header and a presigned-URL signature: one request, one signature")
	case len(auth) > 1:
		return sig, failure.New(failure.BadRequest, placeholderStage, "Authorization is given %d times", len(auth))
	case len(auth) == 1:
		var err error
		if cred, sig.signedHeaders, err = parseAWSAuthorization(auth[0]); err != nil {
			return sig, err
		}
	case presigned:
		sig.presigned = true
		for _, k := range []string{"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires", "x-amz-signedheaders", "x-amz-signature"} {
			if authQ[k] == nil {
				return sig, failure.New(failure.BadRequest, placeholderStage, "presigned URL without %s", awsCanonicalAuthParam(k))
			}
		}
		if a := authQ["x-amz-algorithm"][0]; a != "AWS4-HMAC-SHA256" {
			return sig, failure.New(failure.BadRequest, placeholderStage, "presigned URL algorithm %q: only AWS4-HMAC-SHA256 can be re-signed (SigV4a is not supported)", printable(a))
		}
		cred = authQ["x-amz-credential"][0]
		sig.signedHeaders = strings.Split(strings.ToLower(authQ["x-amz-signedheaders"][0]), ";")
		sig.date, sig.expires = authQ["x-amz-date"][0], authQ["x-amz-expires"][0]
		if _, err := time.Parse(amzDateFormat, sig.date); err != nil {
			return sig, failure.New(failure.BadRequest, placeholderStage, "presigned URL X-Amz-Date %q is not in the form 20060102T150405Z", printable(sig.date))
		}
		if n, err := strconv.Atoi(sig.expires); err != nil || n < 1 || n > 604800 || sig.expires != strconv.Itoa(n) {
			return sig, failure.New(failure.BadRequest, placeholderStage, "presigned URL X-Amz-Expires %q is not a number of seconds from 1 to 604800", printable(sig.expires))
		}
	default:
		// No SDK signature: a keygate-native caller. Sign with the configured scope, if any.
		if len(tokens) > 0 {
			if err := s.checkToken(tokens[0]); err != nil {
				return sig, err
			}
		}
		if s.p.Region == "" {
			return sig, failure.New(failure.BadRequest, placeholderStage, "the request carries no SigV4 signature: configure the AWS SDK with the placeholder access key ID (docs/sdks.md)")
		}
		sig.region, sig.service = s.p.Region, s.p.Service
		return sig, nil
	}
	if err := s.checkCredential(cred, &sig); err != nil {
		return sig, err
	}
	if len(tokens) == 1 {
		if err := s.checkToken(tokens[0]); err != nil {
			return sig, err
		}
	}
	if sig.presigned {
		r.SetRawQuery(strings.Join(sig.query, "&"))
	}
	return sig, nil
}

// checkCredential reads "AKID/yyyymmdd/region/service/aws4_request": the access key ID must be
// the placeholder, the region and service allowed.
func (s *awsSDKStep) checkCredential(cred string, sig *sdkSig) error {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || len(parts[1]) != 8 || parts[2] == "" || parts[3] == "" {
		return failure.New(failure.BadRequest, placeholderStage, "SigV4 credential is not ACCESS_KEY_ID/DATE/REGION/SERVICE/aws4_request")
	}
	if !isPlaceholder(parts[0], s.p.Placeholder) {
		return realCredential("AWS access key ID "+shape(parts[0]), "the SigV4 credential")
	}
	sig.region, sig.service = parts[2], parts[3]
	if len(s.p.Regions) > 0 && !slices.Contains(s.p.Regions, sig.region) {
		return failure.New(failure.Forbidden, placeholderStage, "region %q is not one of this provider's regions (%s)", printable(sig.region), strings.Join(s.p.Regions, ", "))
	}
	if len(s.p.Services) > 0 && !slices.Contains(s.p.Services, sig.service) {
		return failure.New(failure.Forbidden, placeholderStage, "service %q is not one of this provider's services (%s)", printable(sig.service), strings.Join(s.p.Services, ", "))
	}
	if !awsScopeText(sig.region) || !awsScopeText(sig.service) {
		return failure.New(failure.BadRequest, placeholderStage, "SigV4 credential scope has characters other than a-z, 0-9 and '-'")
	}
	return nil
}

// checkToken: a session token the SDK sent must be the placeholder one (a real token means real
// temporary credentials; a placeholder-looking token beside a real key ID was refused before).
func (s *awsSDKStep) checkToken(tok string) error {
	if s.p.PlaceholderSessionToken == "" || !isPlaceholder(tok, s.p.PlaceholderSessionToken) {
		return realCredential("AWS session token "+shape(tok), "X-Amz-Security-Token")
	}
	return nil
}

func awsScopeText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func awsCanonicalAuthParam(lk string) string {
	switch lk {
	case "x-amz-signedheaders":
		return "X-Amz-SignedHeaders"
	case "x-amz-security-token":
		return "X-Amz-Security-Token"
	}
	return "X-Amz-" + strings.ToUpper(lk[6:7]) + lk[7:]
}

// parseAWSAuthorization reads "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
// Any other scheme is a credential keygate did not issue and is refused.
func parseAWSAuthorization(v string) (cred string, signed []string, err error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
	switch alg {
	case "AWS4-HMAC-SHA256":
	case "AWS4-ECDSA-P256-SHA256":
		return "", nil, failure.New(failure.BadRequest, placeholderStage, "SigV4a (AWS4-ECDSA-P256-SHA256) cannot be re-signed: configure the SDK for SigV4")
	default:
		return "", nil, realCredential("an Authorization header of scheme "+shape(alg), "Authorization")
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			return "", nil, failure.New(failure.BadRequest, placeholderStage, "SigV4 Authorization has a field without '='")
		}
		if _, dup := fields[k]; dup {
			return "", nil, failure.New(failure.BadRequest, placeholderStage, "SigV4 Authorization has %s twice", printable(k))
		}
		fields[k] = val
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if fields[k] == "" {
			return "", nil, failure.New(failure.BadRequest, placeholderStage, "SigV4 Authorization without %s", k)
		}
	}
	if len(fields) != 3 {
		return "", nil, failure.New(failure.BadRequest, placeholderStage, "SigV4 Authorization has fields besides Credential, SignedHeaders and Signature")
	}
	return fields["Credential"], strings.Split(strings.ToLower(fields["SignedHeaders"]), ";"), nil
}

// awsPayloadHash is the payload hash of a header-form request: the SDK's X-Amz-Content-Sha256
// mode where keygate can re-sign it, the body's hash otherwise.
func awsPayloadHash(r *Request) (string, error) {
	vals := r.Header.Values("X-Amz-Content-Sha256")
	if len(vals) == 0 {
		sum := sha256.Sum256(r.Body())
		return hex.EncodeToString(sum[:]), nil
	}
	return awsPayloadMode(vals, r.Body())
}

// awsPayloadMode is the one judge of the SDK's X-Amz-Content-Sha256 values (a header, or a
// presigned URL's query parameter): exactly one, a mode keygate can re-sign, a digest of body.
func awsPayloadMode(vals []string, b []byte) (string, error) {
	if len(vals) > 1 {
		return "", failure.New(failure.BadRequest, placeholderStage, "X-Amz-Content-Sha256 is given %d times", len(vals))
	}
	sum := sha256.Sum256(b)
	body := hex.EncodeToString(sum[:])
	switch v := vals[0]; {
	case v == "UNSIGNED-PAYLOAD", v == "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
		// The body is not signed (the trailer's checksum is not either): re-signable as is.
		return v, nil
	case strings.HasPrefix(v, "STREAMING-"):
		return "", failure.New(failure.BadRequest, placeholderStage,
			"X-Amz-Content-Sha256 %s: every chunk of a signed streaming upload is signed with the placeholder key, and keygate does not re-sign chunks; "+
				"configure the SDK for unsigned payloads over TLS or a single-part body (docs/sdks.md)", printable(v))
	case len(v) == 64 && isLowerHex(v):
		if v != body {
			return "", failure.New(failure.BadRequest, placeholderStage, "X-Amz-Content-Sha256 does not match the body")
		}
		return body, nil
	default:
		return "", failure.New(failure.BadRequest, placeholderStage, "X-Amz-Content-Sha256 %q is neither a SHA-256 hex digest nor a payload mode", printable(v))
	}
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// awsSignedNames is the SDK's signed-header list kept where it can be: headers present in the
// request, less those keygate never signs, plus the ones keygate's signature needs. Sorted.
func awsSignedNames(r *Request, sdk, need []string) []string {
	present := map[string]bool{"host": true}
	for k := range r.Header {
		present[strings.ToLower(k)] = true
	}
	set := map[string]bool{}
	for _, n := range sdk {
		n = strings.TrimSpace(n)
		if n == "" || !present[n] || awsNeverSigned[n] || strings.HasPrefix(n, "x-envoy-") ||
			strings.HasPrefix(n, "x-forwarded-") || strings.HasPrefix(n, "x-keygate-") {
			continue
		}
		set[n] = true
	}
	for _, n := range need {
		set[n] = true
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// awsCanonical is AWS's CanonicalRequest over exactly the given header names.
func awsCanonical(r *Request, service, query string, names []string, payload string) string {
	path := r.PathOnly()
	if path == "" {
		path = "/"
	}
	if service == "s3" { // S3 signs the path encoded once; every other service twice
		if p, err := url.PathUnescape(path); err == nil {
			path = p
		}
	}
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(URIEncode(path, false))
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte(':')
		if n == "host" {
			b.WriteString(r.Authority)
		} else {
			vals := r.Header.Values(n)
			for i, v := range vals {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strings.Join(strings.Fields(v), " "))
			}
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(names, ";"))
	b.WriteByte('\n')
	b.WriteString(payload)
	return b.String()
}
