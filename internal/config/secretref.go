package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/keygate/keygate/keystore"
)

// UndeclaredSecret is the error for a secret name that the provider's secrets do not declare.
// It never repeats the name: a careless config writes the secret's value where its name
// belongs (client_secret: s3cr3t), and the error is printed, logged and audited.
func UndeclaredSecret(declared []string) string {
	slices.Sort(declared)
	list := "none"
	if len(declared) > 0 {
		list = strings.Join(declared, ", ")
	}
	return fmt.Sprintf("names no secret declared in the provider's secrets (declared: %s); "+
		"the value is not shown in case it is a secret itself: write the name of an entry of secrets "+
		"here, and keep the value in the keystore", list)
}

// refExample is the reference form the hints show.
const refExample = "MOUNT/PATH#FIELD, e.g. secret/keygate/acme/pay#app_secret"

// checkSecretRef is the error for a secret reference that can never resolve, or nil. A text
// that does not even look like a reference is not echoed: it may be the secret itself.
func checkSecretRef(path, text string) error {
	if rest, ok := strings.CutPrefix(strings.ToLower(text), "vault:"); ok {
		fixed := strings.TrimPrefix(text[len("vault:"):], "//")
		if _, err := keystore.ParseRef(fixed); err == nil && rest != "" {
			return Hinted(path, fmt.Sprintf("write %s", fixed),
				"secret reference %q has a vault: prefix; a reference is MOUNT/PATH#FIELD, the keystore is chosen by keystore.type", text)
		}
	}
	ref, err := keystore.ParseRef(text)
	if err != nil {
		if !strings.HasPrefix(text, "transit:") && (!strings.Contains(text, "/") || strings.ContainsAny(text, " \t\r\n")) {
			return Hinted(path, "write "+refExample+" (or transit:MOUNT/KEY), and put the value in the keystore",
				"is not a secret reference (the value is not shown, in case it is the secret itself)")
		}
		return Hinted(path, "write "+refExample+" (or transit:MOUNT/KEY)", "%v", err)
	}
	if ref.Kind == keystore.KV {
		for _, api := range []string{"data", "metadata"} {
			if sub, ok := strings.CutPrefix(ref.Path, api+"/"); ok {
				fixed := ref
				fixed.Path = sub
				return Hinted(path, "write "+fixed.String(),
					"secret reference %q holds KV v2's API path segment %q: keygate adds it, so this names %s/%s/%s", text, api, ref.Mount, api, ref.Path)
			}
		}
	}
	return nil
}

// secretLikeVar reports whether a var's name says it holds a secret: vars are plain values,
// printed in dry runs and logs.
func secretLikeVar(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"secret", "password", "passwd", "private_key", "privatekey"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
