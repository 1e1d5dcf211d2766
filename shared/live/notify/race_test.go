//go:build race

package notify

// raceEnabled: the race detector slows TestLiveModel's HTTP round trips
// several times, so it runs fewer seeds by default.
const raceEnabled = true
