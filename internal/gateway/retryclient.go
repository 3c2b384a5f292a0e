package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/failure"
)

// DefaultConnectTimeout is the provider cluster's connect_timeout when unset (xds).
const DefaultConnectTimeout = 5 * time.Second

// retryTransport is the HTTP client of the one token retry, built from the same upstream
// settings xds turns into the provider's Envoy cluster (xds providerCluster): the CA bundle
// (ca_file, else the system roots), the SNI and the name the certificate must carry, HTTP/2,
// the connect timeout; never a proxy from the environment, never a redirect. It is used only
// for requests Envoy routes to a cluster that is not a signed one (envoy.upstream_signing off,
// script providers, hand-written bootstraps); a signed cluster's retry is Envoy's router's
// (docs/envoy-ext-proc.md section 11).
type retryTransport struct {
	cfg  config.Upstream
	once sync.Once
	c    *http.Client
	err  error
}

func (r *retryTransport) client() (*http.Client, error) {
	r.once.Do(func() { r.c, r.err = newRetryClient(r.cfg) })
	return r.c, r.err
}

func newRetryClient(up config.Upstream) (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: up.SNI}
	if up.CAFile != "" {
		pem, err := os.ReadFile(up.CAFile)
		if err != nil {
			return nil, failure.Wrap(failure.Unavailable, "retry", err, "upstream.ca_file")
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, failure.New(failure.Unavailable, "retry", "upstream.ca_file %q holds no PEM certificate", up.CAFile)
		}
	}
	tr := &http.Transport{
		Proxy:              nil, // Envoy's cluster connects directly, so does the retry
		DialContext:        (&net.Dialer{Timeout: up.ConnectTimeout.Or(DefaultConnectTimeout)}).DialContext,
		TLSClientConfig:    tc,
		DisableCompression: true, // the caller's Accept-Encoding (identity for response steps) stands
		ForceAttemptHTTP2:  up.HTTP2,
	}
	protos := new(http.Protocols)
	if up.HTTP2 {
		protos.SetHTTP2(true)
		protos.SetUnencryptedHTTP2(true)
	} else {
		protos.SetHTTP1(true)
	}
	tr.Protocols = protos
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a signed request is never replayed elsewhere
	}}, nil
}

// retryClient is the provider's retry client (see retryTransport).
func (p *Provider) retryClient() (*http.Client, error) {
	if p.retry == nil {
		return newRetryClient(config.Upstream{})
	}
	return p.retry.client()
}
