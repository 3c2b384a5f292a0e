# What keygate may do in Vault: read its secrets, sign with its Transit keys, look after its
# own token. Nothing else: no listing, no writes to secrets, no key export.

# KV v2 (mount "secret"): secrets under keygate/, and their metadata for version pinning.
path "secret/data/keygate/*" {
  capabilities = ["read"]
}
path "secret/metadata/keygate/*" {
  capabilities = ["read"]
}

# Transit: sign and verify with keys named keygate-*; the private keys never leave Vault.
path "transit/sign/keygate-*" {
  capabilities = ["update"]
}
path "transit/verify/keygate-*" {
  capabilities = ["update"]
}
path "transit/keys/keygate-*" {
  capabilities = ["read"]
}

# The token's own lifecycle.
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
path "auth/token/renew-self" {
  capabilities = ["update"]
}
