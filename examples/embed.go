// Package examples ships keygate's example configs; the dev folder is embedded in the binary as
// the default `keygate dev` runs.
package examples

import "embed"

// Dev holds examples/dev (keygate.yaml: the demo providers; keys.yaml: the demo keys) and
// examples/scripts (the design article's custom-mode script the dev config uses).
//
//go:embed dev scripts
var Dev embed.FS
