# keygate: read provider secrets (KV v2) and their versions
path "secret/data/keygate/*" {
  capabilities = ["read"]
}
path "secret/metadata/keygate/*" {
  capabilities = ["read", "list"]
}

# keygate: compute with Transit keys that never leave Vault
path "transit/hmac/*" {
  capabilities = ["update"]
}
path "transit/sign/*" {
  capabilities = ["update"]
}

# keygate: share provider access tokens across the fleet
path "secret/data/keygate-tokens/*" {
  capabilities = ["create", "read", "update"]
}
path "secret/metadata/keygate-tokens/*" {
  capabilities = ["read"]
}

# keygate: config versions shared by the fleet (state.shared_in_vault); old versions are pruned
path "secret/data/keygate-config/*" {
  capabilities = ["create", "read", "update"]
}
path "secret/metadata/keygate-config/*" {
  capabilities = ["read", "list", "delete"]
}
