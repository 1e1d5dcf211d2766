package statestore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mediastate/shared/ossx"
	"mediastate/shared/retry"
	"mediastate/shared/statestore"
	"mediastate/test/modeltest"
	"mediastate/test/ossserver"
	"mediastate/test/osstest"
)

// TestModel makes the store's safety argument executable. Each seed runs
// a random history against one OSS test server: several store instances
// (each its own cache, of random size and TTL) on one bucket and one fake
// clock, interleaving new events, duplicates, create-first guesses,
// instance restarts, clock steps of seconds to hours, sweeps, and lost
// write responses and 503s injected by the server. Other instances' steps
// also run in the middle of an update, whenever it reads the clock, so
// writers race between their LIST, GET and PUT.
//
// The oracle: no event is answered written twice; every event answered
// applied or duplicate is in the newest
// version at every later step and in every retained version written after
// its answer; the newest version never loses an item; the retained
// versions form a chain (each holds everything below it).
//
// MODEL_SEEDS sets the number of seeds (default 400; 100 under the race
// detector or with -short; .ci/run runs 2000), MODEL_SEED runs one seed,
// printing its history.
func TestModel(t *testing.T) {
	modeltest.Run(t, "MODEL", "./shared/statestore", 400, 100, 2, func(seed uint64) modeltest.Outcome { return runModel(t, seed).outcome() })
}

// modelClock is the fake clock. Stores read it through now, which may let
// other instances take a step first; the server stamps objects with at.
type modelClock struct {
	mu   sync.Mutex
	t    time.Time
	hook func()
}

func (c *modelClock) at() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *modelClock) now() time.Time {
	if c.hook != nil {
		c.hook()
	}
	return c.at()
}

func (c *modelClock) step(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type ack struct {
	id     string
	newest uint64 // the newest version when the answer was given
}

type seen struct {
	doc *doc
	ver uint64
}

type model struct {
	t      testing.TB
	rng    *rand.Rand
	clock  *modelClock
	env    *osstest.Env
	check  *statestore.Store[doc]
	stores []*statestore.Store[doc]
	ids    []string
	sent   map[string][]string // id -> events sent
	acked  map[string]ack
	// written counts the answers that said an event was written: at most
	// one may, or a sender would count an event applied twice.
	written map[string]int
	newest  map[string]seen // id -> newest version seen by the checker
	nested  bool
	busy    int // the instance whose update is under way, -1 for none
	next    int
	steps   int
	writes  int
	log     []string
	err     string
}

func runModel(t testing.TB, seed uint64) *model {
	m := &model{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), clock: &modelClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		sent: map[string][]string{}, acked: map[string]ack{}, written: map[string]int{}, newest: map[string]seen{}}
	m.env = osstest.Memory(m.clock.at)
	// Seeds run in one test: close each seed's server (and so its clients'
	// connections) when the seed ends, not when the test does.
	defer m.env.Server.Close()
	if err := m.env.Server.SetFaults(ossserver.Faults{Ops: []string{"PutObject"}, LostResponseRate: 0.05, Error503Rate: 0.03,
		Seed: int64(seed)}); err != nil {
		t.Fatal(err)
	}
	m.check = newStore(t, m.env.Bucket(t), statestore.Options{CacheSize: 1})
	for i := range 2 + m.rng.IntN(3) {
		m.stores = append(m.stores, m.newInstance(i))
	}
	for i := range 1 + m.rng.IntN(3) {
		m.ids = append(m.ids, fmt.Sprintf("id%d", i))
	}
	m.busy = -1
	m.clock.hook = m.preempt
	for m.steps = 0; m.steps < 40+m.rng.IntN(40) && m.err == ""; m.steps++ {
		m.action()
		m.checkNewest()
	}
	m.clock.hook = nil
	if m.err == "" {
		m.checkEnd()
	}
	return m
}

func (m *model) newInstance(i int) *statestore.Store[doc] {
	ttl := time.Duration(1+m.rng.IntN(10)) * time.Minute
	m.logf("instance %d: cache size %d, TTL %v", i, 1+i%3, ttl)
	fast := retry.Policy{Attempts: 4, Base: 50 * time.Microsecond, Max: 200 * time.Microsecond}
	return newStore(m.t, m.env.Bucket(m.t, fast), statestore.Options{Now: m.clock.now, CacheTTL: ttl, CacheSize: 1 + i%3,
		Retry: fast, Conflict: fast})
}

func (m *model) outcome() modeltest.Outcome { return modeltest.Outcome{Log: m.log, Err: m.err} }

func (m *model) logf(format string, args ...any) {
	m.log = append(m.log, fmt.Sprintf("%s %s", m.clock.at().Format("15:04:05"), fmt.Sprintf(format, args...)))
}

// preempt runs, now and then, one step of another instance in the middle
// of an update (never nested deeper than one).
func (m *model) preempt() {
	if m.nested || m.rng.IntN(100) >= 12 {
		return
	}
	m.nested = true
	defer func() { m.nested = false }()
	m.logf("  (interleaved)")
	m.action()
}

// action takes one random step.
func (m *model) action() {
	switch r := m.rng.IntN(100); {
	case r < 45:
		m.next++
		m.deliver(fmt.Sprintf("e%d", m.next), "new")
	case r < 65:
		id := m.ids[m.rng.IntN(len(m.ids))]
		if len(m.sent[id]) == 0 {
			return
		}
		m.deliverTo(id, m.sent[id][m.rng.IntN(len(m.sent[id]))], "dup")
	case r < 82:
		var d time.Duration
		switch m.rng.IntN(4) {
		case 0:
			d = time.Duration(1+m.rng.IntN(59)) * time.Second
		case 1:
			d = time.Duration(1+m.rng.IntN(5)) * time.Minute
		case 2:
			d = time.Duration(10+m.rng.IntN(20)) * time.Minute
		default:
			d = time.Duration(60+m.rng.IntN(120)) * time.Minute
		}
		m.clock.step(d)
		m.logf("clock +%v", d)
	case r < 92:
		i := m.rng.IntN(len(m.stores))
		st, err := m.stores[i].Sweep(context.Background(), statestore.SweepOptions{})
		m.logf("sweep by %d: %+v %v", i, st, err)
	default:
		if m.nested {
			return
		}
		i := m.rng.IntN(len(m.stores))
		m.stores[i] = m.newInstance(i)
		m.logf("instance %d restarted", i)
	}
}

func (m *model) deliver(item, what string) {
	id := m.ids[m.rng.IntN(len(m.ids))]
	m.sent[id] = append(m.sent[id], item)
	m.deliverTo(id, item, what)
}

func (m *model) deliverTo(id, item, what string) {
	i := m.rng.IntN(len(m.stores))
	if i == m.busy {
		// An instance's updates of one id take turns: interleave another.
		i = (i + 1) % len(m.stores)
	}
	if m.busy < 0 {
		m.busy = i
		defer func() { m.busy = -1 }()
	}
	first := m.rng.IntN(3) == 0
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := m.stores[i].Update(ctx, id, add(item), statestore.UpdateOptions{CreateFirst: first})
	if res.Written {
		m.writes++
		if m.written[item]++; m.written[item] > 1 {
			m.fail("%s was answered written %d times", item, m.written[item])
		}
	}
	m.logf("%s %s += %s at %d (create first %v): version %d written %v conflicts %d retries %d resolved %d err %v",
		what, id, item, i, first, res.Version, res.Written, res.Conflicts, res.Retries, res.Resolved, err)
	if err != nil {
		return
	}
	if _, ok := m.acked[item]; !ok {
		m.acked[item] = ack{id: id, newest: m.newestSeq(id)}
	}
}

// newestSeq lists the newest version of id, 0 for none.
func (m *model) newestSeq(id string) uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	page, err := m.check.Bucket().List(ctx, ossx.ListOptions{Prefix: m.check.Prefix() + id + "/", MaxKeys: 1})
	if err != nil {
		m.fail("list %s: %v", id, err)
		return 0
	}
	if len(page.Objects) == 0 {
		return 0
	}
	name := strings.TrimPrefix(page.Objects[0].Key, m.check.Prefix()+id+"/")
	inv, err := strconv.ParseUint(strings.TrimSuffix(name, ".json"), 16, 64)
	if err != nil {
		m.fail("unexpected key %s", page.Objects[0].Key)
	}
	return ^inv
}

// readNewest reads the newest version of id without any cache; a version
// already read is not read again.
func (m *model) readNewest(id string) (*doc, uint64) {
	ver := m.newestSeq(id)
	if c, ok := m.newest[id]; ok && c.ver == ver {
		return c.doc, ver
	}
	if ver == 0 {
		return &doc{}, 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body, _, err := m.check.Bucket().GetObject(ctx, m.check.VersionKey(id, ver))
	if err != nil {
		m.fail("read version %d of %s: %v", ver, id, err)
		return &doc{}, ver
	}
	d, err := codec.Unmarshal(body)
	if err != nil {
		m.fail("version %d of %s: %v", ver, id, err)
	}
	return d, ver
}

// checkNewest: every acknowledged event is in the newest version, and the
// newest version holds everything the one seen before held.
func (m *model) checkNewest() {
	for _, id := range m.ids {
		d, ver := m.readNewest(id)
		for item, a := range m.acked {
			if a.id == id && !slices.Contains(d.Items, item) {
				m.fail("%s was acknowledged but the newest version %d of %s lacks it: %v", item, ver, id, d.Items)
				return
			}
		}
		if prev, ok := m.newest[id]; ok {
			for _, it := range prev.doc.Items {
				if !slices.Contains(d.Items, it) {
					m.fail("the newest version %d of %s lost %s: %v", ver, id, it, d.Items)
					return
				}
			}
		}
		m.newest[id] = seen{doc: d, ver: ver}
	}
}

// checkEnd: every retained version written after an event's answer holds
// it, and the retained versions form a chain.
func (m *model) checkEnd() {
	if err := m.env.Server.SetFaults(ossserver.Faults{}); err != nil {
		m.t.Fatal(err)
	}
	for _, id := range m.ids {
		var above *doc
		var aboveSeq uint64
		err := m.check.EachVersion(context.Background(), id, func(v statestore.Version, d *doc) error {
			for item, a := range m.acked {
				if a.id == id && v.Seq > a.newest && !slices.Contains(d.Items, item) {
					return fmt.Errorf("version %d of %s, written after %s was acknowledged (newest then %d), lacks it", v.Seq, id, item, a.newest)
				}
			}
			if above != nil {
				for _, it := range d.Items {
					if !slices.Contains(above.Items, it) {
						return fmt.Errorf("version %d of %s lacks %s that version %d holds", aboveSeq, id, it, v.Seq)
					}
				}
			}
			above, aboveSeq = d, v.Seq
			return nil
		})
		if err != nil {
			m.fail("%v", err)
			return
		}
	}
}

func (m *model) fail(format string, args ...any) {
	if m.err == "" {
		m.err = fmt.Sprintf(format, args...)
	}
}
