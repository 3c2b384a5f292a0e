package keystore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	vault "github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"
	"github.com/hashicorp/vault/api/auth/kubernetes"
)

// VaultAuth logs keygate in to Vault. It is vault/api's AuthMethod: Login returns the auth
// secret (token, TTL, renewable) and must not set it on the client. Secret inputs (token,
// secret_id, JWT) are read from files or the environment at each login, so a rotated file is
// picked up on re-login. Implementations never log or return the token in an error.
type VaultAuth = vault.AuthMethod

// NewTokenAuth uses a token read at login from file (if set) or the env var (default
// VAULT_TOKEN). Its TTL and renewability come from auth/token/lookup-self.
func NewTokenAuth(env, file string) VaultAuth {
	if env == "" && file == "" {
		env = "VAULT_TOKEN"
	}
	return tokenAuth{env: env, file: file}
}

type tokenAuth struct{ env, file string }

func (a tokenAuth) Login(ctx context.Context, c *vault.Client) (*vault.Secret, error) {
	tok, err := readCredential("token", a.env, a.file)
	if err != nil {
		return nil, err
	}
	c.SetToken(tok)
	s, err := c.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("token lookup-self: %w", err)
	}
	ttl, _ := s.TokenTTL()
	renewable, _ := s.TokenIsRenewable()
	return &vault.Secret{Auth: &vault.SecretAuth{
		ClientToken: tok, Renewable: renewable, LeaseDuration: int(ttl.Seconds()),
	}}, nil
}

// NewAppRoleAuth logs in with AppRole (auth/<mount>/login, mount default "approle"); the
// secret_id is read at login from file (if set) or the env var.
func NewAppRoleAuth(mount, roleID, secretIDFile, secretIDEnv string) (VaultAuth, error) {
	if roleID == "" {
		return nil, errors.New("approle auth: role_id is required")
	}
	sid := &approle.SecretID{FromFile: secretIDFile, FromEnv: secretIDEnv}
	if secretIDFile == "" && secretIDEnv == "" {
		return nil, errors.New("approle auth: secret_id_file or secret_id_env is required")
	}
	var opts []approle.LoginOption
	if mount != "" {
		opts = append(opts, approle.WithMountPath(mount))
	}
	return approle.NewAppRoleAuth(roleID, sid, opts...)
}

// NewKubernetesAuth logs in with the pod's service account token (jwtFile, default the
// standard service account path) at auth/<mount>/login (mount default "kubernetes").
func NewKubernetesAuth(mount, role, jwtFile string) (VaultAuth, error) {
	if role == "" {
		return nil, errors.New("kubernetes auth: role is required")
	}
	var opts []kubernetes.LoginOption
	if mount != "" {
		opts = append(opts, kubernetes.WithMountPath(mount))
	}
	if jwtFile != "" {
		opts = append(opts, kubernetes.WithServiceAccountTokenPath(jwtFile))
	}
	return kubernetes.NewKubernetesAuth(role, opts...)
}

// NewJWTAuth logs in with a JWT read at login from jwtFile, writing {role, jwt} to
// auth/<mount>/login (mount default "jwt"). It serves both the jwt and oidc methods' JWT flow.
func NewJWTAuth(mount, role, jwtFile string) (VaultAuth, error) {
	if role == "" || jwtFile == "" {
		return nil, errors.New("jwt auth: role and jwt_file are required")
	}
	if mount == "" {
		mount = "jwt"
	}
	return jwtAuth{mount: strings.Trim(mount, "/"), role: role, file: jwtFile}, nil
}

type jwtAuth struct{ mount, role, file string }

func (a jwtAuth) Login(ctx context.Context, c *vault.Client) (*vault.Secret, error) {
	jwt, err := readCredential("jwt", "", a.file)
	if err != nil {
		return nil, err
	}
	s, err := c.Logical().WriteWithContext(ctx, "auth/"+a.mount+"/login", map[string]any{"role": a.role, "jwt": jwt})
	if err != nil {
		return nil, fmt.Errorf("jwt login at auth/%s: %w", a.mount, err)
	}
	if s == nil || s.Auth == nil {
		return nil, fmt.Errorf("jwt login at auth/%s: no auth in the answer", a.mount)
	}
	return s, nil
}

// readCredential reads a credential from file (preferred) or env. Errors name the source only.
func readCredential(what, env, file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s file: %w", what, err)
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			return s, nil
		}
		return "", fmt.Errorf("%s file %s is empty", what, file)
	}
	if s := strings.TrimSpace(os.Getenv(env)); s != "" {
		return s, nil
	}
	return "", fmt.Errorf("%s: environment variable %s is empty", what, env)
}
