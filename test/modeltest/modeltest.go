// Package modeltest runs seeded model tests: which seeds a run covers, and
// how a failing seed is reported so that it can be replayed alone.
package modeltest

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Outcome is what one seed's run found: its history, one line a step, and
// the first violation of the oracle ("" for none).
type Outcome struct {
	Log []string
	Err string
}

// Run runs seeds 1..n of a model on workers goroutines and fails t at the
// first seed whose Outcome has an Err, printing its history and the
// command that replays it. n is def, or reduced under the race detector
// and with -short, or $<NAME>_SEEDS; $<NAME>_SEED runs that one seed and
// logs its history. pkg is the package path for the replay command.
func Run(t *testing.T, name, pkg string, def, reduced, workers int, run func(seed uint64) Outcome) {
	t.Helper()
	n := def
	if testing.Short() || Race {
		n = reduced
	}
	if v, err := strconv.Atoi(os.Getenv(name + "_SEEDS")); err == nil && v > 0 {
		n = v
	}
	first, verbose := uint64(1), false
	if v, err := strconv.ParseUint(os.Getenv(name+"_SEED"), 10, 64); err == nil {
		first, n, verbose, workers = v, 1, true, 1
	}
	var next atomic.Uint64
	next.Store(first)
	var failed atomic.Bool
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				seed := next.Add(1) - 1
				if seed >= first+uint64(n) {
					return
				}
				o := run(seed)
				mu.Lock()
				switch {
				case o.Err != "" && !failed.Swap(true):
					t.Errorf("seed %d: %s\nreplay: %s_SEED=%d go test -run '^%s$' %s\nhistory:\n%s",
						seed, o.Err, name, seed, t.Name(), pkg, strings.Join(o.Log, "\n"))
				case verbose:
					t.Logf("seed %d history:\n%s", seed, strings.Join(o.Log, "\n"))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if !failed.Load() {
		t.Logf("%d seeds from %d passed", n, first)
	}
}
