package state

import (
	"encoding/json"
	"testing"

	"mediastate/shared/callback"
	"mediastate/test/schemacheck"
)

// checkSchema validates m against the state schema.
func checkSchema(t *testing.T, m *Media) {
	t.Helper()
	b, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	schemacheck.Check(t, Schema, b)
}

// TestDeletionAllRemovesStreams checks the documented meaning of each
// DeleteType on a media with a source file, transcoded streams and an
// uploaded stream.
func TestDeletionAllRemovesStreams(t *testing.T) {
	tr := transcode(10, "e-tr", callback.Stream{Definition: "LD", Format: "mp4", JobID: "j1"}, callback.Stream{Definition: "HD", Format: "m3u8", JobID: "j2"})
	su := ev("UploadByURLComplete", 11, "e-su", callback.StatusSuccess)
	su.StreamUpload = &callback.Upload{FileType: "Stream", JobID: "j3", StreamFileURL: "http://b/s.mp4"}
	tests := []struct {
		deleteType                    string
		deleted, fileDeleted, allGone bool
		streamsLeft                   int
	}{
		{"all", true, true, true, 0},
		{"info", true, false, false, 2},
		{"mezzanine", false, true, false, 2},
		{"stream", false, false, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.deleteType, func(t *testing.T) {
			m := fold(t, upload(1, "e-up", "http://b/src.mp4"), tr, su, deletion(20, "e-del", tc.deleteType, callback.StatusSuccess))
			if m.Deleted != tc.deleted || m.Upload.FileDeleted != tc.fileDeleted || len(m.Transcode.Streams) != tc.streamsLeft ||
				len(m.Transcode.Streams)+len(m.Transcode.RemovedStreams) != 2 || m.StreamUploads[0].Removed != tc.allGone {
				t.Fatalf("%s: deleted %v fileDeleted %v streams %d removed %d streamUpload removed %v", tc.deleteType,
					m.Deleted, m.Upload.FileDeleted, len(m.Transcode.Streams), len(m.Transcode.RemovedStreams), m.StreamUploads[0].Removed)
			}
			checkSchema(t, m)
			// A stream reported after the deletion is not removed.
			late := transcode(30, "e-late", callback.Stream{Definition: "SD", Format: "mp4", JobID: "j9"})
			if m = fold(t, upload(1, "e-up", "http://b/src.mp4"), tr, su, deletion(20, "e-del", tc.deleteType, callback.StatusSuccess), late); len(m.Transcode.Streams) != tc.streamsLeft+1 {
				t.Fatalf("%s: a later stream was removed: %+v", tc.deleteType, m.Transcode)
			}
		})
	}
	// A failed deletion removes nothing.
	m := fold(t, tr, deletion(20, "e-del", "all", callback.StatusFail))
	if m.Deleted || len(m.Transcode.Streams) != 2 {
		t.Fatalf("failed deletion applied: %+v", m)
	}
}

// TestStreamUploads checks that stream uploads do not replace the source
// file's upload and are kept per job, the latest.
func TestStreamUploads(t *testing.T) {
	s := func(sec int, id, job, url string) *callback.Event {
		e := ev("StreamUploadComplete", sec, id, callback.StatusSuccess)
		e.StreamUpload = &callback.Upload{JobID: job, FileURL: url}
		return e
	}
	m := fold(t, upload(1, "e-up", "http://b/src.mp4"), s(5, "e-b", "jb", "http://b/1.mp4"), s(3, "e-a", "ja", "http://b/0.mp4"), s(7, "e-b2", "jb", "http://b/2.mp4"), s(6, "e-old", "jb", "http://b/x.mp4"))
	if m.Upload.FileURL != "http://b/src.mp4" || len(m.StreamUploads) != 2 || m.StreamUploads[0].JobID != "ja" || m.StreamUploads[1].FileURL != "http://b/2.mp4" {
		t.Fatalf("stream uploads %+v, upload %+v", m.StreamUploads, m.Upload)
	}
	checkSchema(t, m)
}

// TestJobState checks the job state of a URL pull: a failed pull without a
// media id, then a successful one that links the media.
func TestJobState(t *testing.T) {
	failed := ev("UploadByURLComplete", 1, "e-fail", callback.StatusFail)
	failed.ID, failed.IDField, failed.IDKind, failed.JobID = "job1", "JobId", callback.IDKindJob, "job1"
	failed.ErrorCode = "URLInvalidError"
	failed.Upload = &callback.Upload{JobID: "job1", SourceURL: "http://x/a.mp4"}
	if _, _, err := Apply(nil, failed); err == nil {
		t.Fatal("a job-keyed event was applied to a media state")
	}
	m, changed, err := ApplyJob(nil, failed)
	if err != nil || !changed || m.JobID != "job1" || m.MediaID != "" || m.Upload.Status != "fail" || len(m.Failures) != 1 {
		t.Fatalf("job state %+v, %v", m, err)
	}
	checkSchema(t, m)
	ok := ev("UploadByURLComplete", 2, "e-ok", callback.StatusSuccess)
	ok.ID, ok.IDKind, ok.JobID = "v1", callback.IDKindMedia, "job1"
	ok.Upload = &callback.Upload{JobID: "job1", SourceURL: "http://x/a.mp4"}
	if m, _, err = ApplyJob(m, ok); err != nil || m.MediaID != "v1" || m.Upload.Status != "success" || len(m.Events) != 2 {
		t.Fatalf("linked job state %+v, %v", m, err)
	}
	checkSchema(t, m)
	other := ok
	other.JobID = "job2"
	if _, _, err := ApplyJob(m, other); err == nil {
		t.Fatal("an event of another job was applied")
	}
}

// TestUninterpretedKept checks that the uninterpreted fields of applied
// events are kept in the state, in event order, whatever the order of
// application.
func TestUninterpretedKept(t *testing.T) {
	a := baseChange(2, "e-a", "update", callback.StatusSuccess, "Tags", "x")
	a.Uninterpreted = []callback.Uninterpreted{{Field: "MessageBody.MediaContent.Title", Code: "MalformedJSON", Reason: "r", Value: json.RawMessage(`5`)}}
	b := upload(1, "e-b", "http://b/src.mp4")
	b.Uninterpreted = []callback.Uninterpreted{{Field: "Size", Code: "InvalidField", Reason: "r", Value: json.RawMessage(`"big"`)}, {Field: "Status", Code: "InvalidField", Reason: "r2", Value: json.RawMessage(`"meh"`)}}
	m1, m2 := fold(t, a, b), fold(t, b, a)
	j1, _ := Marshal(m1)
	j2, _ := Marshal(m2)
	if string(j1) != string(j2) || len(m1.Uninterpreted) != 3 || m1.Uninterpreted[0].Field != "Size" || m1.Uninterpreted[2].EventID != "e-a" ||
		m1.BasicInfo.Fields["Tags"].Value != "x" {
		t.Fatalf("uninterpreted %+v\n%s\n%s", m1.Uninterpreted, j1, j2)
	}
	checkSchema(t, m1)
}
