package ossx

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
)

// Op names an OSS operation for request counting.
type Op int

// The counted operations.
const (
	OpPut Op = iota
	OpGet
	OpHead
	OpList
	OpDelete
	OpDeleteMulti
	OpVersioning
	numOps
)

var opNames = [numOps]string{"PutObject", "GetObject", "HeadObject", "ListObjectsV2", "DeleteObject", "DeleteObjects", "GetBucketVersioning"}

// OpNames returns the OSS API names of the counted operations, in Op order.
func OpNames() []string { return slices.Clone(opNames[:]) }

// String returns the OSS API name of the operation.
func (o Op) String() string {
	if o < 0 || o >= numOps {
		return "Unknown"
	}
	return opNames[o]
}

// Counter counts requests by operation. It is safe for concurrent use.
type Counter struct {
	n [numOps]atomic.Int64
}

// NewCounter returns a zero Counter.
func NewCounter() *Counter { return &Counter{} }

// Add adds one request of op.
func (c *Counter) Add(op Op) { c.n[op].Add(1) }

// Get returns the count of op.
func (c *Counter) Get(op Op) int64 { return c.n[op].Load() }

// Total returns the count of all operations.
func (c *Counter) Total() int64 {
	var t int64
	for i := range c.n {
		t += c.n[i].Load()
	}
	return t
}

// Snapshot returns the non-zero counts keyed by operation name.
func (c *Counter) Snapshot() map[string]int64 {
	m := map[string]int64{}
	for i := range c.n {
		if v := c.n[i].Load(); v != 0 {
			m[Op(i).String()] = v
		}
	}
	return m
}

// String formats the non-zero counts as "GetObject=1 PutObject=2".
func (c *Counter) String() string {
	s := c.Snapshot()
	parts := make([]string, 0, len(s))
	for _, k := range slices.Sorted(maps.Keys(s)) {
		parts = append(parts, k+"="+itoa(s[k]))
	}
	return strings.Join(parts, " ")
}

func itoa(v int64) string {
	var b [20]byte
	i := len(b)
	if v == 0 {
		return "0"
	}
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

type counterKey struct{}

// WithCounter returns a context whose OSS requests are also counted in c.
func WithCounter(ctx context.Context, c *Counter) context.Context {
	return context.WithValue(ctx, counterKey{}, c)
}

// CounterFrom returns the counter attached by WithCounter, or nil.
func CounterFrom(ctx context.Context) *Counter {
	c, _ := ctx.Value(counterKey{}).(*Counter)
	return c
}

func (b *Bucket) count(ctx context.Context, op Op) {
	b.total.Add(op)
	if c := CounterFrom(ctx); c != nil {
		c.Add(op)
	}
}
