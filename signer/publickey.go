package signer

import (
	"bytes"
	"context"
	"crypto"
	"strings"
	"sync"

	"github.com/keygate/keygate/internal/failure"
)

// publicKeySource is a verification key given inline (parsed at build) or as a secret name
// (read per request; parsed again only when its PEM changes).
type publicKeySource struct {
	secret string // secret name; "" when inline
	ref    string // reference text, for errors

	mu     sync.Mutex
	pem    []byte
	parsed crypto.PublicKey
}

func newPublicKeySource(b Build, param, v string) (*publicKeySource, error) {
	if strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN") {
		k, err := ParsePublicKeyPEM([]byte(v))
		if err != nil {
			return nil, paramError(b, param, "%v", err)
		}
		return &publicKeySource{ref: "inline key", parsed: k}, nil
	}
	if err := requireParamSecret(b, param, v, true); err != nil {
		return nil, err
	}
	return &publicKeySource{secret: v, ref: b.Secrets[v].String()}, nil
}

func (p *publicKeySource) describe() string { return p.ref }

func (p *publicKeySource) get(ctx context.Context, x *Exchange) (crypto.PublicKey, error) {
	if p.secret == "" {
		return p.parsed, nil
	}
	v, err := x.Keys.Secret(ctx, x, p.secret)
	if err != nil {
		return nil, err
	}
	raw := v.Reveal()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.parsed != nil && bytes.Equal(p.pem, raw) {
		return p.parsed, nil
	}
	k, err := ParsePublicKeyPEM(raw)
	if err != nil {
		return nil, failure.Wrap(failure.Internal, "verify", err, p.ref)
	}
	p.pem, p.parsed = bytes.Clone(raw), k
	return k, nil
}
