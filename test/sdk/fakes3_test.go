package sdk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// fakeS3 is an S3-like store that accepts a request only when its SigV4 signature (header or
// presigned form) verifies with the real key. It recomputes the signature with the AWS SDK's
// own v4 signer, not keygate's: an independent implementation of the algorithm.
type fakeS3 struct {
	creds aws.Credentials
	now   func() time.Time

	mu       sync.Mutex
	objects  map[string][]byte
	verified []string // "header" or "presigned" per accepted request
	refused  []string // why, per refused request
}

func newFakeS3(akid, secret string) *fakeS3 {
	return &fakeS3{creds: aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret},
		now: time.Now, objects: map[string][]byte{}}
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if os.Getenv("SDKDEBUG") != "" {
		fmt.Fprintln(os.Stderr, r.Method, r.URL, r.Header)
	}
	form, err := f.verify(r, body)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.refused = append(f.refused, err.Error())
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "<Error><Code>SignatureDoesNotMatch</Code><Message>%s</Message></Error>", err)
		return
	}
	f.verified = append(f.verified, form)
	switch r.Method {
	case http.MethodPut:
		f.objects[r.URL.Path] = body
		w.Header().Set("ETag", `"1"`)
	case http.MethodGet:
		obj, ok := f.objects[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, "<Error><Code>NoSuchKey</Code></Error>")
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(obj)))
		_, _ = w.Write(obj)
	}
}

func (f *fakeS3) counts() (verified, refused []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.verified...), append([]string(nil), f.refused...)
}

// verify recomputes the signature over the signed headers only, and compares.
func (f *fakeS3) verify(r *http.Request, body []byte) (string, error) {
	q := r.URL.Query()
	if auth := r.Header.Get("Authorization"); auth != "" {
		if q.Get("X-Amz-Signature") != "" {
			return "", fmt.Errorf("both header and query signatures")
		}
		cred, signed, err := splitAuth(auth)
		if err != nil {
			return "", err
		}
		akid, region, service, err := f.scope(cred)
		if err != nil {
			return "", err
		}
		t, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
		if err != nil {
			return "", fmt.Errorf("X-Amz-Date: %w", err)
		}
		payload := r.Header.Get("X-Amz-Content-Sha256")
		if payload == "" {
			sum := sha256.Sum256(body)
			payload = hex.EncodeToString(sum[:])
		} else if payload != "UNSIGNED-PAYLOAD" && !strings.HasPrefix(payload, "STREAMING-") {
			if sum := sha256.Sum256(body); payload != hex.EncodeToString(sum[:]) {
				return "", fmt.Errorf("X-Amz-Content-Sha256 does not match the body")
			}
		}
		req := onlySigned(r, signed, r.URL.RawQuery)
		if err := v4.NewSigner(s3Options(service)).SignHTTP(context.Background(), f.creds, req, payload, service, region, t); err != nil {
			return "", err
		}
		if got := req.Header.Get("Authorization"); got != auth || akid != f.creds.AccessKeyID {
			return "", fmt.Errorf("signature does not match: want %s", got)
		}
		return "header", nil
	}
	sig := q.Get("X-Amz-Signature")
	if sig == "" {
		return "", fmt.Errorf("no signature")
	}
	akid, region, service, err := f.scope(q.Get("X-Amz-Credential"))
	if err != nil {
		return "", err
	}
	t, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return "", fmt.Errorf("X-Amz-Date: %w", err)
	}
	exp, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || f.now().After(t.Add(time.Duration(exp)*time.Second)) {
		return "", fmt.Errorf("presigned URL expired or without X-Amz-Expires")
	}
	signed := strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		q.Del(k)
	}
	req := onlySigned(r, signed, q.Encode())
	uri, _, err := v4.NewSigner(s3Options(service)).PresignHTTP(context.Background(), f.creds, req, "UNSIGNED-PAYLOAD", service, region, t)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", err
	}
	if want := u.Query().Get("X-Amz-Signature"); want != sig || akid != f.creds.AccessKeyID {
		return "", fmt.Errorf("presigned signature does not match")
	}
	return "presigned", nil
}

func s3Options(service string) func(*v4.SignerOptions) {
	return func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" }
}

func (f *fakeS3) scope(cred string) (akid, region, service string, err error) {
	p := strings.Split(cred, "/")
	if len(p) != 5 || p[4] != "aws4_request" {
		return "", "", "", fmt.Errorf("credential %q", cred)
	}
	return p[0], p[2], p[3], nil
}

func splitAuth(auth string) (cred string, signed []string, err error) {
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "", nil, fmt.Errorf("authorization scheme")
	}
	for _, f := range strings.Split(rest, ", ") {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = strings.Split(v, ";")
		}
	}
	return cred, signed, nil
}

// onlySigned is r with only its signed headers, for the SDK signer (which signs all it sees).
func onlySigned(r *http.Request, signed []string, rawQuery string) *http.Request {
	u := *r.URL
	u.RawQuery = rawQuery
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
	return req
}
