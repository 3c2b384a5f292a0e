// Package config is keygate's configuration as written: the YAML schema, strict decoding, and
// structural validation with errors that name the field path. It knows nothing of how a config
// runs; internal/gateway compiles a File into an immutable runtime snapshot.
package config

import (
	"encoding/json"
	"slices"
	"time"
)

// File is a whole keygate configuration file.
type File struct {
	Listen    Listen     `json:"listen,omitempty"`
	Egress    Egress     `json:"egress,omitempty"`
	Keystore  Keystore   `json:"keystore,omitempty"`
	Limits    Limits     `json:"limits,omitempty"`
	Envoy     Envoy      `json:"envoy,omitempty"`
	State     State      `json:"state,omitempty"`
	Admin     Admin      `json:"admin,omitempty"`
	Tenants   []Tenant   `json:"tenants,omitempty"`
	Providers []Provider `json:"providers"`
}

// State is where keygate keeps what outlives a process: config versions, the last-known-good
// config, and the audit log.
type State struct {
	// Dir holds the version history (single machine) and the last-known-good config that a
	// restart serves when the config store or Vault is unreachable. Default
	// $XDG_STATE_HOME/keygate (then ~/.local/state/keygate).
	Dir string `json:"dir,omitempty"`
	// SharedInVault keeps config versions and provider tokens in the keystore's Vault (KV v2
	// with check-and-set), so a fleet of replicas applies the same version and fetches each
	// token once. Requires keystore.type vault.
	SharedInVault bool `json:"shared_in_vault,omitempty"`
	// AuditFile is the JSON-lines audit log; default Dir/audit.jsonl, "-" for standard output.
	AuditFile string `json:"audit_file,omitempty"`
}

// RetryStatuses are the provider statuses that mean "token rejected" (purge it and retry once):
// retry_on, default [401]. The gateway and the token manager both read it here.
func (t *TokenSource) RetryStatuses() []int {
	if t == nil || len(t.RetryOn) == 0 {
		return []int{401}
	}
	return slices.Clone(t.RetryOn)
}

// DefaultTokenTimeout bounds a token fetch when token.timeout is unset (the token manager's
// default; xds sizes Envoy's ext_proc message timeout from it).
const DefaultTokenTimeout = 5 * time.Second

// Admin configures the admin API.
type Admin struct {
	Tokens []AdminToken `json:"tokens,omitempty"`
	// TokensFile holds more tokens, in the same form as Tokens (a YAML list of name, role,
	// tenant, hash): a Kubernetes Secret mounted as a file, say, so the list of who may log in
	// changes with the Secret, without a config version. Relative to the config; re-read when
	// its content changes (a file that does not parse is refused and the previous tokens stay).
	TokensFile string `json:"tokens_file,omitempty"`
	// JWT accepts signed JWTs (an OIDC provider's ID or access tokens) as bearer tokens
	// besides the static ones: docs/admin.md.
	JWT *AdminJWT `json:"jwt,omitempty"`
	// Metrics shapes /metrics on the admin listener.
	Metrics AdminMetrics `json:"metrics,omitempty"`
}

// AdminMetrics: by default /metrics answers anyone who reaches the admin listener (a Prometheus
// scrape) and names no tenant or provider. Turn on what a deployment's monitoring needs.
type AdminMetrics struct {
	// RequireToken: /metrics wants a gateway admin's bearer token (Prometheus'
	// authorization.credentials_file).
	RequireToken bool `json:"require_token,omitempty"`
	// TenantLabels: series carry tenant and provider names (per-tenant dashboards). With
	// RequireToken false, anyone who reaches the admin port then learns them.
	TenantLabels bool `json:"tenant_labels,omitempty"`
}

// AdminJWT is admin login with JWTs: the token's signature is checked against the issuer's
// keys, its iss, aud, exp and nbf against this section, and its role and tenant come from
// claims.
type AdminJWT struct {
	Issuer   string `json:"issuer"`              // the iss every token must carry
	Audience string `json:"audience"`            // a value the token's aud must contain
	JWKSURL  string `json:"jwks_url,omitempty"`  // the issuer's keys (https; http on loopback only)
	JWKSFile string `json:"jwks_file,omitempty"` // or a JWKS file (relative to the config)
	// RoleClaim holds gateway_admin, tenant_admin or tenant_developer; default "keygate_role".
	RoleClaim string `json:"role_claim,omitempty"`
	// TenantClaim holds the tenant of a tenant role; default "keygate_tenant".
	TenantClaim string `json:"tenant_claim,omitempty"`
	// Algorithms the signature may use; default RS256 and ES256.
	Algorithms []string `json:"algorithms,omitempty"`
	// MaxLifetime refuses tokens still valid for longer than this (a leaked 100-year token is
	// no login); default 24h.
	MaxLifetime Duration `json:"max_lifetime,omitempty"`
	// Console enables the web console's login by redirect to the issuer (authorization code
	// with PKCE); without it the console takes a pasted JWT.
	Console *AdminJWTConsole `json:"console,omitempty"`
}

// AdminJWTConsole is the console's OIDC client: a public client (PKCE, no secret) registered at
// the issuer with the redirect URI http(s)://<admin listener>/ui/. The token it gets must pass
// admin.jwt like any other: its aud must hold admin.jwt.audience (an ID token's aud is the
// client ID).
type AdminJWTConsole struct {
	ClientID string `json:"client_id"`
	// AuthorizationURL and TokenURL default to the issuer's discovery document
	// (ISSUER/.well-known/openid-configuration).
	AuthorizationURL string   `json:"authorization_url,omitempty"`
	TokenURL         string   `json:"token_url,omitempty"`
	Scopes           []string `json:"scopes,omitempty"` // default openid
}

// AdminToken is an admin API bearer token, stored only as its hash.
type AdminToken struct {
	Name   string `json:"name"`
	Role   string `json:"role"`             // gateway_admin | tenant_admin | tenant_developer
	Tenant string `json:"tenant,omitempty"` // for the tenant roles
	Hash   string `json:"hash"`             // "sha256:<hex>" of the token
}

// Listen holds the addresses keygate serves on.
type Listen struct {
	ExtProc string `json:"ext_proc,omitempty"` // gRPC ext_proc, default 127.0.0.1:18080
	Admin   string `json:"admin,omitempty"`    // admin API, /metrics, /healthz, /readyz; default 127.0.0.1:18081
	XDS     string `json:"xds,omitempty"`      // ADS for Envoy; default 127.0.0.1:18000
	// Health serves only GET /healthz and /readyz, in plaintext even with TLS: the kubelet's
	// probes present no client certificate. Unset: no such port (probe the admin port).
	Health string `json:"health,omitempty"`
	// Ingress is where Envoy's callback listener binds (pushed over xDS when a provider has
	// callback: true); default 0.0.0.0:10001.
	Ingress string `json:"ingress,omitempty"`
	// TLS turns on mutual TLS on all three listeners. Without it, keygate serve refuses an
	// ext_proc or xDS listener beyond loopback unless InsecurePlaintext is set: whatever reaches
	// ext_proc gets requests signed with the providers' keys.
	TLS               *ListenTLS `json:"tls,omitempty"`
	InsecurePlaintext bool       `json:"insecure_plaintext,omitempty"`
	// ExtProcAdvertise is where Envoy dials keygate's ext_proc, when not listen.ext_proc itself:
	// a Service name whose addresses are every replica (host:port). A name becomes a
	// STRICT_DNS cluster: Envoy balances streams over all of them and health-checks each, so a
	// rolling deploy drains one replica while the others serve.
	ExtProcAdvertise string `json:"ext_proc_advertise,omitempty"`
}

// ListenTLS is mTLS on keygate's own listeners: its certificate and the CA its clients'
// certificates must chain to, from files that are re-read when they change (cert-manager and
// SPIRE rotate them), and per listener the client identities allowed.
type ListenTLS struct {
	CertFile     string        `json:"cert_file"`
	KeyFile      string        `json:"key_file"`
	ClientCAFile string        `json:"client_ca_file"`
	Clients      ListenClients `json:"clients"`
	// Envoy is Envoy's side of the ext_proc connection, pushed over xDS; paths are on Envoy's
	// file system. Required when keygate pushes Envoy its config (it always does over xDS).
	Envoy *EnvoyClientTLS `json:"envoy,omitempty"`
}

// ListenClients are the client identities each listener accepts: "spiffe://..." matches a URI
// SAN, "dns:NAME" a DNS SAN, both exactly. A listener with an empty list accepts nobody.
type ListenClients struct {
	ExtProc []string `json:"ext_proc,omitempty"`
	XDS     []string `json:"xds,omitempty"`
	Admin   []string `json:"admin,omitempty"`
}

// EnvoyClientTLS is the client certificate Envoy presents to keygate's ext_proc server, the CA
// it trusts keygate's certificate with, and the identity keygate's certificate must carry.
// keygate pushes them to Envoy as SDS secrets that name the files (never their bytes); Envoy
// watches their folders and picks up rotated files without a restart.
type EnvoyClientTLS struct {
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
	CAFile   string `json:"ca_file"`
	// ServerID is keygate's identity in its certificate: "spiffe://..." (URI SAN) or "dns:NAME".
	ServerID string `json:"server_id"`
	// SNI sent to keygate; default the DNS name of ServerID, if it is one.
	SNI string `json:"sni,omitempty"`
}

// Keystore selects and configures the secret backend.
type Keystore struct {
	Type  string     `json:"type,omitempty"` // "file" (development only) or "vault"
	File  *FileStore `json:"file,omitempty"`
	Vault *Vault     `json:"vault,omitempty"`
}

// FileStore is the development keystore: a YAML file mapping "mount/path" to fields.
type FileStore struct {
	Path string `json:"path"`
}

// Vault configures the production keystore.
type Vault struct {
	Address   string    `json:"address"`
	Namespace string    `json:"namespace,omitempty"`
	Timeout   Duration  `json:"timeout,omitempty"` // per Vault call, default 2s
	TLS       *VaultTLS `json:"tls,omitempty"`
	Auth      VaultAuth `json:"auth"`
	Cache     Cache     `json:"cache,omitempty"`
	// Tenants gives a tenant its own Vault login: the secrets its providers use are read (and
	// its Transit keys used) with that login, not with auth. Give it a token or role whose
	// policy reads only the tenant's prefix (docs/vault.md, "A policy per tenant"), so even a
	// reference keygate got wrong could not reach another tenant's secrets.
	Tenants map[string]VaultAuth `json:"tenants,omitempty"`
}

// VaultTLS is the TLS client setup for Vault.
type VaultTLS struct {
	CAFile     string `json:"ca_file,omitempty"`
	ServerName string `json:"server_name,omitempty"`
}

// VaultAuth selects one auth method. Secret inputs (token, secret_id, JWT) are read from files
// or the environment, never written in the config.
type VaultAuth struct {
	Method       string `json:"method"`                   // token | approle | jwt | kubernetes
	TokenEnv     string `json:"token_env,omitempty"`      // token: env var holding it (default VAULT_TOKEN)
	TokenFile    string `json:"token_file,omitempty"`     // token: file holding it
	Mount        string `json:"mount,omitempty"`          // auth mount, default the method name
	Role         string `json:"role,omitempty"`           // jwt, kubernetes
	RoleID       string `json:"role_id,omitempty"`        // approle
	SecretIDFile string `json:"secret_id_file,omitempty"` // approle
	SecretIDEnv  string `json:"secret_id_env,omitempty"`  // approle
	JWTFile      string `json:"jwt_file,omitempty"`       // jwt, kubernetes (default the service account token)
}

// Cache bounds the in-memory secret cache.
type Cache struct {
	TTL          Duration `json:"ttl,omitempty"`            // default 5m
	NegativeTTL  Duration `json:"negative_ttl,omitempty"`   // "not found" remembered, default 10s
	StaleIfError Duration `json:"stale_if_error,omitempty"` // serve expired values while Vault is down, default 10m
	MaxBytes     int64    `json:"max_bytes,omitempty"`      // default 64 MiB
}

// Envoy holds choices about the Envoy that keygate's xDS configures.
type Envoy struct {
	// UpstreamSigning (default true) signs the requests of token providers in an ext_proc
	// upstream HTTP filter of the provider's cluster, once per router attempt, and lets Envoy's
	// router send the one retry after a rejected token (docs/envoy-ext-proc.md section 11).
	// xds reads it; keygate's ext_proc server follows the cluster Envoy really routes to
	// (routing.SignedCluster), so an Envoy without the filter is still signed downstream.
	// false keeps signing in the downstream filter and keygate's own retry (an Envoy older
	// than the upstream ext_proc filter).
	UpstreamSigning *bool `json:"upstream_signing,omitempty"`
}

// SignsUpstream reports whether xds gives provider p a signed cluster (an upstream ext_proc
// filter): envoy.upstream_signing is on and p has a token source and no script. A script
// rewrites the path itself, and every router attempt starts from the previous attempt's
// headers, so its rewrite would be applied twice.
func (f *File) SignsUpstream(p *Provider) bool {
	on := f.Envoy.UpstreamSigning == nil || *f.Envoy.UpstreamSigning
	return on && p.Token != nil && p.Script == nil
}

// Limits bound what keygate accepts.
type Limits struct {
	MaxBodyBytes int64 `json:"max_body_bytes,omitempty"` // default 1 MiB, Envoy's buffer limit
	// ExtProcMaxStreams bounds the ext_proc streams open at once, over all connections (and per
	// connection, as gRPC MaxConcurrentStreams); default 4096. Envoy opens one stream per
	// request in flight; a stream beyond the bound is refused (Envoy answers 500).
	ExtProcMaxStreams uint32 `json:"ext_proc_max_streams,omitempty"`
	// AdminMaxConnections bounds open admin connections, so that the admin plane cannot take
	// the file descriptors ext_proc needs; default 256. Read at start.
	AdminMaxConnections int `json:"admin_max_connections,omitempty"`
	// ScriptMemoryBytes is the ceiling of every provider's script.memory_bytes, the memory a
	// custom-mode invocation may make; default 32 MiB. Read at start.
	ScriptMemoryBytes int64 `json:"script_memory_bytes,omitempty"`
	// ExtProcMemoryBytes bounds the memory ext_proc streams hold for bodies, over all streams:
	// a body counts three times its size (received, worked on, replied) from when its size is
	// known until it is answered, then once (the answer being sent) until its stream ends; a
	// request whose body does not fit is answered 503. Go's memory limit follows the
	// reservations. Default 1 GiB. Read at start.
	ExtProcMemoryBytes int64 `json:"ext_proc_memory_bytes,omitempty"`
}

// Tenant owns providers. Consumers prove their tenant with a credential or mTLS identity.
type Tenant struct {
	Name        string             `json:"name"`
	Credentials []TenantCredential `json:"credentials,omitempty"`
	SPIFFEIDs   []string           `json:"spiffe_ids,omitempty"`
}

// TenantCredential is an AppKey keygate issued, stored only as its hash.
type TenantCredential struct {
	ID   string `json:"id"`
	Hash string `json:"hash"` // "sha256:<hex>" of the AppKey
}

// Provider is one third-party API as a tenant uses it.
type Provider struct {
	Name     string            `json:"name"`
	Tenant   string            `json:"tenant,omitempty"`
	Hosts    []string          `json:"hosts"` // :authority values services use for it, e.g. pay.egress.local
	Upstream Upstream          `json:"upstream"`
	Secrets  map[string]string `json:"secrets,omitempty"` // name -> reference (keystore.ParseRef)
	Token    *TokenSource      `json:"token,omitempty"`
	Signing  []Step            `json:"signing,omitempty"` // request steps, in order
	Script   *Script           `json:"script,omitempty"`  // custom mode, instead of signing
	Vars     map[string]string `json:"vars,omitempty"`    // plain (non-secret) values, e.g. AppKey
	// Callback makes this an inbound route (docs/callbacks.md): its hosts are served on the
	// ingress listener, upstream is the service's own endpoint, and signing holds one callback
	// scheme that verifies the provider's notification before the service sees it.
	Callback bool `json:"callback,omitempty"`
}

// Upstream is where a provider's requests go.
type Upstream struct {
	URL            string   `json:"url"`                       // scheme://host[:port]/prefix
	Timeout        Duration `json:"timeout,omitempty"`         // route timeout, default 15s
	ConnectTimeout Duration `json:"connect_timeout,omitempty"` // default 5s
	HTTP2          bool     `json:"http2,omitempty"`
	CAFile         string   `json:"ca_file,omitempty"` // trusted CA for server verification (default system)
	SNI            string   `json:"sni,omitempty"`     // default the URL host
	Retries        int      `json:"retries,omitempty"` // Envoy retry policy on connect-failure/refused-stream
}

// TokenSource is the first step of two-step verification: how to obtain a bearer token.
type TokenSource struct {
	Type          string   `json:"type"` // oauth2_client_credentials | http | script
	URL           string   `json:"url"`
	Timeout       Duration `json:"timeout,omitempty"`        // per fetch, default 5s
	RefreshBefore Duration `json:"refresh_before,omitempty"` // refresh this long before expiry, default 60s
	RetryOn       []int    `json:"retry_on,omitempty"`       // provider statuses that purge the token, default [401]
	ServeStale    bool     `json:"serve_stale,omitempty"`    // keep serving a still-valid token while refresh fails
	// Params are the type's own settings, decoded strictly by the token package.
	Params json.RawMessage `json:"params,omitempty"`
}

// Script is custom mode: JavaScript in goja.
type Script struct {
	File     string   `json:"file,omitempty"`
	Inline   string   `json:"inline,omitempty"`
	Timeout  Duration `json:"timeout,omitempty"` // per invocation, default 50ms
	Request  string   `json:"request,omitempty"` // function name, when the source defines several
	Response string   `json:"response,omitempty"`
	// Secrets declares the role of the provider's secrets for the script (where each may go);
	// a secret not declared here takes its role from its name (aes_key, aes_iv, app_secret,
	// private_key) or from its first use: docs/custom-mode.md, "Secret roles".
	Secrets map[string]ScriptSecret `json:"secrets,omitempty"`
	// MemoryBytes is the per-invocation memory budget (strings, arrays, buffers the script
	// makes); default and ceiling 32 MiB.
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
}

// ScriptSecret is the role of one provider secret in a script.
type ScriptSecret struct {
	Role  string `json:"role"`            // aes_key | iv | hmac_key | sign_string | private_key | opaque
	Key   string `json:"key,omitempty"`   // iv: the aes_key secret this IV or nonce goes with
	Chain int    `json:"chain,omitempty"` // hmac_key: HMACs in its key chain (TC3 4, SigV4 5); default 1
}
