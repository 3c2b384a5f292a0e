//go:build race

package fleet

// raceBuild: under `go test -race` the replicas are built with -race too, so the daemon's token
// sharing runs under the race detector.
const raceBuild = true
