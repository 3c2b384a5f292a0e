//go:build race

package faults

// raceEnabled: the race detector multiplies memory several times, so memory bounds are noted,
// not asserted.
const raceEnabled = true
