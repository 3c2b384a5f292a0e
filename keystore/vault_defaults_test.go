package keystore

import (
	"errors"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// TestVaultDefaults: an unset (or negative) timeout and login retry take their defaults (two
// seconds each); set values stay.
func TestVaultDefaults(t *testing.T) {
	for _, o := range []VaultOptions{{}, {Timeout: -1, LoginRetry: -1}} {
		if d := o.withDefaults(); d.Timeout != DefaultVaultTimeout || d.LoginRetry != 2*time.Second {
			t.Errorf("%+v: timeout %v, login retry %v, want 2s and 2s", o, d.Timeout, d.LoginRetry)
		}
	}
	if d := (VaultOptions{Timeout: time.Second, LoginRetry: 3 * time.Second}).withDefaults(); d.Timeout != time.Second || d.LoginRetry != 3*time.Second {
		t.Errorf("set values replaced: %v, %v", d.Timeout, d.LoginRetry)
	}
}

// TestFailuresSayWhatWasWrong: a read or write failure's message carries its detail after the
// sentinel (what the operator acts on), and only the sentinel when there is none.
func TestFailuresSayWhatWasWrong(t *testing.T) {
	ref, err := ParseRef("secret/a#k")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		err      error
		sentinel error
		want     string
	}{
		{readFailure(ref, ErrNotFound, "no entry in the file"), ErrNotFound, "no entry in the file"},
		{writeFailure("secret", "a", ErrDenied, "this keystore is read-only"), ErrDenied, "this keystore is read-only"},
	} {
		if !errors.Is(c.err, c.sentinel) || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%v: want %v with %q", c.err, c.sentinel, c.want)
		}
	}
	if err := readFailure(ref, ErrUnavailable, ""); !strings.HasSuffix(err.Error(), ErrUnavailable.Error()) {
		t.Errorf("no detail: %q, want it to end with the sentinel", err)
	}
}

// TestVaultErrorDetail: Vault's error text is folded onto one line after the status; an answer
// without error text is the status alone.
func TestVaultErrorDetail(t *testing.T) {
	for _, c := range []struct {
		err  *vault.ResponseError
		want string
	}{
		{&vault.ResponseError{StatusCode: 403, Errors: []string{"1 error occurred:\n\t* permission denied\n\n"}}, "vault answered Forbidden: 1 error occurred: * permission denied"},
		{&vault.ResponseError{StatusCode: 404}, "vault answered Not Found"},
	} {
		if detail, _ := classify(c.err); detail != c.want {
			t.Errorf("%d %q: detail %q, want %q", c.err.StatusCode, c.err.Errors, detail, c.want)
		}
	}
}

// TestNotFoundNamesThePinnedVersion: a missing pinned version says which version; a missing
// latest says nothing of versions.
func TestNotFoundNamesThePinnedVersion(t *testing.T) {
	for s, want := range map[string]string{"secret/a#k": "no such secret", "secret/a#k@3": "no such secret (version 3)"} {
		ref, err := ParseRef(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := notFoundDetail(ref, "no such secret"); got != want {
			t.Errorf("%s: %q, want %q", s, got, want)
		}
	}
}
