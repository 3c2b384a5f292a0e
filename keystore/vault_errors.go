package keystore

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"

	vault "github.com/hashicorp/vault/api"

	"github.com/keygate/keygate/internal/failure"
)

// ClassifyVaultError is classify for the other users of Vault KV (the shared token store and
// config version store): ErrCASMismatch tells a lost check-and-set race.
func ClassifyVaultError(err error) (detail string, sentinel error) { return classify(err) }

// classify maps a vault/api error to a keystore sentinel and a short, secret-free detail.
// Vault's error bodies name paths and reasons, never secret values; request bodies (which may
// hold values on writes) are never echoed.
func classify(err error) (detail string, sentinel error) {
	var re *vault.ResponseError
	if errors.As(err, &re) {
		detail := "vault answered " + http.StatusText(re.StatusCode)
		if len(re.Errors) > 0 {
			// Vault sends multierrors as one multi-line string: fold it onto one line.
			detail += ": " + strings.Join(strings.Fields(strings.Join(re.Errors, "; ")), " ")
		}
		switch {
		case re.StatusCode == http.StatusNotFound:
			return detail, ErrNotFound
		case re.StatusCode == http.StatusForbidden:
			return detail, ErrDenied
		case re.StatusCode == http.StatusBadRequest && mentions(re.Errors, "check-and-set"):
			return detail, ErrCASMismatch
		case re.StatusCode == http.StatusBadRequest && mentions(re.Errors, "not found"):
			// transit answers 400 "encryption key not found" for a missing key: Vault gives no
			// better signal than the text.
			return detail, ErrNotFound
		case re.StatusCode == http.StatusServiceUnavailable:
			return "vault is sealed or in standby: " + detail, ErrUnavailable
		}
		return detail, ErrUnavailable
	}
	return describe(err), ErrUnavailable
}

// describe names a transport failure without dumping the request.
func describe(err error) string {
	var ne net.Error
	var oe *net.OpError
	var ce *tls.CertificateVerificationError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "vault did not answer in time"
	case errors.Is(err, context.Canceled):
		return "request cancelled"
	case errors.As(err, &ce):
		// A wrong tls.ca_file or server_name is not an outage: say so (x509 names the
		// certificate's names and the name asked for, nothing secret).
		return "vault's TLS certificate was not accepted: " + ce.Err.Error()
	case errors.As(err, &oe):
		return "vault unreachable: " + oe.Err.Error()
	}
	var re *vault.ResponseError
	if errors.As(err, &re) {
		return "vault answered " + http.StatusText(re.StatusCode)
	}
	return "vault unreachable"
}

func mentions(msgs []string, s string) bool {
	for _, m := range msgs {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

func readyFailure(err error) error {
	return &failure.Error{Kind: failure.Unavailable, Stage: stage, Msg: "not ready", Err: err}
}
