package script

import (
	"fmt"
	"sort"

	"github.com/keygate/keygate/internal/config"
)

// A role says where a secret may go. The script author is untrusted with respect to key bytes
// (docs/custom-mode.md, "Threat model"), so each built-in argument position accepts only the
// roles for which that position reveals nothing, whatever the script chooses for the other
// arguments:
//
//	aes_key      the key of aes_* (alone: a key that is part known text could be brute-forced)
//	iv           the IV or nonce of aes_*, under the one aes_key it is declared with
//	hmac_key     the key of hmac_* (known text around it allowed, as "TC3" + key); the outputs
//	             of the first chain-1 HMACs of a chain are handles of the same role
//	sign_string  inside the data of a digest, an HMAC or a signature (buildSignStr), and
//	             through an encoder, whose output is a handle of the same role
//	private_key  the key of rsa_sign / ecdsa_sign
//	token        a request header value (from token_load)
//	opaque       nowhere
//
// Data positions (digest, HMAC and signature data) are one-way: what comes out is a MAC or a
// digest, which signing sends anyway. Nothing that comes out of a built-in as plain bytes is an
// invertible function of a secret.
type role uint8

const (
	roleUnset role = iota
	roleAESKey
	roleIV
	roleHMACKey
	roleSignString
	rolePrivateKey
	roleToken
	roleOpaque
)

var roleNames = map[role]string{
	roleAESKey: "aes_key", roleIV: "iv", roleHMACKey: "hmac_key", roleSignString: "sign_string",
	rolePrivateKey: "private_key", roleToken: "token", roleOpaque: "opaque",
}

func (r role) String() string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return "unset"
}

// secretRole is a provider secret's role with its parameters.
type secretRole struct {
	role  role
	key   string // iv: the aes_key secret it is bound to
	chain int    // hmac_key: the number of HMACs in its key chain; the last one's output is plain
}

// defaultRoles are the roles of the article's names when the config declares none.
var defaultRoles = map[string]secretRole{
	aesKeyName:    {role: roleAESKey},
	aesIVName:     {role: roleIV, key: aesKeyName},
	appSecretName: {role: roleSignString},
	"private_key": {role: rolePrivateKey},
}

// compileRoles checks script.secrets against the provider's secrets and returns the declared
// and default roles by secret name. path is the config path of script.secrets for errors.
func compileRoles(path string, decl map[string]config.ScriptSecret, declared func(string) bool) (map[string]secretRole, error) {
	out := map[string]secretRole{}
	for name, r := range defaultRoles {
		if declared(name) {
			out[name] = r
		}
	}
	names := make([]string, 0, len(decl))
	for n := range decl {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		d, p := decl[name], path+"."+name
		if !declared(name) {
			return nil, fmt.Errorf("%s: the provider declares no secret %q", p, name)
		}
		var r secretRole
		for k, v := range roleNames {
			if v == d.Role && k != roleToken {
				r.role = k
			}
		}
		if r.role == roleUnset {
			return nil, fmt.Errorf("%s.role: %q is not one of aes_key, iv, hmac_key, sign_string, private_key, opaque", p, d.Role)
		}
		switch {
		case d.Chain != 0 && r.role != roleHMACKey:
			return nil, fmt.Errorf("%s.chain: only an hmac_key has a chain", p)
		case d.Chain < 0 || d.Chain > 16:
			return nil, fmt.Errorf("%s.chain: want 1 to 16 HMACs, got %d", p, d.Chain)
		case d.Key != "" && r.role != roleIV:
			return nil, fmt.Errorf("%s.key: only an iv is bound to a key", p)
		case r.role == roleIV && d.Key == "":
			return nil, fmt.Errorf("%s.key: an iv needs the aes_key secret it goes with", p)
		}
		r.chain, r.key = d.Chain, d.Key
		out[name] = r
	}
	for name, r := range out {
		if r.role != roleIV {
			continue
		}
		if k, ok := out[r.key]; !ok || k.role != roleAESKey {
			return nil, fmt.Errorf("%s.%s.key: %q is not a secret declared with role aes_key", path, name, r.key)
		}
	}
	return out, nil
}

// roleOf is the role of a provider secret: declared, by name, or else fixed by its first use
// in this compiled script (want). A secret keeps one role for the life of a config version, so
// a script cannot use one secret in two roles whose combination would reveal it.
func (s *Step) roleOf(name string, want role) secretRole {
	if r, ok := s.roles[name]; ok {
		return r
	}
	if want == roleIV || want == roleUnset {
		want = roleOpaque // an IV is bound to a key: it must be declared
	}
	v, _ := s.inferred.LoadOrStore(name, secretRole{role: want})
	return v.(secretRole)
}

func (r secretRole) chainLen() int {
	return max(r.chain, 1)
}
