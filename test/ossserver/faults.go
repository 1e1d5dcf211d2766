package ossserver

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

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
	// Ops restricts the faults to these operations (see Stats for the
	// names, e.g. "PutObject"); empty means every operation.
	Ops []string
	// Seed seeds the random choices, making a run reproducible for a given
	// request order; 0 picks a random seed.
	Seed int64
}

// faultsJSON is the JSON form of Faults. Durations are Go duration strings
// ("150ms") or integer nanoseconds.
type faultsJSON struct {
	Latency          jsonDuration `json:"latency,omitempty"`
	Jitter           jsonDuration `json:"jitter,omitempty"`
	Error503Rate     float64      `json:"error503Rate,omitempty"`
	Error500Rate     float64      `json:"error500Rate,omitempty"`
	ResetRate        float64      `json:"resetRate,omitempty"`
	LostResponseRate float64      `json:"lostResponseRate,omitempty"`
	Ops              []string     `json:"ops,omitempty"`
	Seed             int64        `json:"seed,omitempty"`
}

// MarshalJSON encodes f with camel-case names and duration strings.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{
		Latency: jsonDuration(f.Latency), Jitter: jsonDuration(f.Jitter),
		Error503Rate: f.Error503Rate, Error500Rate: f.Error500Rate,
		ResetRate: f.ResetRate, LostResponseRate: f.LostResponseRate,
		Ops: f.Ops, Seed: f.Seed,
	})
}

// UnmarshalJSON decodes the form MarshalJSON produces; durations may also
// be integer nanoseconds. Unknown fields are rejected.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	if err := decodeStrict(b, &j); err != nil {
		return err
	}
	*f = Faults{
		Latency: time.Duration(j.Latency), Jitter: time.Duration(j.Jitter),
		Error503Rate: j.Error503Rate, Error500Rate: j.Error500Rate,
		ResetRate: j.ResetRate, LostResponseRate: j.LostResponseRate,
		Ops: j.Ops, Seed: j.Seed,
	}
	return nil
}

// jsonDuration is a time.Duration in JSON as a string or nanoseconds.
type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q: %w", s, err)
		}
		*d = jsonDuration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration must be a string like \"150ms\" or integer nanoseconds: %s", b)
	}
	*d = jsonDuration(n)
	return nil
}

// validate checks rates and operation names.
func (f Faults) validate() error {
	if f.Latency < 0 || f.Jitter < 0 {
		return fmt.Errorf("ossserver: negative latency or jitter")
	}
	sum := 0.0
	for _, r := range []float64{f.Error503Rate, f.Error500Rate, f.ResetRate, f.LostResponseRate} {
		if r < 0 || r > 1 {
			return fmt.Errorf("ossserver: fault rate %v is outside [0, 1]", r)
		}
		sum += r
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("ossserver: fault rates add up to %v, more than 1", sum)
	}
	for _, op := range f.Ops {
		if _, ok := allOperations[op]; !ok {
			return fmt.Errorf("ossserver: unknown operation %q in Faults.Ops", op)
		}
	}
	return nil
}

// faultAction is what happens to one request.
type faultAction int

const (
	faultNone faultAction = iota
	faultError503
	faultError500
	faultReset
	faultLostResponse
	// faultCanceled means the client went away during injected latency.
	faultCanceled
)

// faultInjector decides the fault for each request. It is safe for
// concurrent use.
type faultInjector struct {
	mu  sync.Mutex
	cfg Faults
	ops map[string]bool
	rng *rand.Rand
}

func (fi *faultInjector) init() {
	fi.rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
}

// set replaces the configuration.
func (fi *faultInjector) set(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	f.Ops = append([]string(nil), f.Ops...)
	ops := map[string]bool{}
	for _, op := range f.Ops {
		ops[op] = true
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.cfg = f
	fi.ops = ops
	if f.Seed != 0 {
		fi.rng = rand.New(rand.NewPCG(uint64(f.Seed), uint64(f.Seed)^0x9e3779b97f4a7c15))
	} else {
		fi.rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return nil
}

func (fi *faultInjector) get() Faults {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f := fi.cfg
	f.Ops = append([]string(nil), f.Ops...)
	return f
}

// decide picks the fault for a request to op, sleeping for any injected
// latency first, and counts it in st.
func (fi *faultInjector) decide(ctx context.Context, op string, st *statsCollector) faultAction {
	fi.mu.Lock()
	f := fi.cfg
	if len(fi.ops) > 0 && !fi.ops[op] {
		fi.mu.Unlock()
		return faultNone
	}
	delay := f.Latency
	if f.Jitter > 0 {
		delay += time.Duration(fi.rng.Int64N(int64(f.Jitter)))
	}
	x := fi.rng.Float64()
	fi.mu.Unlock()

	if delay > 0 {
		st.countFault(func(c *FaultCounts) { c.Delayed++ })
		if !sleepCtx(ctx, delay) {
			return faultCanceled
		}
	}
	var act faultAction
	switch {
	case x < f.Error503Rate:
		act = faultError503
		st.countFault(func(c *FaultCounts) { c.Error503++ })
	case x < f.Error503Rate+f.Error500Rate:
		act = faultError500
		st.countFault(func(c *FaultCounts) { c.Error500++ })
	case x < f.Error503Rate+f.Error500Rate+f.ResetRate:
		act = faultReset
		st.countFault(func(c *FaultCounts) { c.Resets++ })
	case x < f.Error503Rate+f.Error500Rate+f.ResetRate+f.LostResponseRate:
		act = faultLostResponse
		st.countFault(func(c *FaultCounts) { c.LostResponses++ })
	}
	return act
}

// SetFaults replaces the injected faults; it takes effect for requests
// that arrive afterwards. It rejects rates outside [0, 1], rates adding up
// to more than 1 and unknown operation names.
func (s *Server) SetFaults(f Faults) error { return s.faults.set(f) }

// CurrentFaults returns the injected faults.
func (s *Server) CurrentFaults() Faults { return s.faults.get() }
