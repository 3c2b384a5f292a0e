#!/usr/bin/env bash
# Validates docker-compose.yml without a Docker engine: `docker compose config -q` (Compose v2;
# else the v1 `docker-compose`) parses the file, checks it against the compose schema and
# resolves variables, env_files and paths. CI runs it; installs Debian's docker-compose when
# neither is there (needs root and apt).
set -euo pipefail
cd "$(dirname "$0")/.."

compose=(docker compose)
if ! docker compose version >/dev/null 2>&1; then
  compose=(docker-compose)
fi
if [ "${compose[0]}" = docker-compose ] && ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "compose-check: installing docker-compose (Debian package)" >&2
    apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null
  else
    echo "compose-check: docker-compose is not installed (apt-get install docker-compose)" >&2
    exit 1
  fi
fi

"${compose[@]}" -f docker-compose.yml config -q
# The files the services mount must exist: compose does not check bind-mount sources.
for f in envoy/envoy.yaml deploy/keygate-compose.yaml deploy/vault-init.sh deploy/keygate-policy.hcl deploy/demo.env Dockerfile; do
  [ -f "$f" ] || { echo "compose-check: $f is missing" >&2; exit 1; }
done
sh -n deploy/vault-init.sh
echo "compose-check: docker-compose.yml is valid"
