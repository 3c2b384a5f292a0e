package keystore_test

import (
	"os"
	"testing"

	"github.com/keygate/keygate/internal/vaulttest"
)

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m)) }
