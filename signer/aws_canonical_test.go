package signer

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/failure"
)

// referenceCanonicalRequest is the canonical request as it was built before the buffer
// version (a map of lower-case names, strings.Fields per value, strings.Builder).
func referenceCanonicalRequest(s *awsStep, r *Request, payload string) (string, string, error) {
	query, err := awsCanonicalQuery(r.RawQuery())
	if err != nil {
		return "", "", failure.Wrap(failure.BadRequest, "sign", err, "query")
	}
	path := r.PathOnly()
	if path == "" {
		path = "/"
	}
	if s.p.Service == "s3" {
		if p, err := url.PathUnescape(path); err == nil {
			path = p
		}
	}
	names := []string{"host"}
	values := map[string]string{"host": r.Authority}
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		if s.unsigned[lk] || strings.HasPrefix(lk, "x-envoy-") || strings.HasPrefix(lk, "x-forwarded-") || lk == "host" {
			continue
		}
		trimmed := make([]string, len(v))
		for i, val := range v {
			trimmed[i] = strings.Join(strings.Fields(val), " ")
		}
		names = append(names, lk)
		values[lk] = strings.Join(trimmed, ",")
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(r.Method + "\n" + URIEncode(path, false) + "\n" + query + "\n")
	for _, n := range names {
		b.WriteString(n + ":" + values[n] + "\n")
	}
	signed := strings.Join(names, ";")
	b.WriteString("\n" + signed + "\n" + payload)
	return b.String(), signed, nil
}

// TestAWSCanonicalRequestMatchesReference: the buffer version writes exactly what the map
// version wrote, over random headers (case, white space of every kind, unicode spaces,
// several values, unsigned and Envoy headers) and paths.
func TestAWSCanonicalRequestMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	names := []string{"Content-Type", "X-Amz-Date", "X-Custom", "x-lower", "X-Envoy-Original-Path", "X-Forwarded-For",
		"User-Agent", "Host", "A", "X-Amz-Meta-Ü", "X_Under", "Zz", "X-Amz-Content-Sha256", strings.Repeat("X-Long", 40)}
	values := []string{"", "a", "a b", " a", "a ", "a  b", "a\tb", "a\u00a0b", "\u2003x\u2003", "x\u0085y", "plain-value/1.0",
		"a,b", "\x7f", "é", "  ", strings.Repeat("v", 300)}
	for _, service := range []string{"execute-api", "s3"} {
		step := mustStep(t, "aws_sigv4", "{access_key_id: AK, secret_access_key: k, region: us-east-1, service: "+service+"}",
			map[string]string{"k": "secret/p#k"}, nil).(*awsStep)
		for i := range 2000 {
			h := http.Header{}
			for range rng.IntN(8) {
				n := names[rng.IntN(len(names))]
				for range 1 + rng.IntN(3) {
					h[n] = append(h[n], values[rng.IntN(len(values))])
				}
			}
			path := []string{"/", "", "/a b/c", "/a%20b/%2F", "/ü?x=1&a=%20"}[rng.IntN(5)]
			r := NewRequest("POST", "https", "api.example.com", path, h, nil)
			want, wantSigned, wantErr := referenceCanonicalRequest(step, r, "PAYLOAD")
			got, signed, err := step.appendCanonicalRequest(nil, r, "PAYLOAD")
			if (err != nil) != (wantErr != nil) || string(got) != want || string(got[signed.from:signed.to]) != wantSigned {
				t.Fatalf("case %d (%s, %q %v):\n got %q (%v)\nwant %q (%v)", i, service, path, h, got, err, want, wantErr)
			}
		}
	}
}

// TestAWSSigningKeyFollowsSecretAndDay: the cached signing key is the one of today's date and
// the current secret: a rotated secret or the next day derives a new one.
func TestAWSSigningKeyFollowsSecretAndDay(t *testing.T) {
	secrets := map[string]string{"k": "secret/p#k"}
	step := mustStep(t, "aws_sigv4", "{access_key_id: AK, secret_access_key: k, region: us-east-1, service: iam}", secrets, nil)
	store := &memStore{vals: map[string]string{"secret/p#k": "first-secret"}}
	sign := func(day int) string {
		r := NewRequest("GET", "https", "iam.amazonaws.com", "/", http.Header{}, nil)
		x := exchange(t, store, secrets, r)
		x.Clock = FixedClock(time.Date(2025, 1, day, 12, 0, 0, 0, time.UTC), "")
		if err := step.SignRequest(context.Background(), x); err != nil {
			t.Fatal(err)
		}
		return r.Header.Get("Authorization")
	}
	fresh := func(day int) string { // a new step: nothing cached
		s2 := mustStep(t, "aws_sigv4", "{access_key_id: AK, secret_access_key: k, region: us-east-1, service: iam}", secrets, nil)
		r := NewRequest("GET", "https", "iam.amazonaws.com", "/", http.Header{}, nil)
		x := exchange(t, store, secrets, r)
		x.Clock = FixedClock(time.Date(2025, 1, day, 12, 0, 0, 0, time.UTC), "")
		if err := s2.SignRequest(context.Background(), x); err != nil {
			t.Fatal(err)
		}
		return r.Header.Get("Authorization")
	}
	for i, tc := range []struct {
		day    int
		secret string
	}{{1, "first-secret"}, {1, "first-secret"}, {2, "first-secret"}, {2, "rotated-secret"}, {2, "first-secret"}} {
		store.vals["secret/p#k"] = tc.secret
		if got, want := sign(tc.day), fresh(tc.day); got != want {
			t.Fatalf("step %d (day %d, %s): cached key signed\n %s\nwant %s", i, tc.day, tc.secret, got, want)
		}
	}
}

// TestAWSCanonicalRequestOneNameTwoKeys: a header map holding one name under two keys (a
// script's own spelling) is signed as before (the slow path).
func TestAWSCanonicalRequestOneNameTwoKeys(t *testing.T) {
	step := mustStep(t, "aws_sigv4", "{access_key_id: AK, secret_access_key: k, region: us-east-1, service: iam}",
		map[string]string{"k": "secret/p#k"}, nil).(*awsStep)
	r := NewRequest("GET", "https", "h", "/", http.Header{"X-Custom": {"same"}, "x-custom": {"same"}, "B": {"b"}}, nil)
	want, wantSigned, _ := referenceCanonicalRequest(step, r, "P")
	got, signed, err := step.appendCanonicalRequest(nil, r, "P")
	if err != nil || string(got) != want || string(got[signed.from:signed.to]) != wantSigned {
		t.Fatalf("got %q, want %q", got, want)
	}
}
