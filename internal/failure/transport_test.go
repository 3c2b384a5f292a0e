package failure

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestWithoutURLDropsTheQuery: an HTTP client error quotes the request URL; a credential in its
// query must not reach a message built from the error.
func TestWithoutURLDropsTheQuery(t *testing.T) {
	_, err := http.NewRequest("GET", "https://api.example.test/a%zz?api_key=k-8f2e61", nil)
	if err == nil || !strings.Contains(err.Error(), "k-8f2e61") {
		t.Fatalf("the premise changed: %v", err)
	}
	if got := WithoutURL(err).Error(); strings.Contains(got, "k-8f2e61") || !strings.Contains(got, "invalid URL escape") {
		t.Fatalf("WithoutURL kept the URL or lost the cause: %q", got)
	}
	plain := errors.New("x")
	if WithoutURL(plain) != plain {
		t.Fatal("an error without a URL changed")
	}
}

func TestTransportKind(t *testing.T) {
	expired, cancel := context.WithTimeout(context.Background(), -1)
	defer cancel()
	if k := TransportKind(expired, errors.New("x")); k != Timeout {
		t.Errorf("an expired context: %v", k)
	}
	if k := TransportKind(context.Background(), context.DeadlineExceeded); k != Timeout {
		t.Errorf("a deadline error: %v", k)
	}
	if k := TransportKind(context.Background(), errors.New("connection refused")); k != Unavailable {
		t.Errorf("a refused connection: %v", k)
	}
}
