package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"mediastate/shared/callback"
	"mediastate/shared/pipeline"
	"mediastate/shared/state"
	tt "mediastate/shared/trigger/triggertest"
	"mediastate/test/schemacheck"
)

// mediaFunctions are the functions that keep media state; each must apply
// any VOD or IMS event, since VOD and IMS send every event type to one URL
// or queue.
var mediaFunctions = []string{"upload", "media", "transcode", "editing"}

// lifecycle returns the callback bodies of a realistic life of one video,
// adapted from the seed fixtures: uploads (one stale), registration, two
// audits at the same second, a stream and a full transcode, an unknown
// event type, basic-information changes (one failed), a stream deletion,
// editing, a source-file deletion and a failed deletion of everything.
func lifecycle(t *testing.T, id string, t0 time.Time) [][]byte {
	t.Helper()
	at := func(sec int) string { return t0.Add(time.Duration(sec) * time.Second).Format("2006-01-02T15:04:05Z") }
	obj := func(v map[string]any) []byte {
		b, err := json.MarshalIndent(v, "", "    ")
		if err != nil {
			t.Fatal(err)
		}
		return append(b, '\n')
	}
	ims := func(typ string, sec int, body map[string]any) []byte {
		body["MediaId"] = id
		return obj(map[string]any{"EventType": typ, "UserId": json.Number("1833202230100000"), "EventTime": at(sec), "MessageBody": body})
	}
	vod := func(typ string, sec int, body map[string]any) []byte {
		body["EventType"], body["EventTime"] = typ, at(sec)
		if _, ok := body["MediaId"]; !ok {
			body["VideoId"] = id
		}
		return obj(body)
	}
	// MediaContent as IMS sends it: JSON in a string, each change JSON in a
	// string again.
	content := func(changes map[string][2]string) string {
		m := map[string]string{}
		for f, c := range changes {
			m[f] = string(tt.JSON(map[string]string{"OldValue": c[0], "NewValue": c[1]}))
		}
		return string(tt.JSON(m))
	}
	stream := func(def, format, job string, size int) map[string]any {
		return map[string]any{"Status": "success", "Bitrate": "925", "Definition": def, "Duration": 15, "Encrypt": false,
			"FileUrl": fmt.Sprintf("http://example.aliyundoc.com/%s/%s-%s.%s", id, job, def, format), "Format": format,
			"Fps": "30", "Height": 960, "Width": 540, "Size": size, "IsAudio": false,
			"StartTime": at(25), "FinishTime": at(39), "JobId": job}
	}
	jobLD, jobSD, jobHLS := "ld"+id[len(id)-8:], "sd"+id[len(id)-8:], "hls"+id[len(id)-8:]
	return [][]byte{
		vod("FileUploadComplete", 0, map[string]any{"Status": "success", "Size": 1439213,
			"FileUrl": "http://outin-****.oss-cn-shanghai.aliyuncs.com/sv/" + id + ".mp4", "Extend": `{"OrderId":"A-1001"}`}),
		ims("UploadByURLComplete", -60, map[string]any{"Status": "Success", "FileUrl": "http://outin-***/old.mp4",
			"SourceURL": "http://example.com/source.mp4", "Size": "100", "MediaType": "video", "JobId": "url-job"}),
		ims("RegisterMediaComplete", 5, map[string]any{"Status": "Success", "UserData": `{"Extend":{"k":"v"}}`}),
		ims("CreateAuditComplete", 20, map[string]any{"Status": "Success", "Auditor": "alice", "AuditStatus": "Normal",
			"Comment": "ok", "Reason": "r1", "CreationTime": at(19)}),
		ims("CreateAuditComplete", 20, map[string]any{"Status": "Success", "Auditor": "bob", "AuditStatus": "Blocked",
			"Comment": "no", "Reason": "r2", "CreationTime": at(19)}),
		vod("StreamTranscodeComplete", 30, func() map[string]any {
			s := stream("LD", "m3u8", jobHLS, 2645048)
			s["Extend"] = `{"OrderId":"A-1001"}`
			return s
		}()),
		vod("TranscodeComplete", 40, map[string]any{"Status": "success", "Extend": "test data",
			"StreamInfos": []any{stream("LD", "mp4", jobLD, 1815321), stream("SD", "mp4", jobSD, 3090951)}}),
		vod("SnapshotComplete", 45, map[string]any{"Status": "success", "CoverUrl": "http://example.aliyundoc.com/" + id + "/00001.jpg",
			"SnapshotInfos": []any{map[string]any{"SnapshotType": "CoverSnapshot", "SnapshotCount": 3, "SnapshotFormat": "jpg"}}}),
		ims("MediaBaseChangeComplete", 50, map[string]any{"Status": "Success", "MediaType": "video", "OperateMode": "create",
			"MediaContent": content(map[string][2]string{"Title": {"", "First title"}, "Description": {"", "A <b>film</b> & more"}})}),
		ims("MediaBaseChangeComplete", 60, map[string]any{"Status": "Success", "MediaType": "video", "OperateMode": "update",
			"MediaContent": content(map[string][2]string{"Title": {"First title", "Second title"}})}),
		ims("MediaBaseChangeComplete", 70, map[string]any{"Status": "Fail", "MediaType": "video", "OperateMode": "update",
			"ErrorCode": "InvalidParameter", "ErrorMessage": "bad title",
			"MediaContent": content(map[string][2]string{"Title": {"Second title", "Rejected title"}})}),
		vod("DeleteMediaComplete", 80, map[string]any{"Status": "success", "MediaType": "video", "DeleteType": "stream",
			"MediaId": id, "JobIds": jobLD}),
		vod("ProduceMediaComplete", -30, map[string]any{"Status": "success", "MediaId": id, "ProjectId": "987624bab6" + id[3:11]}),
		vod("DeleteMediaComplete", 90, map[string]any{"Status": "success", "MediaType": "video", "DeleteType": "mezzanine", "MediaId": id}),
		vod("DeleteMediaComplete", 100, map[string]any{"Status": "fail", "MediaType": "video", "DeleteType": "all", "MediaId": id,
			"ErrorCode": "Forbidden", "ErrorMessage": "not allowed"}),
	}
}

// checkLifecycleState asserts what the lifecycle must mean, independently
// of the fold: so that a fold bug the functions faithfully reproduce is
// caught too.
func checkLifecycleState(t *testing.T, m *state.Media, id string) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("lifecycle of %s: "+format+"\n%s", append(args, id, marshalState(t, m))...)
	}
	switch {
	case m.MediaID != id || m.Deleted:
		fail("mediaId %q deleted %v", m.MediaID, m.Deleted)
	case len(m.Events) != 15:
		fail("%d events applied, want 15", len(m.Events))
	case m.Upload == nil || m.Upload.EventType != "FileUploadComplete" || !m.Upload.FileDeleted:
		fail("upload should be the (newer) FileUploadComplete with its file deleted by the mezzanine deletion")
	case m.Registration == nil || m.Audit == nil || m.Editing == nil || m.Editing.ProjectID == "":
		fail("registration, audit or editing missing")
	case m.BasicInfo == nil || m.BasicInfo.Fields["Title"].Value != "Second title" || m.BasicInfo.Status != "fail" ||
		m.BasicInfo.Fields["Description"].Value != "A <b>film</b> & more":
		fail("basic info should keep the last successful title and report the failed change")
	case m.Transcode == nil || len(m.Transcode.Streams) != 2 || len(m.Transcode.RemovedStreams) != 1:
		fail("want 2 live streams and 1 removed by the stream deletion")
	case m.Other["SnapshotComplete"] == nil:
		fail("SnapshotComplete was not kept")
	case len(m.Failures) != 2 || m.Deletion == nil || m.Deletion.Status != "fail" || m.Deletion.Terminal != nil:
		fail("want 2 failures and the failed deletion of everything as latest deletion, not terminal")
	}
	if m.Transcode.RemovedStreams[0].Definition != "LD" || m.Transcode.RemovedStreams[0].Format != "mp4" {
		fail("the removed stream should be LD mp4")
	}
	if a := m.Audit.AuditStatus; a != "Normal" && a != "Blocked" {
		fail("audit status %q", a)
	}
}

// delivery is one invocation of the shuffled run.
type delivery struct {
	fn     string
	sh     shape
	bodies [][]byte
	ids    []string // the event ids of bodies
}

// TestShuffledDuplicatedConcurrentLifecycle sends the lifecycles of five
// videos to random functions in random envelopes, in a random order, with
// random duplicates, from 8 goroutines at once. Every distinct event must
// be applied exactly once (one new version each) and every other copy be
// answered duplicate; every version must be valid, hold one event more
// than its predecessor, and be the fold of the events it lists; and the
// final state must be byte for byte the in-process fold.
func TestShuffledDuplicatedConcurrentLifecycle(t *testing.T) {
	t.Parallel()
	seedV := uint64(time.Now().UnixNano())
	if s := os.Getenv("E2E_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("E2E_SEED: %v", err)
		}
		seedV = v
	}
	t.Logf("random seed %d (set E2E_SEED to repeat the delivery plan)", seedV)
	rng := rand.New(rand.NewPCG(seedV, seedV^0x5eed))

	type event struct {
		body   []byte
		ev     *callback.Event
		copies int
	}
	events := map[string]*event{} // by event id
	perMedia := map[string][]string{}
	var ids []string
	for range 5 {
		id := newID()
		ids = append(ids, id)
		t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(86400)) * time.Second)
		for _, b := range lifecycle(t, id, t0) {
			ev := mustDecode(t, b)
			if ev.ID != id {
				t.Fatalf("lifecycle body decodes to id %q: %s", ev.ID, b)
			}
			if _, dup := events[ev.EventID]; dup {
				t.Fatalf("two lifecycle bodies have the same content id %s", ev.EventID)
			}
			events[ev.EventID] = &event{body: b, ev: ev}
			perMedia[id] = append(perMedia[id], ev.EventID)
		}
	}

	// Copies: 1 to 4 of each event, shuffled, each to a random function in
	// a random envelope; copies that draw a batch envelope sometimes carry
	// the next copies along in the same invocation.
	type cp struct{ eventID string }
	var copies []cp
	for _, id := range ids {
		for _, eid := range perMedia[id] {
			n := 1 + rng.IntN(4)
			events[eid].copies = n
			for range n {
				copies = append(copies, cp{eid})
			}
		}
	}
	rng.Shuffle(len(copies), func(i, j int) { copies[i], copies[j] = copies[j], copies[i] })
	var deliveries []delivery
	for i := 0; i < len(copies); {
		d := delivery{fn: mediaFunctions[rng.IntN(len(mediaFunctions))], sh: applyingShapes[rng.IntN(len(applyingShapes))]}
		n := 1
		if d.sh.batch && rng.IntN(2) == 0 {
			n += 1 + rng.IntN(3)
		}
		for ; n > 0 && i < len(copies); n-- {
			d.bodies = append(d.bodies, events[copies[i].eventID].body)
			d.ids = append(d.ids, copies[i].eventID)
			i++
		}
		deliveries = append(deliveries, d)
	}
	t.Logf("%d distinct events, %d copies, %d invocations", len(events), len(copies), len(deliveries))

	var (
		mu       sync.Mutex
		outcomes = map[string][]itemResult{}
		errs     []error
	)
	inParallel(len(deliveries), func(i int) {
		d := deliveries[i]
		res, err := d.sh.send(stk, d.fn, d.bodies)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s via %s: %w", d.fn, d.sh.name, err))
		}
		for i, r := range res {
			outcomes[d.ids[i]] = append(outcomes[d.ids[i]], r)
			if r.EventID != d.ids[i] {
				errs = append(errs, fmt.Errorf("%s via %s: result %d is about event %q, sent %q", d.fn, d.sh.name, i, r.EventID, d.ids[i]))
			}
			if r.Status != 0 && r.Status != http.StatusOK {
				errs = append(errs, fmt.Errorf("%s via %s: HTTP %d %+v", d.fn, d.sh.name, r.Status, r))
			}
		}
	})
	for _, err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	// Exactly one copy of each event applied, the others duplicates.
	for eid, e := range events {
		got := outcomes[eid]
		if len(got) != e.copies {
			t.Errorf("event %s (%s): %d answers for %d copies", eid, e.ev.Type, len(got), e.copies)
			continue
		}
		applied := 0
		for _, r := range got {
			switch r.Outcome {
			case pipeline.Applied:
				applied++
			case pipeline.Duplicate:
			default:
				t.Errorf("event %s (%s): outcome %+v", eid, e.ev.Type, r)
			}
			if r.ID != e.ev.ID {
				t.Errorf("event %s: answer about id %q, want %q", eid, r.ID, e.ev.ID)
			}
		}
		if applied != 1 {
			t.Errorf("event %s (%s): applied %d times in %d copies, want exactly once: %+v", eid, e.ev.Type, applied, e.copies, got)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	for _, id := range ids {
		var bodies [][]byte
		appliedVersions := map[uint64]bool{}
		for _, eid := range perMedia[id] {
			bodies = append(bodies, events[eid].body)
			for _, r := range outcomes[eid] {
				if r.Outcome == pipeline.Applied {
					appliedVersions[r.Version] = true
				}
			}
		}
		want := fold(t, bodies...)
		checkLifecycleState(t, want, id)
		// The fold itself is order-independent: reversed and shuffled give the same bytes.
		rev := slices.Clone(bodies)
		slices.Reverse(rev)
		shuf := slices.Clone(bodies)
		rng.Shuffle(len(shuf), func(i, j int) { shuf[i], shuf[j] = shuf[j], shuf[i] })
		for _, other := range [][][]byte{rev, shuf} {
			if a, b := marshalState(t, want), marshalState(t, fold(t, other...)); !bytes.Equal(a, b) {
				t.Fatalf("in-process fold depends on order:\n%s\n%s", a, b)
			}
		}

		keys := checkState(t, stk, id, want)
		n := len(perMedia[id])
		if len(keys) != n {
			t.Fatalf("%s: %d versions stored for %d distinct events (duplicates must write nothing)", id, len(keys), n)
		}
		for v := uint64(1); v <= uint64(n); v++ {
			if !appliedVersions[v] {
				t.Fatalf("%s: no applied answer reported version %d; reported %v", id, v, appliedVersions)
			}
		}
		checkVersionChain(t, id, keys, func(eid string) []byte {
			if e := events[eid]; e != nil {
				return e.body
			}
			return nil
		})
	}
}

// checkVersionChain checks every stored version of a media, oldest first:
// valid against the schema, version k lists k events, includes every event
// of version k-1, and is byte for byte the fold of the events it lists.
func checkVersionChain(t *testing.T, id string, keys []string, bodyOf func(eventID string) []byte) {
	t.Helper()
	var prev *state.Media
	for i := len(keys) - 1; i >= 0; i-- {
		k := uint64(len(keys) - i)
		if seq := seqOf(t, keys[i]); seq != k {
			t.Fatalf("%s: versions are not 1..%d: %v", id, len(keys), keys)
		}
		raw := getObject(t, stk, keys[i])
		schemacheck.Check(t, state.Schema, raw)
		m, err := state.Unmarshal(raw)
		if err != nil {
			t.Fatalf("%s version %d: %v", id, k, err)
		}
		if len(m.Events) != int(k) {
			t.Fatalf("%s version %d lists %d events", id, k, len(m.Events))
		}
		var bodies [][]byte
		for _, e := range m.Events {
			b := bodyOf(e.ID)
			if b == nil {
				t.Fatalf("%s version %d lists event %s that was never sent", id, k, e.ID)
			}
			bodies = append(bodies, b)
		}
		if prev != nil {
			for _, e := range prev.Events {
				if !m.Has(e.ID) {
					t.Fatalf("%s version %d lost event %s of version %d", id, k, e.ID, k-1)
				}
			}
		}
		if want := marshalState(t, fold(t, bodies...)); !bytes.Equal(raw, want) {
			t.Fatalf("%s version %d is not the fold of the events it lists\n got: %s\nwant: %s", id, k, raw, want)
		}
		prev = m
	}
}
