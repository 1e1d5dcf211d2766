package statestore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/ossx"
	"mediastate/shared/retry"
	"mediastate/shared/statestore"
	"mediastate/test/ossserver"
	"mediastate/test/osstest"
)

// doc is a test document: a set of event names, kept sorted.
type doc struct {
	Items []string `json:"items"`
}

var codec = statestore.Codec[doc]{
	Marshal: func(d *doc) ([]byte, error) { return json.Marshal(d) },
	Unmarshal: func(b []byte) (*doc, error) {
		var d doc
		err := json.Unmarshal(b, &d)
		return &d, err
	},
}

// add is the mutation "add item": a pure, order-independent merge.
func add(item string) statestore.Mutation[doc] {
	return func(cur *doc) (*doc, bool, error) {
		if cur != nil && slices.Contains(cur.Items, item) {
			return cur, false, nil
		}
		n := &doc{}
		if cur != nil {
			n.Items = slices.Clone(cur.Items)
		}
		n.Items = append(n.Items, item)
		slices.Sort(n.Items)
		return n, true, nil
	}
}

func newStore(t testing.TB, b *ossx.Bucket, o statestore.Options) *statestore.Store[doc] {
	t.Helper()
	if o.Prefix == "" {
		o.Prefix = "t/"
	}
	s, err := statestore.New(b, codec, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// update runs one Update counting its requests by operation.
func update(t testing.TB, s *statestore.Store[doc], id, item string, o statestore.UpdateOptions) (statestore.Result, map[string]int64) {
	t.Helper()
	c := ossx.NewCounter()
	res, err := s.Update(ossx.WithCounter(ctxTimeout(t, 10*time.Second), c), id, add(item), o)
	if err != nil {
		t.Fatalf("update %s += %s: %v", id, item, err)
	}
	return res, c.Snapshot()
}

func TestRequestsPerUpdate(t *testing.T) {
	env := osstest.Memory(nil)
	a := newStore(t, env.Bucket(t), statestore.Options{})
	b := newStore(t, env.Bucket(t), statestore.Options{}) // another instance

	tests := []struct {
		name  string
		store *statestore.Store[doc]
		id    string
		item  string
		opts  statestore.UpdateOptions
		want  string
		ver   uint64
	}{
		{"new id, create first (confirmed by one LIST)", a, "m1", "e1", statestore.UpdateOptions{CreateFirst: true}, "ListObjectsV2=1 PutObject=1", 1},
		{"new id, cold", a, "m2", "e1", statestore.UpdateOptions{}, "ListObjectsV2=1 PutObject=1", 1},
		{"warm append", a, "m1", "e2", statestore.UpdateOptions{}, "PutObject=1", 2},
		{"warm duplicate", a, "m1", "e1", statestore.UpdateOptions{}, "", 2},
		{"cold existing", b, "m1", "e3", statestore.UpdateOptions{}, "GetObject=1 ListObjectsV2=1 PutObject=1", 3},
		{"cold duplicate", b, "m2", "e1", statestore.UpdateOptions{}, "GetObject=1 ListObjectsV2=1", 1},
		{"wrong create-first guess", b, "m2", "e2", statestore.UpdateOptions{CreateFirst: true}, "PutObject=1", 2},
		{"stale cache: one lost race, next version read directly", a, "m1", "e4", statestore.UpdateOptions{}, "GetObject=1 PutObject=2", 4},
	}
	for _, tc := range tests {
		res, ops := update(t, tc.store, tc.id, tc.item, tc.opts)
		if got := fmtOps(ops); got != tc.want || res.Version != tc.ver {
			t.Errorf("%s: requests %q version %d, want %q version %d", tc.name, got, res.Version, tc.want, tc.ver)
		}
	}
	got, ver, err := a.Get(ctxTimeout(t, 5*time.Second), "m1")
	if err != nil || ver != 4 || strings.Join(got.Items, ",") != "e1,e2,e3,e4" {
		t.Fatalf("Get m1 = %v v%d %v", got, ver, err)
	}
	if _, _, err := a.Get(ctxTimeout(t, 5*time.Second), "nope"); !errors.Is(err, statestore.ErrNotFound) {
		t.Fatalf("Get of an unknown id: %v", err)
	}
}

func fmtOps(m map[string]int64) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+strconv.FormatInt(v, 10))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// TestConcurrentWriters: 32 goroutines, each its own instance (own cache
// and client), append distinct events to one id.
func TestConcurrentWriters(t *testing.T) {
	env := osstest.Memory(nil)
	const writers, each = 32, 4
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		s := newStore(t, env.Bucket(t), statestore.Options{})
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				_, err := s.Update(ctx, "hot", add(fmt.Sprintf("w%02d-e%d", w, i)), statestore.UpdateOptions{})
				cancel()
				if err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkAllApplied(t, env, "hot", writers*each)
}

// checkAllApplied asserts that the newest version holds exactly n items and
// that every version is a superset of the one before (nothing regressed).
func checkAllApplied(t *testing.T, env *osstest.Env, id string, n int) {
	t.Helper()
	b := env.Bucket(t)
	s := newStore(t, b, statestore.Options{})
	ctx := ctxTimeout(t, 30*time.Second)
	got, ver, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Items) != n || len(slices.Compact(slices.Clone(got.Items))) != n {
		t.Fatalf("newest version %d holds %d items, want %d distinct", ver, len(got.Items), n)
	}
	var prev *doc
	for seq := uint64(1); seq <= ver; seq++ {
		body, _, err := b.GetObject(ctx, s.VersionKey(id, seq))
		if err != nil {
			t.Fatalf("version %d: %v", seq, err)
		}
		d, _ := codec.Unmarshal(body)
		if prev != nil {
			for _, it := range prev.Items {
				if !slices.Contains(d.Items, it) {
					t.Fatalf("version %d lost %s that version %d had", seq, it, seq-1)
				}
			}
			if len(d.Items) <= len(prev.Items) {
				t.Fatalf("version %d adds nothing to version %d", seq, seq-1)
			}
		}
		prev = d
	}
}

// TestConcurrentProcesses: 4 separate OS processes append to one id.
// They share the OSS test server, so the store is also checked over the
// real protocol and SDK.
func TestConcurrentProcesses(t *testing.T) {
	env := osstest.Start(t)
	const procs, each = 4, 12
	var wg sync.WaitGroup
	outs := make([][]byte, procs)
	errs := make([]error, procs)
	for p := 0; p < procs; p++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriterProcess$", "-test.v")
		cmd.Env = append(os.Environ(), "STATESTORE_HELPER=1", "STATESTORE_ENDPOINT="+env.Endpoint,
			"STATESTORE_WRITER="+strconv.Itoa(p), "STATESTORE_EACH="+strconv.Itoa(each))
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			outs[p], errs[p] = cmd.CombinedOutput()
		}(p)
	}
	wg.Wait()
	for p := range errs {
		if errs[p] != nil {
			t.Fatalf("process %d: %v\n%s", p, errs[p], outs[p])
		}
	}
	checkAllApplied(t, env, "proc", procs*each)
}

// TestHelperWriterProcess is the body of one writer process of
// TestConcurrentProcesses; it does nothing in a normal run.
func TestHelperWriterProcess(t *testing.T) {
	if os.Getenv("STATESTORE_HELPER") != "1" {
		t.Skip("helper process for TestConcurrentProcesses")
	}
	env := &osstest.Env{Endpoint: os.Getenv("STATESTORE_ENDPOINT")}
	s := newStore(t, env.Bucket(t), statestore.Options{})
	w, _ := strconv.Atoi(os.Getenv("STATESTORE_WRITER"))
	each, _ := strconv.Atoi(os.Getenv("STATESTORE_EACH"))
	for i := 0; i < each; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		_, err := s.Update(ctx, "proc", add(fmt.Sprintf("p%d-e%02d", w, i)), statestore.UpdateOptions{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestFaults: with 503s, 500s, connection resets and lost responses on
// every operation, 8 writers still get every event applied exactly once,
// and no version regresses.
func TestFaults(t *testing.T) {
	env := osstest.Memory(nil)
	if err := env.Server.SetFaults(ossserver.Faults{Error503Rate: 0.08, Error500Rate: 0.02, ResetRate: 0.05, LostResponseRate: 0.08, Seed: 42}); err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total statestore.Result
	for w := 0; w < writers; w++ {
		s := newStore(t, env.Bucket(t), statestore.Options{Retry: retry.Policy{Attempts: 12, Base: time.Millisecond, Max: 10 * time.Millisecond}})
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				item := fmt.Sprintf("w%d-e%d", w, i)
				// A sender retries until the update is acknowledged, as
				// EventBridge does; the mutation makes repeats no-ops.
				for attempt := 0; ; attempt++ {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					res, err := s.Update(ctx, "faulty", add(item), statestore.UpdateOptions{})
					cancel()
					mu.Lock()
					total.Conflicts += res.Conflicts
					total.Retries += res.Retries
					total.Resolved += res.Resolved
					mu.Unlock()
					if err == nil {
						break
					}
					if apierr.IsPermanent(err) || attempt > 20 {
						t.Errorf("%s: %v", item, err)
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	if err := env.Server.SetFaults(ossserver.Faults{}); err != nil {
		t.Fatal(err)
	}
	st := env.Server.Stats()
	t.Logf("faults injected: %+v; store retries=%d resolved=%d conflicts=%d", st.Faults, total.Retries, total.Resolved, total.Conflicts)
	if st.Faults.LostResponses == 0 || st.Faults.Resets == 0 || st.Faults.Error503 == 0 {
		t.Fatalf("the faults were not exercised: %+v", st.Faults)
	}
	if total.Resolved == 0 {
		t.Fatal("no lost write response was resolved from its writer id")
	}
	checkAllApplied(t, env, "faulty", writers*each)
}

// TestLostResponseResolved: a PUT whose response is lost is recognised as
// landed from the writer id, not written twice.
func TestLostResponseResolved(t *testing.T) {
	env := osstest.Memory(nil)
	s := newStore(t, env.Bucket(t), statestore.Options{Retry: osstest.Fast})
	update(t, s, "m", "e1", statestore.UpdateOptions{})
	if err := env.Server.SetFaults(ossserver.Faults{LostResponseRate: 1, Ops: []string{"PutObject"}}); err != nil {
		t.Fatal(err)
	}
	// Every PutObject now lands but loses its response: the first attempt
	// creates version 2; every retry is refused (409) and loses its answer
	// too, so the writer cannot tell and must report a transient failure.
	res, err := s.Update(ctxTimeout(t, 10*time.Second), "m", add("e2"), statestore.UpdateOptions{})
	if err == nil || apierr.IsPermanent(err) {
		t.Fatalf("update = %+v, %v; want a transient error since no response arrived", res, err)
	}
	if err := env.Server.SetFaults(ossserver.Faults{}); err != nil {
		t.Fatal(err)
	}
	// The write landed exactly once; the sender's retry is a no-op.
	res, _ = update(t, s, "m", "e2", statestore.UpdateOptions{})
	if res.Written || res.Version != 2 {
		t.Fatalf("retry after the lost response: %+v, want version 2 unchanged", res)
	}
	checkAllApplied(t, env, "m", 2)
}

func TestVersionedBucketRefused(t *testing.T) {
	env := osstest.Memory(nil)
	b := env.Bucket(t)
	ctx := ctxTimeout(t, 5*time.Second)
	if err := b.CheckUnversioned(ctx); err != nil {
		t.Fatalf("fresh bucket: %v", err)
	}
	for _, status := range []string{"Enabled", "Suspended"} {
		if err := env.Server.SetVersioning(osstest.Bucket, status); err != nil {
			t.Fatal(err)
		}
		err := b.CheckUnversioned(ctx)
		if !apierr.Is(err, apierr.InvalidConfig) || !strings.Contains(err.Error(), "versioning "+status) {
			t.Fatalf("versioning %s: %v", status, err)
		}
	}
}

func TestSweep(t *testing.T) {
	env := osstest.Memory(nil)
	now := time.Now()
	clock := func() time.Time { return now }
	s := newStore(t, env.Bucket(t), statestore.Options{Now: clock})
	for i := 0; i < 5; i++ {
		update(t, s, "a", fmt.Sprint("e", i), statestore.UpdateOptions{})
	}
	update(t, s, "b", "e0", statestore.UpdateOptions{})
	ctx := ctxTimeout(t, 10*time.Second)
	if _, err := s.Sweep(ctx, statestore.SweepOptions{MinAge: time.Minute}); !apierr.Is(err, apierr.InvalidConfig) {
		t.Fatalf("a min age below the floor must be refused: %v", err)
	}
	// Versions were just written: nothing is old enough.
	st, err := s.Sweep(ctx, statestore.SweepOptions{})
	if err != nil || st.Deleted != 0 || st.IDs != 2 || st.Versions != 6 {
		t.Fatalf("sweep of young versions: %+v %v", st, err)
	}
	// Two hours later everything but the newest two of each id goes.
	now = now.Add(2 * time.Hour)
	st, err = s.Sweep(ctx, statestore.SweepOptions{})
	if err != nil || st.Deleted != 3 {
		t.Fatalf("sweep: %+v %v", st, err)
	}
	var seen []string
	err = s.EachNewest(ctx, func(v statestore.Version) error {
		seen = append(seen, fmt.Sprintf("%s@%d", v.ID, v.Seq))
		return nil
	})
	if err != nil || strings.Join(seen, " ") != "a@5 b@1" {
		t.Fatalf("EachNewest after sweep: %v %v", seen, err)
	}
	// A writer whose cache is fresh keeps working after the sweep.
	if res, _ := update(t, s, "a", "e9", statestore.UpdateOptions{}); res.Version != 6 {
		t.Fatalf("update after sweep: %+v", res)
	}
}

// TestOneInstanceNoLostRaces: concurrent updates of one id through ONE
// store (one instance) take turns, so none loses a race and each costs one
// PUT from the warm cache.
func TestOneInstanceNoLostRaces(t *testing.T) {
	env := osstest.Memory(nil)
	s := newStore(t, env.Bucket(t), statestore.Options{})
	update(t, s, "hot", "e-first", statestore.UpdateOptions{})
	const n = 32
	c := ossx.NewCounter()
	ctx := ossx.WithCounter(ctxTimeout(t, 30*time.Second), c)
	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts := 0
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := s.Update(ctx, "hot", add(fmt.Sprintf("e%02d", i)), statestore.UpdateOptions{})
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			conflicts += res.Conflicts
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	if conflicts != 0 || c.Get(ossx.OpPut) != n || c.Total() != n {
		t.Fatalf("%d lost races, requests %s; want 0 and exactly %d PUTs", conflicts, c, n)
	}
	checkAllApplied(t, env, "hot", n+1)
}
