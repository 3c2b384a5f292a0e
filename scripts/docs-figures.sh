#!/usr/bin/env bash
# make docs-figures: measure, then render every figure in README.md and docs/*.md from the
# measurement (test/docfigures). Writes docs/figures/{run.json,bench.json,gobench.txt}; commit
# them with the documents. TestDocsMatchFigures fails when a document and these files disagree.
# Expensive (the load driver, then the Go benchmarks): run it on a machine as quiet as you have.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
out=docs/figures
mkdir -p "$out"
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //; s/ *$//' || echo unknown)
command="make docs-figures (go run ./test/loadgen -duration 5s; go test -run X -bench ... -benchmem -count 1)"
BENCH_OUT="$out/bench.json" $GO run ./test/loadgen -duration 5s
{
	$GO test -run X -benchmem -count 1 -bench 'PipelineSimpleAES|PipelineScript|Compile10kProviders' ./internal/gateway
	$GO test -run X -benchmem -count 1 -bench 'Snapshot10kProviders' ./xds
	$GO test -run X -benchmem -count 1 -bench 'ParseMarshal' ./internal/jsonbody
	$GO test -run X -benchmem -count 1 -bench 'TextOf|Schemes' ./signer
	$GO test -run X -benchmem -count 1 -bench '^Benchmark(StreamStaticHeader|StreamSimpleAES|StreamPhase)$' ./extproc
	$GO test -run X -benchmem -count 1 -bench 'ArticleRequest$|ArticleResponse$|EmptyRequestFunction|NewRuntime|Skeleton' ./internal/script
	$GO test -run X -benchmem -count 1 -bench 'Observe' ./internal/metrics
} | tee "$out/gobench.txt"
cat >"$out/run.json" <<JSON
{
  "date": "$(date -u +%Y-%m-%d)",
  "commit": "$(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')",
  "cpu": "$cpu",
  "cpus": $(nproc),
  "go": "$($GO env GOVERSION)",
  "load_before": "$load",
  "command": "$command"
}
JSON
$GO run ./test/docfigures -write
