package script

import (
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
)

// TestRoleConfigErrors: script.secrets is checked at config load, with errors naming the field.
func TestRoleConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		roles map[string]config.ScriptSecret
		want  string
	}{
		{map[string]config.ScriptSecret{"nope": {Role: "aes_key"}}, `providers[0].script.secrets.nope: the provider declares no secret "nope"`},
		{map[string]config.ScriptSecret{"other": {Role: "key"}}, `secrets.other.role: "key" is not one of aes_key, iv, hmac_key, sign_string, private_key, opaque`},
		{map[string]config.ScriptSecret{"other": {Role: "token"}}, `secrets.other.role: "token" is not one of`},
		{map[string]config.ScriptSecret{"other": {Role: "iv"}}, `secrets.other.key: an iv needs the aes_key secret it goes with`},
		{map[string]config.ScriptSecret{"other": {Role: "iv", Key: "app_secret"}}, `secrets.other.key: "app_secret" is not a secret declared with role aes_key`},
		{map[string]config.ScriptSecret{"other": {Role: "sign_string", Chain: 2}}, `secrets.other.chain: only an hmac_key has a chain`},
		{map[string]config.ScriptSecret{"other": {Role: "hmac_key", Chain: 99}}, `secrets.other.chain: want 1 to 16 HMACs, got 99`},
		{map[string]config.ScriptSecret{"other": {Role: "aes_key", Key: "aes_key"}}, `secrets.other.key: only an iv is bound to a key`},
	} {
		_, err := Compile(config.Script{Inline: "function (a) {}", Secrets: tc.roles}, testBuild(t), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.roles, err, tc.want)
		}
	}
	if _, err := Compile(config.Script{Inline: "function (a) {}", MemoryBytes: 1 << 40}, testBuild(t), Options{}); err == nil ||
		!strings.Contains(err.Error(), "providers[0].script.memory_bytes: want 1 to 33554432 bytes") {
		t.Errorf("memory over the ceiling: err = %v", err)
	}
}
