package faults

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Placeholder-credential fault (docs/sdks.md): a service that still holds a real AWS key signs
// with it, beside services configured with the placeholder. keygate must refuse the first (403,
// stage placeholder) and re-sign only the second. The upstream verifies every request with the
// real key (the AWS SDK's own v4 signer, not keygate's) and counts, in the table's "realcred"
// column, every request whose body carries the real-credential marker: one keygate re-signed.

const (
	awsHost        = "aws.faults.local"
	awsRealKeyID   = "AKIAFAULTSREAL000001"
	realCredMarker = "REALCRED-"
)

func awsProvider(upstreamURL string) string {
	return `
  - name: aws
    hosts: [` + awsHost + `]
    upstream: {url: "` + upstreamURL + `/api"}
    secrets: {aws_secret: secret/faults/aws#secret_access_key}
    signing:
      - scheme: aws_sigv4_sdk
        access_key_id: ` + awsRealKeyID + `
        secret_access_key: aws_secret
        regions: [us-east-1]
        services: [execute-api]
`
}

// sigv4Upstream accepts a request only when its SigV4 header signature verifies with the real
// key; a request carrying realCredMarker is a breach whatever its signature.
func sigv4Upstream(t *testing.T, s Secrets) *upstream {
	creds := aws.Credentials{AccessKeyID: awsRealKeyID, SecretAccessKey: s.AWSSecret}
	return newUpstream(t, &upstream{guards: guardPlaceholder, plaintext: []string{realCredMarker},
		credential: func(r *http.Request) credential {
			ok := verifySigV4(r, creds)
			return credential{known: ok, valid: ok}
		}})
}

func verifySigV4(r *http.Request, creds aws.Credentials) bool {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return false
	}
	var cred string
	var signed []string
	for _, f := range strings.Split(rest, ", ") {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = strings.Split(v, ";")
		}
	}
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || scope[0] != creds.AccessKeyID {
		return false
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return false
	}
	body, _ := io.ReadAll(r.Body)
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payload {
		return false
	}
	u := *r.URL
	req := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	for _, n := range signed {
		switch n {
		case "host":
		case "content-length":
			req.ContentLength = r.ContentLength
		default:
			req.Header[http.CanonicalHeaderKey(n)] = r.Header.Values(n)
		}
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payload, scope[3], scope[2], at); err != nil {
		return false
	}
	return req.Header.Get("Authorization") == auth
}

// sdkRequest is what the AWS SDK sends for a service configured with creds.
func sdkRequest(t *testing.T, egress string, creds aws.Credentials, body string) *http.Request {
	req, err := http.NewRequest(http.MethodPost, egress+"/orders", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = awsHost
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

// realCredentialSent: 10 requests signed by a service with a real-looking key (another access
// key ID, with and without a session token) and 10 with the placeholder. The real ones get 403
// at stage placeholder and never leave; the placeholder ones are re-signed and verify upstream.
func realCredentialSent(t *testing.T, e *env, r *record) {
	up := r.watch(verifyingUpstream(t, e.s, nil, 0))
	aws4 := r.watch(sigv4Upstream(t, e.s))
	w := startWorld(t, e, writeConfig(t, e.s, setup{upstream: up, providers: awsProvider(aws4.URL())}))
	r.caller = newCaller(w.egress)
	real := []aws.Credentials{
		{AccessKeyID: "AKIAIOSFODNN7SERVICE", SecretAccessKey: "a-key-the-service-should-not-hold"},
		{AccessKeyID: "ASIAIOSFODNN7SERVICE", SecretAccessKey: "a-key-the-service-should-not-hold", SessionToken: "FwoGZXIvYXdzE-session"},
		{AccessKeyID: awsRealKeyID, SecretAccessKey: "the-real-key-leaked-to-the-service"},
	}
	placeholder := aws.Credentials{AccessKeyID: "KEYGATE-PLACEHOLDER", SecretAccessKey: "placeholder-secret"}
	for i := range 10 {
		rc := real[i%len(real)]
		if r.caller.do(sdkRequest(t, w.egress, rc, `{"order":"`+realCredMarker+rc.AccessKeyID+`"}`)) != http.StatusForbidden {
			t.Errorf("a request signed with %s… was not refused 403", rc.AccessKeyID[:4])
		}
		r.caller.do(sdkRequest(t, w.egress, placeholder, `{"order":"placeholder"}`))
	}
	_, got := r.caller.snapshot()
	if got["200"] != 10 || got["403"] != 10 {
		t.Errorf("callers got %v, want 200 x10 (placeholder, re-signed) and 403 x10 (real credentials)", got)
	}
	wantStage(t, r.caller, "placeholder")
	wantReached(t, aws4, 10)
	wantReached(t, up, 0)
}
