package recorder

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	"mediastate/shared/deadletter"
	"mediastate/shared/live"
	"mediastate/shared/live/notify"
	"mediastate/shared/ossx"
	"mediastate/shared/pipeline"
	"mediastate/shared/statestore"
	"mediastate/shared/trigger"
	"mediastate/test/modeltest"
	"mediastate/test/osstest"
)

// TestLiveModel is the Live variant of statestore's TestModel: seeded
// random histories of Live recording callbacks through the liverecord
// pipeline (recorder, dead letters, claimer, stream state) of several
// instances on one bucket and one fake clock. Callbacks arrive over HTTP
// (retried a second later when answered 503) or as queue messages
// (redelivered, same message id, seconds to an hour later, also after
// they were applied: a batch fails as a whole). Status callbacks carry no
// time of their own, so their first reception orders them. For a while a
// bug refuses one event type, its callbacks are dead-lettered, and the
// letters are replayed once it is fixed. Clock steps reach hours, and the
// stream states are swept.
//
// The oracle: each callback has exactly one record, stamped with its
// first reception; the stream's status never goes back in time, and ends
// as the status callback first received last; every file is listed.
//
// LIVE_MODEL_SEEDS sets the number of seeds (default 150, 40 under the
// race detector or -short); LIVE_MODEL_SEED runs one, printing its history.
func TestLiveModel(t *testing.T) {
	modeltest.Run(t, "LIVE_MODEL", "./shared/live/recorder", 150, 40, 2, func(seed uint64) modeltest.Outcome {
		return runLiveModel(t, seed).outcome()
	})
}

// liveCallback is one callback a sender sent.
type liveCallback struct {
	n       int
	body    string
	eventID string
	status  bool
	uri     string
	message string    // the queue message id; "" for HTTP
	first   time.Time // when it was first received
	settled bool      // answered other than 503 at least once
}

// pending is a delivery the sender will make.
type pending struct {
	at time.Time
	cb *liveCallback
}

type liveModel struct {
	t       testing.TB
	rng     *rand.Rand
	clock   *clock
	env     *osstest.Env
	pipes   []*pipeline.Invoker
	letters *deadletter.Store
	streams *live.Store
	records *notify.Store
	// streamReader reads the stream state for the checks.
	streamReader *live.Reader
	broken       string // the event type refused while the bug lasts
	callbacks    []*liveCallback
	queue        []pending
	lastBody     map[string]time.Time
	lastTime     time.Time // the newest status time seen in the state
	log          []string
	err          string
}

const (
	modelDomain = "d.com"
	modelWindow = 5 * time.Minute
)

func runLiveModel(t testing.TB, seed uint64) *liveModel {
	m := &liveModel{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x11fe)), clock: newClock(t0), lastBody: map[string]time.Time{}}
	m.env = osstest.Memory(m.clock.now)
	// Seeds run in one test: close each seed's server (and so its clients'
	// connections) when the seed ends, not when the test does.
	defer m.env.Server.Close()
	r, err := live.NewReader(m.env.Bucket(t), "p/")
	if err != nil {
		t.Fatal(err)
	}
	m.streamReader = r
	prefix := "p/"
	for i := range 2 + m.rng.IntN(2) {
		b := m.env.Bucket(t)
		streams, err := live.NewStore(b, prefix, statestore.Options{Now: m.clock.now, CacheSize: 1 + i%2,
			CacheTTL: time.Duration(1+m.rng.IntN(10)) * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		records, err := notify.NewStore(b, prefix, notify.Options{Now: m.clock.now, DedupWindow: modelWindow})
		if err != nil {
			t.Fatal(err)
		}
		rec := &Recorder{Store: records, NotifyURL: "https://cb.example.com/live"}
		dl := deadletter.New(b, prefix, "liverecord")
		core := pipeline.Apply(flaky{m: m, a: live.Applier{Store: streams}}, callback.FamilyLive)
		m.pipes = append(m.pipes, pipeline.NewInvoker(core,
			// No signature check here (as with CALLBACK_AUTH=off): HTTP letters are kept unverified.
			[]pipeline.Middleware{rec.Middleware(), pipeline.DeadLetter(dl, true)},
			nil, []pipeline.Middleware{rec.Claimer()}))
		m.letters, m.streams, m.records = dl, streams, records
	}
	steps := 30 + m.rng.IntN(30)
	for i := 0; i < steps && m.err == ""; i++ {
		m.step()
		m.checkStatus()
	}
	// The end: the bug is fixed, the letters replayed, the senders finish.
	if m.err == "" {
		m.broken = ""
		for len(m.queue) > 0 && m.err == "" {
			m.advance(m.queue[0].at)
			m.checkStatus()
		}
		// Replays that meet a transient failure stop; the operator runs
		// them again until no letter is left.
		for i := 0; m.replay() > 0 && m.err == ""; i++ {
			if i == 50 {
				m.fail("letters are left after 50 replays")
			}
			m.checkStatus()
		}
	}
	if m.err == "" {
		m.checkEnd()
	}
	return m
}

// outcome is what the run found, for modeltest.
func (m *liveModel) outcome() modeltest.Outcome { return modeltest.Outcome{Log: m.log, Err: m.err} }

func (m *liveModel) logf(format string, args ...any) {
	m.log = append(m.log, m.clock.now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
}

func (m *liveModel) fail(format string, args ...any) {
	if m.err == "" {
		m.err = fmt.Sprintf(format, args...)
	}
}

// flaky is the stream-state applier with the faults of the model: the
// bug (a permanent refusal of one event type) and 10% transient failures.
type flaky struct {
	m *liveModel
	a live.Applier
}

func (f flaky) Apply(ctx context.Context, d *trigger.Delivery, e *callback.Event) (statestore.Result, error) {
	if e.LiveStatus != nil && e.LiveStatus.Event == f.m.broken {
		return statestore.Result{}, apierr.New(apierr.InvalidField, "the model's bug refuses %s", e.Type)
	}
	if f.m.rng.IntN(10) == 0 {
		return statestore.Result{}, apierr.Transient(apierr.StorageUnavailable, nil, "the model's transient failure")
	}
	return f.a.Apply(ctx, d, e)
}

func (m *liveModel) step() {
	switch r := m.rng.IntN(100); {
	case r < 40:
		m.send()
	case r < 70:
		if len(m.queue) > 0 {
			m.advance(m.queue[0].at)
		}
	case r < 82:
		d := []time.Duration{time.Second, 30 * time.Second, 4 * time.Minute, 20 * time.Minute, 2 * time.Hour}[m.rng.IntN(5)]
		m.logf("clock +%v", d)
		m.advance(m.clock.now().Add(d))
	case r < 88:
		st, err := m.streams.Sweep(context.Background(), statestore.SweepOptions{})
		m.logf("sweep: %+v %v", st, err)
	case r < 94:
		if m.broken == "" {
			m.broken = []string{"record_paused", "record_resumed"}[m.rng.IntN(2)]
			m.logf("bug: %s refused", m.broken)
		} else {
			m.logf("bug fixed")
			m.broken = ""
			m.replay()
		}
	default:
		m.replay()
	}
}

// send makes the sender send a new callback now.
func (m *liveModel) send() {
	m.advance(m.clock.now().Add(time.Second))
	n := len(m.callbacks) + 1
	cb := &liveCallback{n: n}
	if m.rng.IntN(4) == 0 {
		cb.uri = fmt.Sprintf("record/s/%d.m3u8", n)
		start := m.clock.now().Add(-time.Minute).Unix()
		cb.body = fmt.Sprintf(`{"domain":%q,"app":"a","stream":"s","uri":%q,"duration":60,"start_time":%d,"stop_time":%d}`,
			modelDomain, cb.uri, start, start+60)
	} else {
		ev := []string{"record_started", "record_paused", "record_resumed"}[m.rng.IntN(3)]
		cb.status = true
		cb.body = fmt.Sprintf(`{"domain":%q,"app":"a","stream":"s","event":%q}`, modelDomain, ev)
		// A sender does not repeat one status within the window: it would be
		// the same callback.
		if last, ok := m.lastBody[cb.body]; ok && m.clock.now().Sub(last) <= modelWindow+time.Minute {
			m.advance(last.Add(modelWindow + time.Minute + time.Second))
		}
	}
	m.lastBody[cb.body] = m.clock.now()
	id, err := callback.Identity([]byte(cb.body))
	if err != nil {
		m.t.Fatal(err)
	}
	cb.eventID = id
	if m.rng.IntN(2) == 0 {
		cb.message = fmt.Sprintf("msg-%d", n)
	}
	m.callbacks = append(m.callbacks, cb)
	m.logf("send #%d %s (message %q)", n, cb.body, cb.message)
	m.deliver(cb)
}

// deliver delivers cb to a random instance now and schedules what the
// sender does about the answer.
func (m *liveModel) deliver(cb *liveCallback) {
	d := &trigger.Delivery{Kind: trigger.KindHTTP, Body: []byte(cb.body), DeliveryID: fmt.Sprintf("req-%d", m.rng.Int())}
	if cb.message != "" {
		d.Kind, d.DeliveryID = trigger.KindEventBridgeMNS, cb.message
	}
	if cb.first.IsZero() {
		cb.first = m.clock.now().UTC().Truncate(time.Millisecond)
	}
	i := m.rng.IntN(len(m.pipes))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	r := m.pipes[i].Handle(ctx, d)
	cancel()
	m.logf("deliver #%d to %d: %s %v", cb.n, i, r.Outcome, r.Err)
	if r.Outcome != pipeline.Retry {
		cb.settled = true
	}
	switch {
	case r.Outcome == pipeline.Retry && cb.message == "":
		m.schedule(cb, time.Second)
	case r.Outcome == pipeline.Retry:
		m.schedule(cb, m.redeliveryDelay())
	case cb.message != "" && m.rng.IntN(5) == 0:
		// Another message of its batch failed: the whole batch comes again.
		m.schedule(cb, m.redeliveryDelay())
	case cb.message == "" && m.rng.IntN(10) == 0:
		// The answer was lost: the sender retries.
		m.schedule(cb, time.Second)
	}
}

func (m *liveModel) redeliveryDelay() time.Duration {
	return []time.Duration{10 * time.Second, 512 * time.Second, 20 * time.Minute, time.Hour}[m.rng.IntN(4)]
}

func (m *liveModel) schedule(cb *liveCallback, after time.Duration) {
	m.queue = append(m.queue, pending{at: m.clock.now().Add(after), cb: cb})
	slices.SortStableFunc(m.queue, func(a, b pending) int { return a.at.Compare(b.at) })
}

// advance moves the clock forward to t, making the deliveries due by
// then at their times.
func (m *liveModel) advance(t time.Time) {
	for len(m.queue) > 0 && !m.queue[0].at.After(t) && m.err == "" {
		p := m.queue[0]
		m.queue = m.queue[1:]
		if p.at.After(m.clock.now()) {
			m.clock.set(p.at)
		}
		m.deliver(p.cb)
	}
	if t.After(m.clock.now()) {
		m.clock.set(t)
	}
}

// replay replays the dead letters and returns how many it saw.
func (m *liveModel) replay() int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := pipeline.Replay(ctx, m.pipes[m.rng.IntN(len(m.pipes))], m.letters, pipeline.ReplayOptions{IncludeUnverified: true})
	m.logf("replay: seen %d replayed %d kept %d: %v", rep.Seen, rep.Replayed, rep.Kept, err)
	return rep.Seen
}

// checkStatus: the stream's status never goes back in time.
func (m *liveModel) checkStatus() {
	s, _, err := m.reader().Get(context.Background(), modelDomain, "a", "s")
	if err != nil || s.Status == nil {
		return
	}
	if s.Status.Time.Before(m.lastTime) {
		m.fail("the stream's status went back from %v to %v (%s)", m.lastTime, s.Status.Time, s.Status.NotifyType)
	}
	m.lastTime = s.Status.Time
}

func (m *liveModel) reader() *live.Reader { return m.streamReader }

// checkEnd: one record per callback, stamped with its first reception;
// the final status is the status callback received last; every file is
// listed.
func (m *liveModel) checkEnd() {
	ctx := context.Background()
	b := m.env.Bucket(m.t)
	want := map[string][]string{} // event id -> first receptions
	var last *liveCallback
	var files []string
	for _, cb := range m.callbacks {
		if !cb.settled {
			m.fail("callback #%d was never answered", cb.n)
			return
		}
		want[cb.eventID] = append(want[cb.eventID], notify.FormatTime(cb.first))
		if cb.status && (last == nil || cb.first.After(last.first)) {
			last = cb
		}
		if cb.uri != "" {
			files = append(files, cb.uri)
		}
	}
	for id, times := range want {
		// The occurrence objects of a body (see the key layout of package
		// notify): r/<eventId>/<16 hex digits of ^seq>.json is a record.
		prefix := notify.KeyPrefix("p/") + modelDomain + "/r/" + id + "/"
		page, err := b.List(ctx, ossx.ListOptions{Prefix: prefix})
		if err != nil {
			m.t.Fatal(err)
		}
		var got []string
		for _, o := range page.Objects {
			inv, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, prefix), ".json")
			n, err := strconv.ParseUint(inv, 16, 64)
			if !ok || len(inv) != 16 || err != nil {
				continue
			}
			seq := ^n
			st, err := m.records.Get(ctx, modelDomain, id, seq)
			if err != nil {
				m.t.Fatal(err)
			}
			got = append(got, st.Record.NotifyTime)
		}
		slices.Sort(got)
		slices.Sort(times)
		if !slices.Equal(got, times) {
			m.fail("records of %s are stamped %v, want one per callback first received at %v", id, got, times)
			return
		}
	}
	s, _, err := m.reader().Get(ctx, modelDomain, "a", "s")
	if err != nil {
		m.fail("stream state: %v", err)
		return
	}
	if last != nil && (s.Status == nil || s.Status.EventID != last.eventID || !s.Status.Time.Equal(last.first)) {
		got, _ := json.Marshal(s.Status)
		m.fail("final status %s, want callback #%d (%s) first received at %v", got, last.n, last.body, last.first)
		return
	}
	for _, uri := range files {
		if !slices.ContainsFunc(s.Files, func(f live.File) bool { return f.URI == uri }) {
			m.fail("file %s is missing from the stream state", uri)
			return
		}
	}
}
