package ossserver

import (
	"maps"
	"sync"
)

// Stats counts requests since the server started or since ResetStats.
type Stats struct {
	// Requests counts requests by operation: ListBuckets, PutBucket,
	// DeleteBucket, GetBucketLocation, GetBucketVersioning,
	// PutBucketVersioning, ListObjects, ListObjectsV2, DeleteObjects,
	// PutObject, CopyObject, GetObject, HeadObject, GetObjectMeta,
	// AppendObject, DeleteObject, and Unsupported for everything the server
	// does not implement. Requests to the admin endpoint are not counted.
	Requests map[string]int64 `json:"requests"`
	// Errors counts error responses by OSS error code, injected ones
	// included.
	Errors map[string]int64 `json:"errors"`
	// Faults counts injected faults.
	Faults FaultCounts `json:"faults"`
}

// FaultCounts counts injected faults by kind.
type FaultCounts struct {
	Delayed       int64 `json:"delayed"`
	Error503      int64 `json:"error503"`
	Error500      int64 `json:"error500"`
	Resets        int64 `json:"resets"`
	LostResponses int64 `json:"lostResponses"`
}

// statsCollector accumulates Stats. It is safe for concurrent use.
type statsCollector struct {
	mu       sync.Mutex
	requests map[string]int64
	errors   map[string]int64
	faults   FaultCounts
}

func (c *statsCollector) countRequest(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.requests == nil {
		c.requests = map[string]int64{}
	}
	c.requests[op]++
}

func (c *statsCollector) countError(code string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.errors == nil {
		c.errors = map[string]int64{}
	}
	c.errors[code]++
}

func (c *statsCollector) countFault(f func(*FaultCounts)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.faults)
}

func (c *statsCollector) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Stats{Requests: maps.Clone(c.requests), Errors: maps.Clone(c.errors), Faults: c.faults}
	if st.Requests == nil {
		st.Requests = map[string]int64{}
	}
	if st.Errors == nil {
		st.Errors = map[string]int64{}
	}
	return st
}

func (c *statsCollector) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests, c.errors, c.faults = nil, nil, FaultCounts{}
}

// Stats returns a copy of the request and fault counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// ResetStats zeroes the counters.
func (s *Server) ResetStats() { s.stats.reset() }
