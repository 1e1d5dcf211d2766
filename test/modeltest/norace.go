//go:build !race

package modeltest

// Race is true when the race detector is on.
const Race = false
