package envoyconfig

import (
	"os"
	"regexp"
	"testing"
)

// TestEnvoyImagePinnedToAPIModule: the Envoy image in docker-compose.yml runs the same minor
// version as the go-control-plane envoy module keygate generates and validates config with.
// A newer Envoy may deprecate or reject fields the module still considers fine; an older one
// may not know fields keygate sets.
func TestEnvoyImagePinnedToAPIModule(t *testing.T) {
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	compose, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	module := regexp.MustCompile(`(?m)^\s*github\.com/envoyproxy/go-control-plane/envoy v(\d+)\.(\d+)\.\d+`).FindSubmatch(gomod)
	if module == nil {
		t.Fatal("go.mod does not require github.com/envoyproxy/go-control-plane/envoy")
	}
	images := regexp.MustCompile(`(?m)^\s*image:\s*envoyproxy/envoy:(?:distroless-)?v(\d+)\.(\d+)\.(\d+)\s*$`).FindAllSubmatch(compose, -1)
	if len(images) == 0 {
		t.Fatal("docker-compose.yml has no envoyproxy/envoy:vX.Y.Z image pinned to a patch release")
	}
	for _, img := range images {
		if string(img[1]) != string(module[1]) || string(img[2]) != string(module[2]) {
			t.Errorf("docker-compose.yml runs Envoy %s.%s but go.mod has the envoy API module %s.%s: keep the minor versions equal",
				img[1], img[2], module[1], module[2])
		}
	}
}
