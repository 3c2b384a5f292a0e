#!/usr/bin/env bash
# Runs every fuzz target briefly (CI: `make fuzz`). Each target first replays its seed corpus,
# then fuzzes for a number of executions (about 10 s each on a 2-core machine; the 12 targets
# stay under 2 minutes). A failure leaves the failing input under the package's testdata/fuzz/
# and exits non-zero.
#
# The budget is a count, not a duration: with a duration, Go 1.26's fuzz coordinator can fail
# a target with "context deadline exceeded" and no failing input when a worker is still busy as
# the time runs out (golang/go#75804, fixed in Go 1.27), which a loaded CI machine makes likely.
# -timeout still bounds each target, so a real hang fails.
#
#   FUZZSCALE=10 scripts/fuzz-brief.sh     fuzz ten times longer
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
scale=${FUZZSCALE:-1}

# target, package, executions at scale 1 (the goja targets run a JavaScript engine per input)
targets=(
  "FuzzProcessRequest ./extproc 20000"
  "FuzzSortedSignString ./signer 60000"
  "FuzzCloudSchemes ./signer 15000"
  "FuzzArticleScript ./internal/script 6000"
  "FuzzParseValidate ./internal/config 50000"
  "FuzzParseRoundTrip ./internal/jsonbody 150000"
  "FuzzParseMatchesEncodingJSON ./internal/jsonbody 150000"
  "FuzzValidMatchesEncodingJSON ./internal/jsonbody 150000"
  "FuzzResponseBodyObject ./internal/script 10000"
  "FuzzRoleComposition ./internal/script 2000"
  "FuzzParseRef ./keystore 100000"
  "FuzzAuthorityPath ./test/e2e 5000"
)
for t in "${targets[@]}"; do
  read -r name pkg execs <<<"$t"
  n=$((execs * scale))
  echo "== $name ($pkg, ${n} executions)"
  if ! "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "${n}x" -timeout 10m "$pkg"; then
    # The failing input is under the package's testdata/fuzz/; print it so that a CI log, whose
    # clone is thrown away, still carries the reproducer (add it to the corpus and fix).
    git status --porcelain --untracked-files=all -- "${pkg#./}/testdata/fuzz" | while read -r _ f; do
      echo "== failing input $f (go test -run '${name}/$(basename "$f")' $pkg):"; cat "$f"
    done
    exit 1
  fi
done
echo "fuzz: ${#targets[@]} targets passed"
