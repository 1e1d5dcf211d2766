package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	"mediastate/test/schemacheck"
)

// genEvent returns a random event for media "m1". Times come from a small
// set so that ties are common; content ids are unique per (seed, i).
func genEvent(r *rand.Rand, i int) *callback.Event {
	base := time.Date(2024, 4, 10, 1, 37, 0, 0, time.UTC)
	e := &callback.Event{
		Source:  callback.SourceIMS,
		ID:      "m1",
		IDField: "MessageBody.MediaId",
		Time:    base.Add(time.Duration(r.IntN(4)) * time.Second),
		EventID: fmt.Sprintf("e1-%04d-%08x", i, r.Uint32()),
		Raw:     json.RawMessage(fmt.Sprintf(`{"EventType":"x","n":%d}`, i)),
	}
	e.Status = []callback.Status{callback.StatusSuccess, callback.StatusSuccess, callback.StatusFail}[r.IntN(3)]
	if e.Status == callback.StatusFail {
		e.ErrorCode, e.ErrorMessage = "Err"+fmt.Sprint(r.IntN(3)), "failed"
	}
	jobs := []string{"j1", "j2", "j3", "j4"}
	defs := []string{"LD", "SD", "HD"}
	switch r.IntN(8) {
	case 0:
		e.Type, e.Family = "FileUploadComplete", callback.FamilyUpload
		e.Upload = &callback.Upload{MediaType: "video", FileURL: fmt.Sprintf("http://f/%d.mp4", r.IntN(3)), Size: int64(r.IntN(1000))}
		e.UserData = json.RawMessage(`{"k":1}`)
	case 1:
		e.Type, e.Family = "CreateAuditComplete", callback.FamilyMedia
		e.Audit = &callback.Audit{AuditStatus: []string{"Normal", "Blocked"}[r.IntN(2)], Auditor: "a"}
	case 2:
		e.Type, e.Family = "RegisterMediaComplete", callback.FamilyMedia
		e.Registration = &callback.Registration{}
	case 3:
		e.Type, e.Family = "MediaBaseChangeComplete", callback.FamilyMedia
		mode := []string{"create", "update", "delete"}[r.IntN(3)]
		fields := map[string]callback.FieldChange{}
		for _, f := range []string{"Title", "Tags", "CoverURL"} {
			if r.IntN(2) == 0 {
				nv := fmt.Sprintf("%s-%d", f, r.IntN(3))
				if mode == "delete" {
					nv = ""
				}
				fields[f] = callback.FieldChange{OldValue: "old", NewValue: nv}
			}
		}
		e.BaseChange = &callback.BaseChange{MediaType: "video", OperateMode: mode, Fields: fields}
	case 4, 5:
		e.Type, e.Family = "TranscodeComplete", callback.FamilyTranscode
		var streams []callback.Stream
		for n := r.IntN(3); n >= 0; n-- {
			streams = append(streams, callback.Stream{Status: callback.StatusSuccess, Definition: defs[r.IntN(3)],
				Format: []string{"mp4", "m3u8"}[r.IntN(2)], JobID: jobs[r.IntN(4)], FileURL: fmt.Sprintf("http://s/%d", r.IntN(5)),
				Bitrate: float64(r.IntN(2000)), Width: 540, Height: 960})
		}
		e.Transcode = &callback.Transcode{Streams: streams}
	case 6:
		e.Type, e.Family = "DeleteMediaComplete", callback.FamilyMedia
		d := &callback.Deletion{DeleteType: []string{"all", "mezzanine", "stream", "stream", "info"}[r.IntN(5)], MediaType: "video"}
		if d.DeleteType == "stream" {
			switch r.IntN(3) {
			case 0:
				d.JobIDs = []string{jobs[r.IntN(4)]}
			case 1:
				d.FileURLs = []string{fmt.Sprintf("http://s/%d", r.IntN(5))}
			}
		}
		e.Deletion = d
	case 7:
		e.Type, e.Family = []string{"SnapshotComplete", "AIMediaAuditComplete"}[r.IntN(2)], callback.FamilyUnknown
	}
	return e
}

func foldAll(t *testing.T, events []*callback.Event) []byte {
	t.Helper()
	var m *Media
	for _, e := range events {
		var err error
		m, _, err = Apply(m, e)
		if err != nil {
			t.Fatal(err)
		}
	}
	return schemacheck.RoundTrip(t, Schema, Codec, m)
}

// TestOrderIndependence: random event sets, random permutations, random
// duplicates: the document is byte-identical.
func TestOrderIndependence(t *testing.T) {
	for seed := uint64(0); seed < 400; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		n := 1 + r.IntN(14)
		set := make([]*callback.Event, n)
		for i := range set {
			set[i] = genEvent(r, i)
		}
		want := foldAll(t, set)
		for p := 0; p < 6; p++ {
			seq := make([]*callback.Event, 0, 2*n)
			for _, i := range r.Perm(n) {
				seq = append(seq, set[i])
				for r.IntN(3) == 0 {
					seq = append(seq, set[r.IntN(n)]) // duplicates, possibly of later events
				}
			}
			// every event at least once: the permutation guarantees it
			if got := foldAll(t, seq); !bytes.Equal(got, want) {
				t.Fatalf("seed %d permutation %d: state differs\n got: %s\nwant: %s", seed, p, got, want)
			}
		}
	}
}

// TestMonotone: along any delivery order, the applied set only grows,
// Deleted never goes back, and a repeated event changes nothing.
func TestMonotone(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		r := rand.New(rand.NewPCG(seed, 11))
		var m *Media
		deleted := false
		seen := map[string]bool{}
		for i := 0; i < 20; i++ {
			e := genEvent(r, i)
			if i > 0 && r.IntN(4) == 0 {
				e = genEvent(rand.New(rand.NewPCG(seed, 11)), 0) // a duplicate of an earlier content id? regenerate first
			}
			prev := m
			next, changed, err := Apply(m, e)
			if err != nil {
				t.Fatal(err)
			}
			if seen[e.EventID] {
				if changed || next != prev {
					t.Fatalf("seed %d: re-applying %s changed the state", seed, e.EventID)
				}
				continue
			}
			seen[e.EventID] = true
			if !changed || len(next.Events) != len(seen) {
				t.Fatalf("seed %d: applied %d distinct events, state lists %d (changed=%v)", seed, len(seen), len(next.Events), changed)
			}
			if deleted && !next.Deleted {
				t.Fatalf("seed %d: deletion was undone by %s %s", seed, e.Type, e.EventID)
			}
			deleted = next.Deleted
			m = next
		}
	}
}

// TestApplyDoesNotModifyInput guards the copy-on-write contract the cache
// relies on.
func TestApplyDoesNotModifyInput(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	var m *Media
	for i := 0; i < 60; i++ {
		before, _ := json.Marshal(m)
		next, _, err := Apply(m, genEvent(r, i))
		if err != nil {
			t.Fatal(err)
		}
		after, _ := json.Marshal(m)
		if !bytes.Equal(before, after) {
			t.Fatalf("event %d modified the input state", i)
		}
		m = next
	}
}

// TestOrderIndependenceWithCaseVariantKeys extends TestOrderIndependence to
// bodies: callbacks whose keys come in any letter case and member order,
// some with two keys the decoder matches alike ("Status" and "status").
// Every body is either refused (DuplicateKey) in every member order, or
// has one eventId and one decoded meaning in every member order; and the
// state of the accepted set does not depend on arrival order.
func TestOrderIndependenceWithCaseVariantKeys(t *testing.T) {
	type member struct{ k, v string }
	cases := func(r *rand.Rand, k string) string {
		switch r.IntN(3) {
		case 0:
			return strings.ToLower(k)
		case 1:
			return strings.ToUpper(k)
		}
		return k
	}
	body := func(ms []member, order []int) []byte {
		var b strings.Builder
		b.WriteByte('{')
		for n, i := range order {
			if n > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%q:%q", ms[i].k, ms[i].v)
		}
		b.WriteByte('}')
		return []byte(b.String())
	}
	refused, applied := 0, 0
	for seed := uint64(0); seed < 200; seed++ {
		r := rand.New(rand.NewPCG(seed, 13))
		var accepted []*callback.Event
		for i := 0; i < 1+r.IntN(8); i++ {
			ms := []member{
				{cases(r, "EventType"), []string{"FileUploadComplete", "CreateAuditComplete", "SnapshotComplete"}[r.IntN(3)]},
				{cases(r, "EventTime"), fmt.Sprintf("2024-04-10T01:37:%02dZ", r.IntN(4))},
				{cases(r, "VideoId"), "m1"},
				{cases(r, "Status"), []string{"success", "fail"}[r.IntN(2)]},
				{"n", fmt.Sprint(i)},
			}
			if r.IntN(3) == 0 { // a second Status the decoder cannot tell apart
				k := "status"
				if ms[3].k == "status" {
					k = "STATUS"
				}
				ms = append(ms, member{k, []string{"success", "fail"}[r.IntN(2)]})
			}
			var first *callback.Event
			var firstErr error
			for p := 0; p < 4; p++ {
				e, err := callback.Decode(body(ms, r.Perm(len(ms))))
				if p == 0 {
					first, firstErr = e, err
					continue
				}
				if (err == nil) != (firstErr == nil) || (err != nil && apierr.CodeOf(err) != apierr.CodeOf(firstErr)) {
					t.Fatalf("seed %d: member order changes the verdict: %v vs %v", seed, err, firstErr)
				}
				if err == nil && (e.EventID != first.EventID || e.Status[0] != first.Status[0] || e.Type != first.Type) {
					t.Fatalf("seed %d: one body, two meanings: %+v vs %+v", seed, e, first)
				}
			}
			if firstErr != nil {
				if apierr.CodeOf(firstErr) != apierr.DuplicateKey {
					t.Fatalf("seed %d: %v", seed, firstErr)
				}
				refused++
				continue
			}
			accepted = append(accepted, first)
		}
		if len(accepted) == 0 {
			continue
		}
		applied += len(accepted)
		want := foldAll(t, accepted)
		for p := 0; p < 4; p++ {
			seq := make([]*callback.Event, 0, len(accepted))
			for _, i := range r.Perm(len(accepted)) {
				seq = append(seq, accepted[i])
			}
			if got := foldAll(t, seq); !bytes.Equal(got, want) {
				t.Fatalf("seed %d: state differs by arrival order\n got: %s\nwant: %s", seed, got, want)
			}
		}
	}
	if refused == 0 || applied == 0 {
		t.Fatalf("the generator made %d refused and %d accepted bodies; want some of each", refused, applied)
	}
}
