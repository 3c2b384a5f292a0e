package sdk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

const (
	realAKID   = "AKIAIOSFODNN7EXAMPLE"
	realSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

const awsConfig = `
keystore:
  type: file
  file: {path: keys.yaml}
providers:
  - name: s3
    hosts: [s3.egress.local]
    upstream: {url: UPSTREAM, timeout: 5s}
    secrets:
      secret_key: secret/keygate/aws#secret_access_key
    signing:
      - scheme: aws_sigv4_sdk
        access_key_id: ` + realAKID + `
        secret_access_key: secret_key
        regions: [us-east-1, eu-west-1]
        services: [s3]
`

const awsKeys = `
secret/keygate/aws:
  secret_access_key: "` + realSecret + `"
`

// s3Client is the official SDK as a service configures it for keygate: the placeholder
// credentials, the egress host as endpoint, nothing else changed.
func s3Client(hc *http.Client, akid, token string) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(akid, "placeholder-secret", token),
		BaseEndpoint: aws.String("http://s3.egress.local"),
		UsePathStyle: true,
		HTTPClient:   hc,
	})
}

// TestAWSSDKPlaceholder: the AWS SDK v2 signs with KEYGATE-PLACEHOLDER; keygate strips that
// signature and re-signs with the real key; the fake S3 verifies with the SDK's own signer.
func TestAWSSDKPlaceholder(t *testing.T) {
	fake := newFakeS3(realAKID, realSecret)
	up := httptest.NewServer(fake)
	defer up.Close()
	s := startStack(t, awsConfig, up.URL, awsKeys)
	hc := egressClient(s)
	ctx := context.Background()
	c := s3Client(hc, "KEYGATE-PLACEHOLDER", "")

	body := []byte("hello from an unmodified SDK")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/a b+c.txt"),
		Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("PutObject through keygate: %v", err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/a b+c.txt")})
	if err != nil {
		t.Fatalf("GetObject through keygate: %v", err)
	}
	got, _ := io.ReadAll(out.Body)
	_ = out.Body.Close()
	if !bytes.Equal(got, body) {
		t.Fatalf("GetObject = %q, want %q", got, body)
	}

	// The SDK's unsigned-payload mode (S3 over TLS) is kept: the body stays out of the signature.
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("unsigned"),
		Body: bytes.NewReader(body)}, func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	}); err != nil {
		t.Fatalf("PutObject with UNSIGNED-PAYLOAD through keygate: %v", err)
	}

	// A presigned URL, made by the SDK's presigner with the placeholder, fetched through keygate.
	ps, err := s3.NewPresignClient(c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"),
		Key: aws.String("dir/a b+c.txt")}, s3.WithPresignExpires(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ps.URL, "KEYGATE-PLACEHOLDER") {
		t.Fatalf("presigned URL does not carry the placeholder: %s", ps.URL)
	}
	req, _ := http.NewRequest(ps.Method, ps.URL, nil)
	for k, v := range ps.SignedHeader {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, body) {
		t.Fatalf("presigned GET through keygate: %d %s", resp.StatusCode, got)
	}

	verified, refused := fake.counts()
	if len(refused) > 0 {
		t.Fatalf("the fake S3 refused: %q", refused)
	}
	if want := []string{"header", "header", "header", "presigned"}; strings.Join(verified, ",") != strings.Join(want, ",") {
		t.Fatalf("verified forms %q, want %q", verified, want)
	}
}

// TestAWSSDKRealCredentialRefused: a service that still holds a real key (or real temporary
// credentials behind a placeholder-looking token) is refused by keygate, named, and nothing
// reaches the provider.
func TestAWSSDKRealCredentialRefused(t *testing.T) {
	fake := newFakeS3(realAKID, realSecret)
	up := httptest.NewServer(fake)
	defer up.Close()
	s := startStack(t, awsConfig, up.URL, awsKeys)
	hc := egressClient(s)
	ctx := context.Background()
	for name, c := range map[string]*s3.Client{
		"real key":                       s3Client(hc, realAKID, ""),
		"another real-looking key":       s3Client(hc, "AKIAI44QH8DHBEXAMPLE", ""),
		"temporary key with fake token":  s3Client(hc, "ASIAI44QH8DHBEXAMPLE", "KEYGATE-PLACEHOLDER"),
		"placeholder key with a token":   s3Client(hc, "KEYGATE-PLACEHOLDER", "FwoGZXIvYXdzEBYaDrealtoken"),
		"placeholder in the wrong case ": s3Client(hc, "keygate-placeholder", ""),
	} {
		_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
		var re interface{ HTTPStatusCode() int }
		if !errors.As(err, &re) || re.HTTPStatusCode() != 403 {
			t.Errorf("%s: err = %v, want keygate's 403", name, err)
			continue
		}
		var ae smithy.APIError
		if errors.As(err, &ae) && strings.Contains(ae.Error(), realAKID) {
			t.Errorf("%s: the refusal repeats the access key ID: %v", name, err)
		}
	}
	if verified, refused := fake.counts(); len(verified)+len(refused) > 0 {
		t.Fatalf("requests with a real credential reached the provider: %d", len(verified)+len(refused))
	}
}
