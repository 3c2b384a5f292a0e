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

// TestPastedResponseIsChosen: a redacted dry run's pasted answer reaches the response steps
// marked as chosen by the caller (the admin API's tenant developer pastes it), so a script
// will not decrypt it under a secret IV; a revealed run's caller may see the secrets anyway.
func TestPastedResponseIsChosen(t *testing.T) {
	raw := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
	for _, reveal := range []bool{false, true} {
		step := &seenResponse{}
		call := &gateway.Call{Provider: &gateway.Provider{Steps: []signer.Step{step}, Schemes: []string{"seen"}},
			Exchange: &signer.Exchange{}}
		if _, err := processResponse(context.Background(), call, Input{Reveal: reveal}, raw); err != nil {
			t.Fatal(err)
		}
		if step.got == nil || step.got.Chosen == reveal {
			t.Fatalf("reveal %v: the response steps saw %+v, want Chosen %v", reveal, step.got, !reveal)
		}
	}
}
