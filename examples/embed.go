// Package examples ships keygate's example configs; the dev folder is embedded in the binary as
// the default `keygate dev` runs.
package examples

import "embed"

// Dev is examples/dev: keygate.yaml (the demo providers) and keys.yaml (the demo keys).
//
//go:embed dev
var Dev embed.FS
