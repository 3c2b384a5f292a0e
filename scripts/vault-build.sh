#!/usr/bin/env bash
# Builds a HashiCorp Vault binary from the sources served by the Go module proxy, once, into a cache
# folder outside the repository, and prints its path. No download site for Vault releases is
# reachable from our machines, so this is how tests and CI get a real `vault server -dev`.
#
#   VAULT_BIN=/path/to/vault   use a vault you already have (printed back, nothing is built)
#   KEYGATE_CACHE=DIR          cache folder (default ~/.cache/keygate)
#
# The recipe (verified): take github.com/hashicorp/vault@v1.21.4 from the module proxy, drop the
# replace lines for the nested api/sdk modules (they are not in the module zip), build with
# -mod=mod so the released sdk/api are used, adapt the three places where the released sdk differs
# from Vault's in-tree copy, and build with -tags minimal (kv, transit, pki, approle, userpass,
# cert, jwt/oidc).
set -euo pipefail

if [ -n "${VAULT_BIN:-}" ]; then
  [ -x "$VAULT_BIN" ] || { echo "vault-build: VAULT_BIN=$VAULT_BIN is not an executable" >&2; exit 1; }
  echo "$VAULT_BIN"; exit 0
fi

version=1.21.4
cache=${KEYGATE_CACHE:-$HOME/.cache/keygate}
out=$cache/vault-$version/vault
if [ -x "$out" ] && "$out" version >/dev/null 2>&1; then echo "$out"; exit 0; fi

mkdir -p "$cache"
# One build at a time per cache folder: test binaries of several packages may all ask for the
# binary at once; the others wait and then reuse it.
exec 9>"$cache/vault-$version.lock"
if ! flock -n 9; then
  echo "vault-build: another vault build is running; waiting for it" >&2
  flock 9
fi
if [ -x "$out" ] && "$out" version >/dev/null 2>&1; then echo "$out"; exit 0; fi

# Holding the lock, any source folder left here is from a build that was killed: remove it.
for old in "$cache"/vault-src.*; do
  [ -e "$old" ] && { chmod -R u+w "$old" 2>/dev/null; rm -rf "$old"; }
done
work=$(mktemp -d "$cache/vault-src.XXXXXX")
tmp="$out.tmp.$$"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work" "$tmp"' EXIT
# bash skips the EXIT trap when an untrapped signal kills it: turn them into exits, stopping
# the build (run in the background below so that bash can take the signal at once).
trap 'kill $(jobs -p) 2>/dev/null; exit 130' INT
trap 'kill $(jobs -p) 2>/dev/null; exit 143' TERM HUP

echo "vault-build: fetching github.com/hashicorp/vault@v$version sources (module proxy)" >&2
dir=$(cd "$work" && GOFLAGS= go mod download -json "github.com/hashicorp/vault@v$version" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || { echo "vault-build: go mod download gave no source folder" >&2; exit 1; }
cp -r "$dir" "$work/src"; chmod -R u+w "$work/src"; cd "$work/src"

# Nested modules (api, sdk, api/auth/*) are not in the module zip: use the released ones.
sed -i -E '/^replace github.com\/hashicorp\/vault\/[a-z/]+ => \.\//d' go.mod

# 1. The released sdk's RestorePolicy returns only an error.
sed -i 's/restoredKeyName, err := b.lm.RestorePolicy(ctx, req.Storage, keyName, backupB64, force)/err := b.lm.RestorePolicy(ctx, req.Storage, keyName, backupB64, force); restoredKeyName := keyName/' \
  builtin/logical/transit/path_restore.go
# 2. The released sdk's ActivationFunc takes (ctx, req, string).
sed -i 's/ActivationFunc: iStore.activateDeduplication,/ActivationFunc: func(ctx context.Context, req *logical.Request, _ string) error { return iStore.activateDeduplication(ctx, req) },/' \
  vault/identity_store.go
# 3. ... and its caller passes the third argument.
sed -i 's/b.idStoreBackend.ActivationFunc(ctx, nil)/b.idStoreBackend.ActivationFunc(ctx, nil, "")/' \
  vault/logical_system_activation_flags.go
for f in builtin/logical/transit/path_restore.go vault/identity_store.go vault/logical_system_activation_flags.go; do
  grep -q 'restoredKeyName := keyName\|_ string) error { return iStore\|ActivationFunc(ctx, nil, "")' "$f" ||
    { echo "vault-build: patch did not apply to $f (recipe is for v$version)" >&2; exit 1; }
done

echo "vault-build: building vault v$version -tags minimal (about 12 minutes cold on 2 cores)" >&2
mkdir -p "$(dirname "$out")"
GOFLAGS=-mod=mod CGO_ENABLED=0 go build -tags minimal -o "$tmp" . &
wait $!
mv -f "$tmp" "$out"
"$out" version >&2
echo "$out"
