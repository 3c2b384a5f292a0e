#!/usr/bin/env bash
# Runs every fuzz target briefly (CI: `make fuzz`). Each target first replays its seed corpus,
# then fuzzes for FUZZTIME (default 10s); the 8 targets stay under 2 minutes. A failure leaves
# the failing input under the package's testdata/fuzz/ and exits non-zero.
#
#   FUZZTIME=30s scripts/fuzz-brief.sh     fuzz longer
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
fuzztime=${FUZZTIME:-10s}

targets=(
  "FuzzProcessRequest ./extproc"
  "FuzzSortedSignString ./signer"
  "FuzzArticleScript ./internal/script"
  "FuzzParseValidate ./internal/config"
  "FuzzParseRoundTrip ./internal/jsonbody"
  "FuzzParseMatchesEncodingJSON ./internal/jsonbody"
  "FuzzValidMatchesEncodingJSON ./internal/jsonbody"
  "FuzzResponseBodyObject ./internal/script"
)
for t in "${targets[@]}"; do
  read -r name pkg <<<"$t"
  echo "== $name ($pkg, $fuzztime)"
  "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"
done
echo "fuzz: ${#targets[@]} targets passed"
