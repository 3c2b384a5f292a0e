package failure

import (
	"context"
	"errors"
	"net"
	"net/url"
)

// WithoutURL drops the *url.Error wrapper of an HTTP client error: it quotes the whole request
// URL, whose query may carry a credential (a static key in: query, a script's parameter). The
// cause (refused, reset, timeout, a bad escape) stays.
func WithoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// TransportKind classifies a failure to get an HTTP answer: out of time (the request's
// context or the network) is Timeout, anything else (refused, reset, DNS) Unavailable.
func TransportKind(ctx context.Context, err error) Kind {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded || (errors.As(err, &ne) && ne.Timeout()) {
		return Timeout
	}
	return Unavailable
}
