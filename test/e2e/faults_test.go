package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/pipeline"
	"mediastate/shared/signature"
	tt "mediastate/shared/trigger/triggertest"
	"mediastate/test/localstack"
	"mediastate/test/ossserver"
)

// TestTransientStorageFailure makes every OSS request fail with 503. An
// HTTP delivery must be answered 503 with Retry-After (so that VOD retries
// it), a batch invocation must fail (so that EventBridge redelivers it),
// and nothing may be dead-lettered or written. Once OSS is back, the same
// deliveries apply.
//
// Not parallel: the faults hit every request to the shared OSS server, so
// this test runs before the parallel tests resume.
func TestTransientStorageFailure(t *testing.T) {
	// Warm up: both functions have checked the bucket (once per process),
	// so what fails below is the delivery, not the start-up check.
	for _, fn := range []string{"upload", "media"} {
		warm := vodUpload(newID())
		if res, err := bareShape("bare", false).send(stk, fn, [][]byte{warm}); err != nil || res[0].Outcome != pipeline.Applied {
			t.Fatalf("warm-up of %s: %v %+v", fn, err, res)
		}
	}
	idHTTP, idBatch := newID(), newID()
	httpBody := withID(t, readSeed(t, "vod-file-upload-complete.json"), "7a1c2e80ea1f71eda2b5f7e4d3c1****", idHTTP)
	batchBody := withID(t, readSeed(t, "ims-register-media-complete.json"), "71151b80f2d471ecb21b472190a9****", idBatch)
	elem := tt.MNSEvent(tt.NewID(), batchBody, tt.Plain)
	payload := tt.Batch(elem)
	lettersBefore := listKeys(t, stk, stk.Prefix+"deadletter/")

	before := stk.OSS.Stats().Faults.Error503
	if err := stk.OSS.SetFaults(ossserver.Faults{Error503Rate: 1}); err != nil {
		t.Fatal(err)
	}
	cleared := false
	clear := func() {
		if !cleared {
			cleared = true
			if err := stk.OSS.SetFaults(ossserver.Faults{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(clear)

	r := mustPostHTTP(t, stk, "upload", httpBody, signedHeaders(stk, "upload", signature.VOD, localstack.LocalVODKey))
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("HTTP delivery with OSS down: %d %v %s; want 503 with Retry-After", r.Status, r.Header, r.Body)
	}
	if b := mustHTTPBody(t, r); b.Outcome != pipeline.Retry || b.Code != string(apierr.StorageUnavailable) {
		t.Fatalf("answer %+v, want retry StorageUnavailable", b)
	}

	r = mustInvoke(t, stk, "media", payload)
	e := mustFCError(t, r)
	if !strings.Contains(e.Message, "must be retried") {
		t.Fatalf("batch failure message %q does not say the messages must be retried", e.Message)
	}
	if stk.OSS.Stats().Faults.Error503 == before {
		t.Fatal("no 503 was injected")
	}
	clear()

	lettersAfter := listKeys(t, stk, stk.Prefix+"deadletter/")
	if !slices.Equal(lettersBefore, lettersAfter) {
		t.Fatalf("transient failures were dead-lettered: before %v after %v", lettersBefore, lettersAfter)
	}
	noLetter(t, stk, "upload", "http", httpBody)
	noLetter(t, stk, "media", "eventbridge-mns", batchBody)
	checkNoState(t, stk, idHTTP)
	checkNoState(t, stk, idBatch)

	// The sender's retry succeeds.
	r = mustPostHTTP(t, stk, "upload", httpBody, signedHeaders(stk, "upload", signature.VOD, localstack.LocalVODKey))
	if b := mustHTTPBody(t, r); r.Status != http.StatusOK || b.Outcome != pipeline.Applied || b.Version != 1 {
		t.Fatalf("retried HTTP delivery: %d %+v", r.Status, b)
	}
	sum := mustSummary(t, mustInvoke(t, stk, "media", payload))
	if len(sum.Results) != 1 || sum.Results[0].Outcome != pipeline.Applied || sum.Results[0].Version != 1 {
		t.Fatalf("redelivered batch: %+v", sum)
	}
	checkState(t, stk, idHTTP, fold(t, httpBody))
	checkState(t, stk, idBatch, fold(t, batchBody))
}

// TestColdStartTransientFailure is TestTransientStorageFailure for a
// function whose first invocation meets an OSS outage: its one-time bucket
// check (GetBucketVersioning) fails transiently. The README's contract is
// the same: an HTTP delivery is answered 503 with Retry-After (and logged
// as a delivery), a batch invocation fails so that it is redelivered, and
// once OSS is back the deliveries apply. A stack of its own, so that the
// function is cold and the faults hit nobody else.
func TestColdStartTransientFailure(t *testing.T) {
	t.Parallel()
	s, lb := startStack(t, "upload")
	if err := s.OSS.SetFaults(ossserver.Faults{Error503Rate: 1}); err != nil {
		t.Fatal(err)
	}
	id := newID()
	body := vodUpload(id)

	r := mustPostHTTP(t, s, "upload", body, signedHeaders(s, "upload", signature.VOD, localstack.LocalVODKey))
	e := mustFCError(t, mustInvoke(t, s, "upload", tt.Batch(tt.MNSEvent(tt.NewID(), body, tt.Plain))))
	if err := s.OSS.SetFaults(ossserver.Faults{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.Message, "503") && !strings.Contains(e.Message, "retried") {
		t.Errorf("batch failure message %q", e.Message)
	}
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Errorf("HTTP delivery to a cold function with OSS down: %d, headers %v, body %s; want 503 with Retry-After like any transient failure", r.Status, r.Header, r.Body)
	} else if b := mustHTTPBody(t, r); b.Outcome != pipeline.Retry {
		t.Errorf("answer %+v, want outcome retry", b)
	}
	if r.RequestID != "" && len(deliveryLines(lb.String(), r.RequestID)) == 0 {
		waitLog(t, lb, defaultLogWait, "a delivery line for the failed HTTP delivery", func(out string) bool {
			return len(deliveryLines(out, r.RequestID)) > 0 || strings.Contains(out, `"msg":"not ready"`)
		})
		if len(deliveryLines(lb.String(), r.RequestID)) == 0 {
			t.Errorf("the failed HTTP delivery %s has no delivery log line", r.RequestID)
		}
	}
	checkNoState(t, s, id)
	if keys := listKeys(t, s, ""); len(keys) != 0 {
		t.Fatalf("objects written or dead-lettered during the outage: %v", keys)
	}

	// The sender's retry succeeds.
	r = mustPostHTTP(t, s, "upload", body, signedHeaders(s, "upload", signature.VOD, localstack.LocalVODKey))
	if b := mustHTTPBody(t, r); r.Status != http.StatusOK || b.Outcome != pipeline.Applied {
		t.Fatalf("retried delivery: %d %+v", r.Status, b)
	}
	checkState(t, s, id, fold(t, body))
}

// TestLostResponses loses the response of half the PutObject requests
// after OSS applied them (the write landed but the function cannot know),
// while the lifecycles of two videos are delivered concurrently through
// random functions and envelopes; every delivery answered "retry" is
// delivered again, as its sender would. No event may be lost or applied
// twice: each distinct event makes exactly one version, at most one answer
// per event says applied, and the final state is the in-process fold.
//
// Not parallel: the faults hit every request to the shared OSS server.
func TestLostResponses(t *testing.T) {
	for _, fn := range mediaFunctions { // the bucket checks are done before the faults
		if res, err := bareShape("bare", false).send(stk, fn, [][]byte{vodUpload(newID())}); err != nil || res[0].Outcome != pipeline.Applied {
			t.Fatalf("warm-up of %s: %v %+v", fn, err, res)
		}
	}
	seedV := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seedV)
	rng := rand.New(rand.NewPCG(seedV, 7))
	type item struct {
		id   string
		body []byte
		eid  string
	}
	var items []item
	perMedia := map[string][][]byte{}
	bodyOf := map[string][]byte{}
	for range 2 {
		id := newID()
		for _, b := range lifecycle(t, id, time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)) {
			ev := mustDecode(t, b)
			items = append(items, item{id, b, ev.EventID})
			perMedia[id] = append(perMedia[id], b)
			bodyOf[ev.EventID] = b
		}
	}
	rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	type plan struct {
		fn string
		sh shape
	}
	plans := make([]plan, len(items))
	for i := range plans {
		plans[i] = plan{mediaFunctions[rng.IntN(len(mediaFunctions))], applyingShapes[rng.IntN(len(applyingShapes))]}
	}

	before := stk.OSS.Stats().Faults.LostResponses
	if err := stk.OSS.SetFaults(ossserver.Faults{LostResponseRate: 0.5, Ops: []string{"PutObject"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stk.OSS.SetFaults(ossserver.Faults{}); err != nil {
			t.Fatal(err)
		}
	})

	var (
		mu      sync.Mutex
		applied = map[string]int{}
		tries   = map[string]int{}
		errs    []error
	)
	inParallel(len(items), func(i int) {
		it, p := items[i], plans[i]
		for attempt, done := 1, false; !done; attempt++ {
			res, err := p.sh.send(stk, p.fn, [][]byte{it.body})
			mu.Lock()
			tries[it.eid]++
			switch {
			case err != nil:
				// A batch invocation fails as a whole when its message must
				// be retried; so does nothing else.
				if !strings.Contains(err.Error(), "must be retried") {
					errs = append(errs, fmt.Errorf("%s via %s: %w", p.fn, p.sh.name, err))
				}
			case res[0].Outcome == pipeline.Applied || res[0].Outcome == pipeline.Duplicate:
				if res[0].Outcome == pipeline.Applied {
					applied[it.eid]++
				}
				done = true
			case res[0].Outcome != pipeline.Retry || (res[0].Status != 0 && res[0].Status != http.StatusServiceUnavailable):
				errs = append(errs, fmt.Errorf("event %s via %s %s: %+v", it.eid, p.fn, p.sh.name, res[0]))
				done = true
			}
			if !done && attempt == 20 {
				errs = append(errs, fmt.Errorf("event %s still failing or answered retry after %d attempts: %v", it.eid, attempt, err))
				done = true
			}
			mu.Unlock()
		}
	})
	if err := stk.OSS.SetFaults(ossserver.Faults{}); err != nil {
		t.Fatal(err)
	}
	for _, err := range errs {
		t.Error(err)
	}
	lost := stk.OSS.Stats().Faults.LostResponses - before
	if lost == 0 {
		t.Fatal("no response was lost: the test proved nothing")
	}
	total := 0
	for _, n := range tries {
		total += n
	}
	t.Logf("%d events, %d deliveries, %d responses lost", len(items), total, lost)
	for eid, n := range applied {
		if n > 1 {
			t.Errorf("event %s answered applied %d times", eid, n)
		}
	}
	for id, bodies := range perMedia {
		keys := checkState(t, stk, id, fold(t, bodies...))
		if len(keys) != len(bodies) {
			t.Errorf("%s: %d versions for %d distinct events", id, len(keys), len(bodies))
		}
		checkVersionChain(t, id, keys, func(eid string) []byte { return bodyOf[eid] })
	}
}

// TestSlowStorageAnswersWithinBudget makes every OSS request take longer
// than the senders wait (VOD gives up after 5 s, IMS after 3 s). An HTTP
// delivery must still be answered in time, with 503 and Retry-After, so
// that the sender retries it instead of counting a timeout; the retry
// applies once OSS is fast again.
//
// Not parallel: the faults hit every request to the shared OSS server.
func TestSlowStorageAnswersWithinBudget(t *testing.T) {
	if res, err := bareShape("bare", false).send(stk, "media", [][]byte{vodUpload(newID())}); err != nil || res[0].Outcome != pipeline.Applied {
		t.Fatalf("warm-up: %v %+v", err, res)
	}
	// Events that are not uploads, for new MediaIds: their first request is
	// a LIST, which is what is slowed down. (A slowed PUT would stay in
	// flight in the test server after the function gave up on it.)
	idVOD, idIMS := newID(), newID()
	vodBody := withID(t, readSeed(t, "vod-delete-media-complete.json"), "1234343b689jsi3ka5422dfe1e47****", idVOD)
	imsBody := withID(t, readSeed(t, "ims-register-media-complete.json"), "71151b80f2d471ecb21b472190a9****", idIMS)
	if err := stk.OSS.SetFaults(ossserver.Faults{Latency: 8 * time.Second, Ops: []string{"ListObjectsV2", "GetObject"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stk.OSS.SetFaults(ossserver.Faults{}); err != nil {
			t.Fatal(err)
		}
	})
	for _, c := range []struct {
		body   []byte
		scheme signature.Scheme
		key    string
		limit  time.Duration
	}{
		{vodBody, signature.VOD, localstack.LocalVODKey, 5 * time.Second},
		{imsBody, signature.IMS, localstack.LocalIMSKey, 3 * time.Second},
	} {
		start := time.Now()
		r := mustPostHTTP(t, stk, "media", c.body, signedHeaders(stk, "media", c.scheme, c.key))
		took := time.Since(start)
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || took >= c.limit {
			t.Errorf("%s callback with OSS slower than the sender's patience: %d %s after %v; want 503 with Retry-After within %v",
				c.scheme.Name, r.Status, r.Body, took.Round(time.Millisecond), c.limit)
		}
	}
	if err := stk.OSS.SetFaults(ossserver.Faults{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id, fn string
		body   []byte
	}{{idVOD, "media", vodBody}, {idIMS, "transcode", imsBody}} {
		h, err := signedFor(stk, c.fn, c.body)
		if err != nil {
			t.Fatal(err)
		}
		r := mustPostHTTP(t, stk, c.fn, c.body, h)
		if b := mustHTTPBody(t, r); r.Status != http.StatusOK || b.Outcome != pipeline.Applied {
			t.Fatalf("retry after the slowdown: %d %+v", r.Status, b)
		}
		checkState(t, stk, c.id, fold(t, c.body))
	}
}

// TestColdStartSlowStorageAnswersWithinBudget is
// TestSlowStorageAnswersWithinBudget for a cold function: its one-time
// bucket check (GetBucketVersioning) is slower than IMS waits (3 s). The
// README promises that HTTP deliveries are processed within the sender's
// patience (IMS: 2.5 s), so the answer must come in time: 503 with
// Retry-After.
func TestColdStartSlowStorageAnswersWithinBudget(t *testing.T) {
	t.Parallel()
	s, _ := startStack(t, "media")
	if err := s.OSS.SetFaults(ossserver.Faults{Latency: 4 * time.Second, Ops: []string{"GetBucketVersioning"}}); err != nil {
		t.Fatal(err)
	}
	id := newID()
	body := withID(t, readSeed(t, "ims-register-media-complete.json"), "71151b80f2d471ecb21b472190a9****", id)
	start := time.Now()
	r := mustPostHTTP(t, s, "media", body, signedHeaders(s, "media", signature.IMS, localstack.LocalIMSKey))
	took := time.Since(start)
	if took >= 3*time.Second || r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Errorf("IMS callback to a cold function whose bucket check is slow: %d %s after %v; want 503 with Retry-After within IMS's 3 s",
			r.Status, r.Body, took.Round(time.Millisecond))
	}
}
