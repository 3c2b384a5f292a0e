package dryrun

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/keygate/keygate/internal/failure"
	"github.com/keygate/keygate/internal/secret"
	"github.com/keygate/keygate/signer"
)

// PlaceholderToken stands in for a provider's token in a dry run that was not asked to fetch
// one. It is plainly not a token, so a printed request cannot be mistaken for (or replayed as) a
// real one.
const PlaceholderToken = "KEYGATE-DRY-RUN-PLACEHOLDER-TOKEN-NOT-FETCHED"

// placeholderTokens is the token source of a dry run without --fetch-token: every read gets
// the placeholder, and nothing is fetched, saved or invalidated. A provider that revokes its
// previous token when it issues a new one keeps the fleet's live token.
type placeholderTokens struct{ used bool }

var _ signer.TokenSource = (*placeholderTokens)(nil)

func (p *placeholderTokens) Token(context.Context) (secret.Value, error) {
	p.used = true
	return secret.New([]byte(PlaceholderToken)), nil
}

func (p *placeholderTokens) Load(context.Context) (secret.Value, bool) {
	p.used = true
	return secret.New([]byte(PlaceholderToken)), true
}

func (p *placeholderTokens) Save(context.Context, secret.Value, time.Time) error { return nil }
func (p *placeholderTokens) Invalidate(context.Context)                          {}

type offlineKey struct{}

// Offline marks ctx as a dry run's: HTTP clients built with OfflineTransport refuse to send
// anything on it.
func Offline(ctx context.Context) context.Context { return context.WithValue(ctx, offlineKey{}, true) }

// IsOffline reports whether ctx belongs to a dry run that may not use the network.
func IsOffline(ctx context.Context) bool { v, _ := ctx.Value(offlineKey{}).(bool); return v }

// ErrOffline is what a dry run's HTTP call gets: nothing leaves a dry run.
var ErrOffline = errors.New("a dry run sends nothing (run keygate sign with --fetch-token to fetch the provider's token)")

// OfflineTransport wraps next and refuses every request whose context is Offline: the one
// place the token manager's and scripts' HTTP calls go through in a keygate process.
func OfflineTransport(next http.RoundTripper) http.RoundTripper {
	return offlineTransport{next: next}
}

type offlineTransport struct{ next http.RoundTripper }

func (t offlineTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if IsOffline(r.Context()) {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, failure.Wrap(failure.BadRequest, "dry_run", ErrOffline, "")
	}
	return t.next.RoundTrip(r)
}
