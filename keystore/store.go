package keystore

import (
	"context"
	"fmt"
	"io"

	"github.com/keygate/keygate/internal/failure"
)

// Store is what cmd constructs once: a Getter that must be closed. Optional capabilities
// (TransitSigner, Writer, Checker) are found by type assertion on the same value.
type Store interface {
	Getter
	io.Closer
}

// stage is the failure stage every keystore error carries.
const stage = "keystore"

// readFailure classifies a failed read of ref. Every read failure is a 503 for the caller (a
// secret that cannot be read means keygate cannot sign); the sentinel stays in the chain so the
// cache and tests can tell "not found" from "unreachable" with errors.Is. detail must never hold
// a secret value.
func readFailure(ref Ref, sentinel error, detail string) error {
	err := sentinel
	if detail != "" {
		err = fmt.Errorf("%w: %s", sentinel, detail)
	}
	return &failure.Error{Kind: failure.Unavailable, Stage: stage, Msg: ref.String(), Err: err}
}

// writeFailure classifies a failed write of mount/path. Writes come from admins, so the kinds
// say what the admin should do: a CAS mismatch or missing secret is their request, a denied
// write is the policy, anything else is Vault being unavailable.
func writeFailure(mount, path string, sentinel error, detail string) error {
	kind := failure.Unavailable
	switch sentinel {
	case ErrCASMismatch:
		kind = failure.BadRequest
	case ErrDenied:
		kind = failure.Forbidden
	case ErrNotFound:
		kind = failure.NotFound
	}
	err := sentinel
	if detail != "" {
		err = fmt.Errorf("%w: %s", sentinel, detail)
	}
	return &failure.Error{Kind: kind, Stage: stage, Msg: mount + "/" + path, Err: err}
}

// None is the keystore of a config that references no secrets: every lookup is "not found".
type None struct{}

var _ Store = None{}

func (None) Get(_ context.Context, ref Ref) (Secret, error) {
	return Secret{}, readFailure(ref, ErrNotFound, "no keystore is configured")
}

func (None) Close() error { return nil }
