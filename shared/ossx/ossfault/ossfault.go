// Package ossfault provides fault injection for OSS requests: an Injector
// that decides, per request, on latency, 503 and 500 answers, connection
// resets and lost answers (applied, then never answered), and counts
// requests and faults. test/ossserver uses it over HTTP; Wrap puts it in
// front of any ossx.Driver, so package tests on the in-memory driver meet
// the same faults.
package ossfault

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"mediastate/shared/ossx"
)

// Ops are the operation names that Faults.Ops and Stats.Requests use:
// OSS's API names, and Unsupported for requests test/ossserver does not
// implement.
var Ops = append(ossx.OpNames(), "Unsupported")

// Faults describes the faults injected into requests. The zero value
// injects nothing.
type Faults struct {
	// Latency delays every selected request before it is handled; Jitter
	// adds a uniformly random extra delay in [0, Jitter).
	Latency time.Duration
	Jitter  time.Duration
	// Error503Rate and Error500Rate are the probabilities of answering
	// 503 ServiceUnavailable and 500 InternalError without applying the
	// request.
	Error503Rate float64
	Error500Rate float64
	// ResetRate is the probability of closing the connection abruptly
	// (TCP RST, no response) without applying the request.
	ResetRate float64
	// LostResponseRate is the probability of applying the request and then
	// resetting the connection instead of answering: the write happened
	// but the client cannot know.
	LostResponseRate float64
	// Ops restricts the faults to these operations (see Ops); empty means
	// every operation.
	Ops []string
	// Seed seeds the random choices, making a run reproducible for a given
	// request order; 0 picks a random seed.
	Seed int64
}

// validate checks rates and operation names.
func (f Faults) validate() error {
	if f.Latency < 0 || f.Jitter < 0 {
		return fmt.Errorf("ossfault: negative latency or jitter")
	}
	sum := 0.0
	for _, r := range []float64{f.Error503Rate, f.Error500Rate, f.ResetRate, f.LostResponseRate} {
		if r < 0 || r > 1 {
			return fmt.Errorf("ossfault: fault rate %v is outside [0, 1]", r)
		}
		sum += r
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("ossfault: fault rates add up to %v, more than 1", sum)
	}
	for _, op := range f.Ops {
		if !slices.Contains(Ops, op) {
			return fmt.Errorf("ossfault: unknown operation %q in Faults.Ops", op)
		}
	}
	return nil
}

// Action is what happens to one request.
type Action int

// The actions.
const (
	None Action = iota
	Error503
	Error500
	Reset
	LostResponse
	// Canceled means the client went away during injected latency.
	Canceled
)

// Counts counts injected faults by kind.
type Counts struct {
	Delayed       int64 `json:"delayed"`
	Error503      int64 `json:"error503"`
	Error500      int64 `json:"error500"`
	Resets        int64 `json:"resets"`
	LostResponses int64 `json:"lostResponses"`
}

// Stats counts requests since the Injector was made or ResetStats.
type Stats struct {
	// Requests counts requests by operation (see Ops).
	Requests map[string]int64 `json:"requests"`
	// Errors counts error answers by OSS error code, injected ones
	// included.
	Errors map[string]int64 `json:"errors"`
	// Faults counts injected faults.
	Faults Counts `json:"faults"`
}

// Injector decides the fault of each request and counts requests. It is
// safe for concurrent use.
type Injector struct {
	mu    sync.Mutex
	cfg   Faults
	rng   *rand.Rand
	stats Stats
}

// NewInjector returns an Injector that injects nothing.
func NewInjector() *Injector {
	i := &Injector{}
	i.ResetStats()
	_ = i.Set(Faults{}) // The zero Faults are valid.
	return i
}

// Set replaces the injected faults; they apply to requests that arrive
// afterwards. It rejects rates outside [0, 1], rates adding up to more
// than 1 and unknown operation names.
func (i *Injector) Set(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	f.Ops = slices.Clone(f.Ops)
	i.mu.Lock()
	defer i.mu.Unlock()
	i.cfg = f
	if f.Seed != 0 {
		i.rng = rand.New(rand.NewPCG(uint64(f.Seed), uint64(f.Seed)^0x9e3779b97f4a7c15))
	} else {
		i.rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return nil
}

// Current returns the injected faults.
func (i *Injector) Current() Faults {
	i.mu.Lock()
	defer i.mu.Unlock()
	f := i.cfg
	f.Ops = slices.Clone(f.Ops)
	return f
}

// Decide counts a request to op and picks its fault, sleeping for any
// injected latency first (Canceled when ctx ends meanwhile).
func (i *Injector) Decide(ctx context.Context, op string) Action {
	i.mu.Lock()
	i.stats.Requests[op]++
	f := i.cfg
	if len(f.Ops) > 0 && !slices.Contains(f.Ops, op) {
		i.mu.Unlock()
		return None
	}
	delay := f.Latency
	if f.Jitter > 0 {
		delay += time.Duration(i.rng.Int64N(int64(f.Jitter)))
	}
	x := i.rng.Float64()
	if delay > 0 {
		i.stats.Faults.Delayed++
	}
	i.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return Canceled
		}
	}
	act := None
	for _, c := range []struct {
		rate float64
		act  Action
		n    *int64
	}{{f.Error503Rate, Error503, &i.stats.Faults.Error503}, {f.Error500Rate, Error500, &i.stats.Faults.Error500},
		{f.ResetRate, Reset, &i.stats.Faults.Resets}, {f.LostResponseRate, LostResponse, &i.stats.Faults.LostResponses}} {
		if x < c.rate {
			i.mu.Lock()
			*c.n++
			i.mu.Unlock()
			return c.act
		}
		x -= c.rate
	}
	return act
}

// CountError counts an error answer with an OSS error code.
func (i *Injector) CountError(code string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.stats.Errors[code]++
}

// Stats returns a copy of the counters.
func (i *Injector) Stats() Stats {
	i.mu.Lock()
	defer i.mu.Unlock()
	return Stats{Requests: maps.Clone(i.stats.Requests), Errors: maps.Clone(i.stats.Errors), Faults: i.stats.Faults}
}

// ResetStats zeroes the counters.
func (i *Injector) ResetStats() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.stats = Stats{Requests: map[string]int64{}, Errors: map[string]int64{}}
}
