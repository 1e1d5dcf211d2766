//go:build race

package statestore_test

// raceEnabled: the race detector slows the HTTP round trips of TestModel
// several times, so it runs fewer seeds by default.
const raceEnabled = true
