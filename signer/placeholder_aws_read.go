package signer

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/failure"
)

// Reading the signature an AWS SDK made with the placeholder credential: header or presigned
// form, its scope checked against the step's allow-lists.

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
