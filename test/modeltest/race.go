//go:build race

package modeltest

// Race is true when the race detector is on: it slows the HTTP round trips
// of the models several times, so they run fewer seeds by default.
const Race = true
