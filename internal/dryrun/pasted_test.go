package dryrun

import (
	"context"
	"testing"

	"github.com/keygate/keygate/internal/gateway"
	"github.com/keygate/keygate/signer"
)

// seenResponse is a response step that records the response it processed.
type seenResponse struct{ got *signer.Response }

func (s *seenResponse) Needs() signer.Needs                                 { return signer.Needs{} }
func (s *seenResponse) SignRequest(context.Context, *signer.Exchange) error { return nil }
func (s *seenResponse) ProcessResponse(_ context.Context, x *signer.Exchange) error {
	s.got = x.Response
	return nil
}

// TestPastedResponseIsChosen: a pasted answer the caller chose (the admin API's redacted run,
// a tenant developer's) reaches the response steps marked so, and no step decrypts it under a
// secret IV; `keygate sign`'s (not marked) is decrypted as the provider's.
func TestPastedResponseIsChosen(t *testing.T) {
	raw := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
	for _, chosen := range []bool{false, true} {
		step := &seenResponse{}
		call := &gateway.Call{Provider: &gateway.Provider{Steps: []signer.Step{step}, Schemes: []string{"seen"}},
			Exchange: &signer.Exchange{}}
		if _, err := processResponse(context.Background(), call, Input{ChosenResponse: chosen}, raw); err != nil {
			t.Fatal(err)
		}
		if step.got == nil || step.got.Chosen != chosen {
			t.Fatalf("chosen %v: the response steps saw %+v", chosen, step.got)
		}
	}
}
