package live

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	"mediastate/test/schemacheck"
)

var base = time.Date(2024, 4, 10, 1, 0, 0, 0, time.UTC)

func decode(t testing.TB, body string) *callback.Event {
	t.Helper()
	e, err := callback.Decode([]byte(body))
	if err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return e
}

func fileBody(stream, uri string, stop int64) string {
	return fmt.Sprintf(`{"domain":"live.example.com","app":"app1","stream":%q,"uri":%q,"duration":%d,"start_time":%d,"stop_time":%d}`,
		stream, uri, 60, base.Unix()+stop-60, base.Unix()+stop)
}

func statusBody(stream, event string) string {
	return fmt.Sprintf(`{"domain":"live.example.com","app":"app1","stream":%q,"event":%q}`, stream, event)
}

// delivery is an event with the occurrence it was received as.
type delivery struct {
	e   *callback.Event
	occ Occurrence
}

// genSet returns a random set of distinct occurrences for stream s1:
// files with colliding uris and stop times, and status events (timed by
// receive time, some by their own time), with repeated bodies as separate
// occurrences.
func genSet(t testing.TB, r *rand.Rand) []delivery { return genSetN(t, r, 1+r.IntN(16)) }

func genSetN(t testing.TB, r *rand.Rand, n int) []delivery {
	var set []delivery
	types := []string{"record_started", "record_paused", "record_resumed", "record_error", "transformat_error", "record_force_transcode_fail", "custom_event"}
	seen := map[string]uint64{}
	for i := 0; i < n; i++ {
		var body string
		switch r.IntN(3) {
		case 0:
			body = fileBody("s1", fmt.Sprintf("record/app1/s1/%d.m3u8", r.IntN(5)), int64(r.IntN(6))*60)
		case 1:
			body = statusBody("s1", types[r.IntN(len(types))])
		default:
			body = fmt.Sprintf(`{"domain":"live.example.com","app":"app1","stream":"s1","event":%q,"stop_time":%d}`,
				types[r.IntN(len(types))], base.Unix()+int64(r.IntN(4)))
		}
		e := decode(t, body)
		seen[e.EventID]++
		occ := Occurrence{Domain: "live.example.com", EventID: e.EventID, Seq: seen[e.EventID],
			ReceivedAt: base.Add(time.Duration(r.IntN(5)) * time.Second)}
		set = append(set, delivery{e, occ})
	}
	return set
}

func fold(t testing.TB, ds []delivery, maxFiles int) *Stream {
	t.Helper()
	var s *Stream
	for _, d := range ds {
		var err error
		if s, _, err = apply(s, d.e, d.occ, maxFiles); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func marshalChecked(t testing.TB, s *Stream) []byte {
	t.Helper()
	return schemacheck.RoundTrip(t, Schema, Codec, s)
}

// TestOrderIndependence: random sets of occurrences in random orders with
// random duplicates give byte-identical, schema-valid documents.
func TestOrderIndependence(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		r := rand.New(rand.NewPCG(seed, 11))
		set := genSet(t, r)
		maxFiles := []int{MaxFiles, 2, 3}[r.IntN(3)]
		want := marshalChecked(t, fold(t, set, maxFiles))
		for p := 0; p < 6; p++ {
			order := slices.Clone(set)
			for d := r.IntN(len(set) + 1); d > 0; d-- {
				order = append(order, set[r.IntN(len(set))])
			}
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			if got := marshalChecked(t, fold(t, order, maxFiles)); !bytes.Equal(got, want) {
				t.Fatalf("seed %d permutation %d: documents differ\nwant %s\n got %s", seed, p, want, got)
			}
		}
	}
}

// TestMatchesModel: the incremental fold equals the definition: per uri the
// version with the greatest (stop time, event id), the greatest maxFiles of
// those by (stop time, uri, event id), dropped flag iff more uris than
// that; status = greatest status key; lastError = greatest error key.
func TestMatchesModel(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		r := rand.New(rand.NewPCG(seed, 5))
		set := genSet(t, r)
		maxFiles := 1 + r.IntN(4)
		got := fold(t, set, maxFiles)

		perURI := map[string]File{}
		var status, lastErr *StatusEvent
		for _, d := range set {
			if f := d.e.LiveFile; f != nil {
				nf := File{URI: f.URI, Duration: f.Duration, StartTime: f.StartTime, StopTime: f.StopTime, EventID: d.e.EventID}
				if old, ok := perURI[f.URI]; !ok || fileVersion(&nf, &old) > 0 {
					perURI[f.URI] = nf
				}
				continue
			}
			st := &StatusEvent{NotifyType: d.e.Type, Time: d.e.Time, EventID: d.e.EventID, Occurrence: d.occ.Seq}
			if st.Time.IsZero() {
				st.Time = d.occ.ReceivedAt
			}
			if status == nil || statusKey(st, status) > 0 {
				status = st
			}
			if IsErrorType(st.NotifyType) && (lastErr == nil || statusKey(st, lastErr) > 0) {
				lastErr = st
			}
		}
		files := slices.SortedFunc(maps.Values(perURI), func(a, b File) int { return fileOrder(&a, &b) })
		dropped := len(files) > maxFiles
		if dropped {
			files = files[len(files)-maxFiles:]
		}
		if len(files) != len(got.Files) || got.FilesDropped != dropped {
			t.Fatalf("seed %d: files %d dropped %v, want %d dropped %v", seed, len(got.Files), got.FilesDropped, len(files), dropped)
		}
		for i := range files {
			if files[i].URI != got.Files[i].URI || files[i].EventID != got.Files[i].EventID {
				t.Fatalf("seed %d: file %d is %+v, want %+v", seed, i, got.Files[i], files[i])
			}
		}
		same := func(a, b *StatusEvent) bool {
			return (a == nil) == (b == nil) && (a == nil || a.EventID == b.EventID && a.Occurrence == b.Occurrence && a.Time.Equal(b.Time))
		}
		if !same(got.Status, status) || !same(got.LastError, lastErr) {
			t.Fatalf("seed %d: status %+v lastError %+v, want %+v and %+v", seed, got.Status, got.LastError, status, lastErr)
		}
	}
}

func TestStatusOrdering(t *testing.T) {
	started, paused, resumed := decode(t, statusBody("s1", "record_started")), decode(t, statusBody("s1", "record_paused")), decode(t, statusBody("s1", "record_resumed"))
	occ := func(e *callback.Event, seq uint64, sec int) Occurrence {
		return Occurrence{Domain: "live.example.com", EventID: e.EventID, Seq: seq, ReceivedAt: base.Add(time.Duration(sec) * time.Second)}
	}
	// started, paused, resumed, paused again (a second occurrence of the
	// same body), applied in reverse.
	ds := []delivery{{paused, occ(paused, 2, 40)}, {resumed, occ(resumed, 1, 30)}, {paused, occ(paused, 1, 20)}, {started, occ(started, 1, 10)}}
	s := fold(t, ds, MaxFiles)
	if s.State != StatePaused || s.Status.Occurrence != 2 || s.Status.TimeSource != TimeFromReceived || !s.Status.Time.Equal(base.Add(40*time.Second)) {
		t.Fatalf("state %s status %+v, want paused by occurrence 2 received at +40s", s.State, s.Status)
	}
	// An error event is the status when newest, and stays as lastError.
	errEv := decode(t, `{"domain":"live.example.com","app":"app1","stream":"s1","event":"record_error","description":"disk full"}`)
	s2, changed, err := Apply(s, errEv, occ(errEv, 1, 50))
	if err != nil || !changed || s2.State != StateError || s2.LastError == nil || s2.LastError.Description != "disk full" {
		t.Fatalf("after record_error: %+v %v %v", s2, changed, err)
	}
	s3, _, _ := Apply(s2, resumed, occ(resumed, 2, 60))
	if s3.State != StateRecording || s3.LastError == nil || s3.LastError.EventID != errEv.EventID {
		t.Fatalf("after resume: state %s lastError %+v", s3.State, s3.LastError)
	}
	// The input states were not modified.
	if s.State != StatePaused || s2.State != StateError {
		t.Fatal("Apply modified its input")
	}
	// A duplicate changes nothing.
	if _, changed, _ := Apply(s3, resumed, occ(resumed, 2, 60)); changed {
		t.Fatal("duplicate reported a change")
	}
}

// TestEventTimeBeatsReceiveOrder: status events that carry a time are
// ordered by it, whatever the receive times.
func TestEventTimeBeatsReceiveOrder(t *testing.T) {
	a := decode(t, fmt.Sprintf(`{"domain":"live.example.com","app":"app1","stream":"s1","event":"record_paused","stop_time":%d}`, base.Unix()+100))
	b := decode(t, fmt.Sprintf(`{"domain":"live.example.com","app":"app1","stream":"s1","event":"record_resumed","stop_time":%d}`, base.Unix()+200))
	s := fold(t, []delivery{
		{b, Occurrence{Domain: "live.example.com", EventID: b.EventID, Seq: 1, ReceivedAt: base}},
		{a, Occurrence{Domain: "live.example.com", EventID: a.EventID, Seq: 1, ReceivedAt: base.Add(time.Hour)}},
	}, MaxFiles)
	if s.Status.NotifyType != "record_resumed" || s.Status.TimeSource != TimeFromEvent {
		t.Fatalf("status %+v, want record_resumed by event time", s.Status)
	}
}

func TestFilesSortedAndReplaced(t *testing.T) {
	f1 := decode(t, fileBody("s1", "b.m3u8", 120))
	f2 := decode(t, fileBody("s1", "a.m3u8", 60))
	f1b := decode(t, strings.Replace(fileBody("s1", "b.m3u8", 180), `"duration":60`, `"duration":61`, 1))
	s := fold(t, []delivery{{f1, Occurrence{}}, {f2, Occurrence{}}, {f1b, Occurrence{}}, {f1, Occurrence{}}}, MaxFiles)
	if len(s.Files) != 2 || s.Files[0].URI != "a.m3u8" || s.Files[1].URI != "b.m3u8" || s.Files[1].EventID != f1b.EventID || s.Files[1].Duration != 61 {
		t.Fatalf("files %+v", s.Files)
	}
	if s.State != StateUnknown || s.Status != nil {
		t.Fatalf("file events set a status: %+v", s)
	}
}

func TestApplyRefuses(t *testing.T) {
	vod := decode(t, `{"EventType":"FileUploadComplete","EventTime":"2024-01-01T00:00:00Z","VideoId":"v1","Status":"success"}`)
	if _, _, err := Apply(nil, vod, Occurrence{}); !apierr.Is(err, apierr.WrongFamily) || !apierr.IsPermanent(err) {
		t.Fatalf("VOD event: %v, want permanent WrongFamily", err)
	}
	st := decode(t, statusBody("s1", "record_started"))
	if _, _, err := Apply(nil, st, Occurrence{}); !apierr.Is(err, apierr.Internal) || apierr.IsPermanent(err) {
		t.Fatalf("status without receive time: %v, want transient Internal", err)
	}
	other := New("live.example.com", "app1", "s2")
	if _, _, err := Apply(other, st, Occurrence{EventID: st.EventID, Seq: 1, ReceivedAt: base}); !apierr.Is(err, apierr.Internal) {
		t.Fatalf("event of another stream: %v", err)
	}
	if _, _, err := Apply(nil, st, Occurrence{EventID: "e1-00000000000000000000000000000000", Seq: 1, ReceivedAt: base}); !apierr.Is(err, apierr.Internal) {
		t.Fatalf("occurrence of another body: %v", err)
	}
}

func TestStoreID(t *testing.T) {
	a, err := StoreID("d.com", "a~b", "c")
	if err != nil {
		t.Fatal(err)
	}
	b, err := StoreID("d.com", "a", "b~c")
	if err != nil {
		t.Fatal(err)
	}
	if a == b || a != "d.com~a%7Eb~c" || strings.Contains(a, "/") {
		t.Fatalf("ids %q and %q", a, b)
	}
	for _, bad := range [][3]string{{"d/x", "a", "s"}, {"d", "", "s"}, {"d", "a", "s s"}, {"d", "a", strings.Repeat("x", 129)}} {
		if _, err := StoreID(bad[0], bad[1], bad[2]); !apierr.Is(err, apierr.InvalidId) {
			t.Errorf("StoreID%q: %v, want InvalidId", bad, err)
		}
	}
}

func TestCodecRefuses(t *testing.T) {
	good, _ := Codec.Marshal(New("d", "a", "s"))
	if _, err := Codec.Unmarshal(good); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		strings.Replace(string(good), `"schemaVersion":1`, `"schemaVersion":2`, 1),
		strings.Replace(string(good), `"files":[]`, `"files":[],"extra":1`, 1),
	} {
		if _, err := Codec.Unmarshal([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	// The schema refuses what the codec must never write.
	for _, bad := range []string{
		strings.Replace(string(good), `"state":"unknown"`, `"state":"bogus"`, 1),
		strings.Replace(string(good), `"files":[]`, `"files":[{"uri":"x"}]`, 1),
	} {
		if schemacheck.Validate(Schema, []byte(bad)) == nil {
			t.Errorf("schema accepted %s", bad)
		}
	}
}
