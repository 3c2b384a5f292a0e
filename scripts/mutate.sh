#!/usr/bin/env bash
# Mutation testing of the trust-boundary packages (`make mutate`): go-gremlins plants one
# mutant at a time (a flipped condition, a moved boundary, an inverted operator) in a package
# and runs that package's tests; a mutant the tests do not notice LIVED. Prints each package's
# efficacy (killed / killed+lived) and the mutants that lived, to be killed by a test or listed
# as equivalent with a reason. Not in CI: the whole set takes longer than CI's budget on two
# cores; run it on the packages a change touches:
#
#   scripts/mutate.sh ./internal/tenancy ./internal/routing
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
gremlins="$GO run github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0"
pkgs=("$@")
if [ ${#pkgs[@]} -eq 0 ]; then
  pkgs=(./internal/tenancy ./internal/routing ./internal/mtls ./internal/admin ./internal/gateway
        ./internal/script ./keystore ./extproc ./signer ./internal/versions)
fi
for p in "${pkgs[@]}"; do
  echo "== $p"
  $gremlins unleash "$p" --workers 2 --timeout-coefficient 4 -S l 2>&1 |
    grep -E 'LIVED|Killed:|Test efficacy|Mutator coverage' || true
done
