package state

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
)

var t0 = time.Date(2022, 7, 15, 8, 48, 14, 0, time.UTC)

func ev(typ string, sec int, id string, st callback.Status) *callback.Event {
	return &callback.Event{Source: callback.SourceVOD, Type: typ, Family: callback.FamilyOf(typ), ID: "m1",
		Time: t0.Add(time.Duration(sec) * time.Second), EventID: id, Status: st, Raw: []byte(`{}`)}
}

func upload(sec int, id, url string) *callback.Event {
	e := ev("FileUploadComplete", sec, id, callback.StatusSuccess)
	e.Upload = &callback.Upload{FileURL: url, MediaType: "video"}
	return e
}

func transcode(sec int, id string, streams ...callback.Stream) *callback.Event {
	e := ev("TranscodeComplete", sec, id, callback.StatusSuccess)
	e.Transcode = &callback.Transcode{Streams: streams}
	return e
}

func deletion(sec int, id, typ string, st callback.Status, jobs ...string) *callback.Event {
	e := ev("DeleteMediaComplete", sec, id, st)
	e.Deletion = &callback.Deletion{DeleteType: typ, JobIDs: jobs}
	return e
}

func baseChange(sec int, id, mode string, st callback.Status, kv ...string) *callback.Event {
	e := ev("MediaBaseChangeComplete", sec, id, st)
	f := map[string]callback.FieldChange{}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = callback.FieldChange{NewValue: kv[i+1]}
	}
	e.BaseChange = &callback.BaseChange{OperateMode: mode, Fields: f}
	return e
}

func fold(t *testing.T, events ...*callback.Event) *Media {
	t.Helper()
	var m *Media
	for _, e := range events {
		var err error
		if m, _, err = Apply(m, e); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func streamIDs(ss []Stream) string {
	s := ""
	for _, x := range ss {
		s += fmt.Sprintf("[%s/%s %s]", x.Definition, x.Format, x.JobID)
	}
	return s
}

func TestSemantics(t *testing.T) {
	ld := callback.Stream{Definition: "LD", Format: "mp4", JobID: "j1", FileURL: "u1", Status: callback.StatusSuccess}
	sd := callback.Stream{Definition: "SD", Format: "mp4", JobID: "j2", FileURL: "u2", Status: callback.StatusSuccess}
	ld2 := callback.Stream{Definition: "LD", Format: "mp4", JobID: "j3", FileURL: "u3", Status: callback.StatusSuccess}
	tests := []struct {
		name   string
		events []*callback.Event
		check  func(*Media) string
	}{
		{"latest upload wins", []*callback.Event{upload(5, "b", "new"), upload(1, "a", "old")}, func(m *Media) string {
			return want(m.Upload.FileURL, "new")
		}},
		{"tie broken by content id, not arrival", []*callback.Event{upload(1, "b", "from-b"), upload(1, "a", "from-a")}, func(m *Media) string {
			return want(m.Upload.FileURL, "from-b")
		}},
		{"terminal deletion is not undone by a late older event", []*callback.Event{
			deletion(10, "d", "all", callback.StatusSuccess), upload(1, "u", "x")}, func(m *Media) string {
			return want(sp(m.Deleted, m.Upload.FileDeleted), "true true")
		}},
		{"terminal deletion is not undone by a newer event", []*callback.Event{
			deletion(10, "d", "info", callback.StatusSuccess), upload(20, "u", "x")}, func(m *Media) string {
			return want(sp(m.Deleted), "true")
		}},
		{"failed deletion deletes nothing and is a failure", []*callback.Event{
			upload(1, "u", "x"), deletion(10, "d", "all", callback.StatusFail)}, func(m *Media) string {
			return want(sp(m.Deleted, m.Upload.FileDeleted, len(m.Failures), m.Deletion.Status), "false false 1 fail")
		}},
		{"mezzanine deletion marks only an older upload", []*callback.Event{
			deletion(10, "d", "mezzanine", callback.StatusSuccess), upload(20, "u", "x")}, func(m *Media) string {
			return want(sp(m.Deleted, m.Upload.FileDeleted), "false false")
		}},
		{"stream deletion by job id removes covered streams", []*callback.Event{
			transcode(1, "t", ld, sd), deletion(5, "d", "stream", callback.StatusSuccess, "j1")}, func(m *Media) string {
			return want(streamIDs(m.Transcode.Streams)+"|"+streamIDs(m.Transcode.RemovedStreams), "[SD/mp4 j2]|[LD/mp4 j1]")
		}},
		{"stream deletion without ids removes older streams only", []*callback.Event{
			transcode(1, "t1", ld, sd), deletion(5, "d", "stream", callback.StatusSuccess), transcode(9, "t2", ld2)}, func(m *Media) string {
			return want(streamIDs(m.Transcode.Streams)+"|"+streamIDs(m.Transcode.RemovedStreams), "[LD/mp4 j3]|[SD/mp4 j2]")
		}},
		{"newer stream replaces its slot", []*callback.Event{transcode(9, "t2", ld2), transcode(1, "t1", ld, sd)}, func(m *Media) string {
			return want(streamIDs(m.Transcode.Streams), "[LD/mp4 j3][SD/mp4 j2]")
		}},
		{"base change applied field by field", []*callback.Event{
			baseChange(1, "c1", "create", callback.StatusSuccess, "Title", "t1", "Tags", "a"),
			baseChange(3, "c3", "delete", callback.StatusSuccess, "Tags", ""),
			baseChange(2, "c2", "update", callback.StatusSuccess, "Title", "t2", "Tags", "b"),
			baseChange(4, "c4", "update", callback.StatusFail, "Title", "ignored")}, func(m *Media) string {
			f := m.BasicInfo.Fields
			return want(sp(f["Title"].Value, f["Tags"].Cleared, m.BasicInfo.Status, m.BasicInfo.EventID), "t2 true fail c4")
		}},
		{"unknown type kept with canonical body", []*callback.Event{func() *callback.Event {
			e := ev("SnapshotComplete", 1, "s", callback.StatusSuccess)
			e.Raw = []byte("{ \"b\": 1.50, \"a\": \"x\" }")
			return e
		}()}, func(m *Media) string {
			return want(string(m.Other["SnapshotComplete"].Body), `{"a":"x","b":1.50}`)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if msg := tc.check(fold(t, tc.events...)); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func want(got, want string) string {
	if got != want {
		return fmt.Sprintf("got %q, want %q", got, want)
	}
	return ""
}

func TestApplyErrors(t *testing.T) {
	live := &callback.Event{Type: "record_started", Family: callback.FamilyLive, ID: "d/a/s", EventID: "x",
		LiveStatus: &callback.LiveRecordStatus{Event: "record_started"}}
	if _, _, err := Apply(nil, live); !apierr.Is(err, apierr.WrongFamily) {
		t.Fatalf("live event: err = %v, want WrongFamily", err)
	}
	m := fold(t, upload(1, "u", "x"))
	other := upload(2, "v", "y")
	other.ID = "m2"
	if _, _, err := Apply(m, other); !apierr.Is(err, apierr.Internal) {
		t.Fatalf("foreign media: err = %v, want Internal", err)
	}
}

// sp joins values with spaces.
func sp(a ...any) string { return strings.TrimSpace(fmt.Sprintln(a...)) }
