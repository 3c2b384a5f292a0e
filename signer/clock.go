package signer

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// SystemClock is the production Clock: wall time and 128 random bits as 32 hex characters.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Nonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics on a broken OS source)
	return hex.EncodeToString(b[:])
}

// FixedClock pins time and nonce for dry runs (`keygate sign --time --nonce`) and tests. An
// empty nonce falls back to random nonces.
func FixedClock(t time.Time, nonce string) Clock { return fixedClock{t: t, nonce: nonce} }

type fixedClock struct {
	t     time.Time
	nonce string
}

func (c fixedClock) Now() time.Time { return c.t }

func (c fixedClock) Nonce() string {
	if c.nonce == "" {
		return systemClock{}.Nonce()
	}
	return c.nonce
}
