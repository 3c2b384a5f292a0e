package daemon

import (
	"context"
	"testing"

	"github.com/keygate/keygate/internal/app"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/keystore"
	"github.com/keygate/keygate/keystore/fromconfig"
)

// openApp opens keystore ks and an App over it, both closed when the test ends.
func openApp(t *testing.T, ks config.Keystore) (*app.App, keystore.Store) {
	t.Helper()
	ctx := context.Background()
	store, err := fromconfig.Open(ctx, ks, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	a, err := app.New(ctx, ks, app.Options{Keystore: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a, store
}
