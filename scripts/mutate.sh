#!/usr/bin/env bash
# Mutation testing of the trust-boundary packages (`make mutate`): go-gremlins plants one
# mutant at a time (a flipped condition, a moved boundary, an inverted operator) in a package
# and runs that package's tests; a mutant the tests do not notice LIVED. Prints each package's
# kill rate, killed / (killed + lived - equivalent), where the equivalent mutants are the ones
# docs/mutation.md lists with a reason, and the mutants that lived (to be killed by a test, or
# listed there as equivalent). Exits 1 when a package is under MUTATE_MIN percent.
#
#   scripts/mutate.sh                                  # every trust-boundary package (hours on 2 cores)
#   scripts/mutate.sh ./internal/tenancy ./keystore    # the named packages
#   MUTATE_BASE=main scripts/mutate.sh                 # only lines changed since main, only in the
#                                                      # trust-boundary packages they touch (CI)
#
# Each mutant costs one compile, link and test run of its package (10-20 s on a loaded 2-core
# machine), so the whole set does not fit CI's budget; the changed-lines mode does.
# MUTATE_WORKERS (default 1) mutants run at once; each gets MUTATE_TIMEOUT (default 6) times the
# package's uncached test time before it counts as TIMED OUT (reported, not counted as killed).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
gremlins="$GO run github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0"
workers=${MUTATE_WORKERS:-1}
coefficient=${MUTATE_TIMEOUT:-6}
min=${MUTATE_MIN:-90}
base=${MUTATE_BASE:-}
boundary=(./internal/tenancy ./internal/routing ./internal/mtls ./internal/admin ./internal/gateway
          ./internal/script ./keystore ./extproc ./signer ./internal/versions)

# gremlins times a mutant out at coefficient x the coverage run's duration: a cached coverage run
# (a few ms) would time every mutant out, so no test result may come from the cache. go vet is
# off: it costs every mutant a vet run, and a mutant vet complains about is not one a test killed.
# -failfast: a mutant is killed by its first failing test; the rest of the package's tests would
# only add time. Extra flags pass through GOFLAGS (e.g. GOFLAGS=-skip=TestX to leave out a test
# whose time limit a loaded machine trips: a coverage run that fails stops the package's run).
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-count=1 -vet=off -failfast"

pkgs=("$@")
diffargs=()
if [ -n "$base" ]; then
  mb=$(git merge-base "$base" HEAD)
  diffargs=(--diff "$mb")
  if [ ${#pkgs[@]} -eq 0 ]; then
    changed=$(git diff --name-only "$mb" -- '*.go' | { grep -v '_test\.go$' || true; } | xargs -r -n1 dirname | sort -u)
    for p in "${boundary[@]}"; do
      if grep -qx "${p#./}" <<<"$changed"; then pkgs+=("$p"); fi
    done
    if [ ${#pkgs[@]} -eq 0 ]; then
      echo "mutate: no trust-boundary package changed since $base"
      exit 0
    fi
  fi
elif [ ${#pkgs[@]} -eq 0 ]; then
  pkgs=("${boundary[@]}")
fi

# Equivalent mutants: docs/mutation.md list items "- `pkg/file.go:line:col MUTATOR`: reason".
equivalent=$(grep -oE '^- `[^` ]+:[0-9]+:[0-9]+ [A-Z_]+`' docs/mutation.md | tr -d '`' | cut -c3- || true)

fail=0
summary=()
for p in "${pkgs[@]}"; do
  dir=${p#./}
  echo "== $p"
  # From inside the package, with git's diff.relative: gremlins matches `git diff`'s file names
  # against its own, which are relative to the package (repository-relative names match nothing).
  out=$(cd "$dir" && GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=diff.relative GIT_CONFIG_VALUE_0=true \
    $gremlins unleash --workers "$workers" --timeout-coefficient "$coefficient" \
    -S lctkv "${diffargs[@]}" 2>&1) || true
  # "      KILLED CONDITIONALS_NEGATION at call.go:89:22" (NOT COVERED / TIMED OUT / NOT VIABLE)
  results=$(sed -nE 's/^ *(KILLED|LIVED|NOT COVERED|TIMED OUT|NOT VIABLE) ([A-Z_]+) at (.*)$/\1|\2|\3/p' <<<"$out")
  if [ -z "$results" ] && ! grep -q 'Mutator coverage' <<<"$out"; then
    echo "$out"
    echo "mutate: gremlins failed on $p"
    fail=1
    continue
  fi
  count() { grep -c "^$1|" <<<"$results" || true; }
  killed=$(count KILLED) lived=0 equiv=0 timedout=$(count 'TIMED OUT') uncovered=$(count 'NOT COVERED')
  while IFS='|' read -r status type pos; do
    [ "$status" = LIVED ] || continue
    key="$dir/$pos $type"
    if grep -qxF "$key" <<<"$equivalent"; then
      equiv=$((equiv + 1))
      echo "   equivalent $key"
    else
      lived=$((lived + 1))
      echo "   LIVED      $key"
    fi
  done <<<"$results"
  if [ $((killed + lived)) -eq 0 ]; then
    rate="(no mutant ran) "
  else
    rate=$(awk -v k="$killed" -v l="$lived" 'BEGIN { printf "%.1f%%", 100 * k / (k + l) }')
    if awk -v k="$killed" -v l="$lived" -v m="$min" 'BEGIN { exit !(100 * k / (k + l) < m) }'; then fail=1; fi
  fi
  line=$(printf '%-20s killed %4d  lived %3d  equivalent %2d  timed out %2d  not covered %3d  kill rate %s' \
    "$dir" "$killed" "$lived" "$equiv" "$timedout" "$uncovered" "$rate")
  echo "$line"
  summary+=("$line")
done

echo "== kill rate per package (killed / (killed + lived), equivalent mutants left out; target $min%)"
printf '%s\n' "${summary[@]}"
exit $fail
