#!/bin/sh
# One-shot set-up of the docker-compose trial's Vault dev server:
#   - the demo provider's secrets at secret/keygate/demo (KV v2, from deploy/demo.env),
#   - the Transit engine with a demo signing key keygate-demo,
#   - the keygate policy (deploy/keygate-policy.hcl) and a token carrying only that policy,
#     written to /run/keygate/vault-token for keygate (token_file in deploy/keygate-compose.yaml).
# VAULT_TOKEN is the dev server's root token, from the environment: trial only. Idempotent.
set -eu

: "${VAULT_ADDR:?VAULT_ADDR is required}"
: "${VAULT_TOKEN:?VAULT_TOKEN (the dev root token) is required}"
for v in DEMO_APP_SECRET DEMO_AES_KEY DEMO_AES_IV; do
  eval "[ -n \"\${$v:-}\" ]" || { echo "vault-init: $v is not set (deploy/demo.env)" >&2; exit 1; }
done

# Wait for the server, bounded: 60 tries, one second apart.
tries=0
until vault status >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "vault-init: Vault at $VAULT_ADDR did not come up" >&2; exit 1; }
  sleep 1
done

# Values go in through stdin (a JSON document), never on the command line where ps shows them.
printf '{"app_secret":"%s","aes_key":"%s","aes_iv":"%s"}' \
  "$DEMO_APP_SECRET" "$DEMO_AES_KEY" "$DEMO_AES_IV" | vault kv put secret/keygate/demo - >/dev/null
echo "vault-init: wrote secret/keygate/demo (app_secret, aes_key, aes_iv)"

vault secrets list -format=json | grep -q '"transit/"' || vault secrets enable transit >/dev/null
vault read transit/keys/keygate-demo >/dev/null 2>&1 ||
  vault write -f transit/keys/keygate-demo type=ecdsa-p256 >/dev/null
echo "vault-init: transit enabled, key keygate-demo"

vault policy write keygate /deploy/keygate-policy.hcl >/dev/null
umask 077
mkdir -p /run/keygate
vault token create -policy=keygate -period=24h -display-name=keygate -field=token > /run/keygate/vault-token.tmp
# keygate runs as distroless "nonroot" (65532) and must be the only reader.
chown 65532:65532 /run/keygate/vault-token.tmp
mv /run/keygate/vault-token.tmp /run/keygate/vault-token
echo "vault-init: policy keygate written, token for keygate in /run/keygate/vault-token"
