package callback

import (
	"testing"
)

// TestLivePushArgs checks the three documented forms of push_args: the
// object of the recording-callback docs, a string, and absent.
func TestLivePushArgs(t *testing.T) {
	const base = `{"domain":"d.example.com","app":"a","stream":"s","uri":"a/s/0.flv","duration":69.403,"start_time":1488985786,"stop_time":1488985840`
	tests := []struct{ name, field, want string }{
		{"object", `,"push_args":{"callback_myid":"1231389741","callback_args1":"value1"}`, `{"callback_args1":"value1","callback_myid":"1231389741"}`},
		{"string", `,"push_args":"callback_args1=value1"`, `"callback_args1=value1"`},
		{"string holding an object", `,"push_args":"{\"callback_args1\":\"value1\"}"`, `{"callback_args1":"value1"}`},
		{"absent", ``, ``},
		{"null", `,"push_args":null`, ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := mustDecode(t, base+tc.field+`}`)
			if ev.LiveFile == nil || string(ev.LiveFile.PushArgs) != tc.want || len(ev.Uninterpreted) != 0 {
				t.Fatalf("pushArgs = %s (notes %+v), want %s", ev.LiveFile.PushArgs, ev.Uninterpreted, tc.want)
			}
		})
	}
}

// TestUploadByURLJobKeyed checks that a failed URL pull, which carries no
// VideoId, is keyed by its JobId, and that a successful one is keyed by
// its VideoId and names its job.
func TestUploadByURLJobKeyed(t *testing.T) {
	ev := mustDecode(t, `{"Status":"fail","EventTime":"2017-03-20T07:49:17Z","EventType":"UploadByURLComplete","ErrorCode":"URLInvalidError","ErrorMessage":"download video failed","JobId":"4c815bjsued****","SourceURL":"http://example.aliyundoc.com/x.mp4"}`)
	if ev.ID != "4c815bjsued****" || ev.IDField != "JobId" || ev.IDKind != IDKindJob || ev.JobID != ev.ID ||
		ev.Status != StatusFail || ev.ErrorCode != "URLInvalidError" || ev.Upload == nil || ev.Upload.SourceURL != "http://example.aliyundoc.com/x.mp4" {
		t.Fatalf("failed pull: %+v %+v", ev, ev.Upload)
	}
	ev = mustDecode(t, `{"Status":"success","EventTime":"2017-03-20T07:49:17Z","EventType":"UploadByURLComplete","VideoId":"v1","JobId":"j1"}`)
	if ev.ID != "v1" || ev.IDKind != IDKindMedia || ev.JobID != "j1" || ev.Upload.JobID != "j1" {
		t.Fatalf("successful pull: %+v", ev)
	}
	ev = mustDecode(t, `{"EventType":"UploadByURLComplete","UserId":1,"EventTime":"2022-07-15T08:48:14Z","MessageBody":{"Status":"Failed","JobId":"j2"}}`)
	if ev.ID != "j2" || ev.IDField != "MessageBody.JobId" || ev.IDKind != IDKindJob {
		t.Fatalf("IMS failed pull: %+v", ev)
	}
	// Types that are not job-keyed still require a media id.
	if e := decodeErr(t, `{"EventType":"FileUploadComplete","EventTime":"2017-03-20T07:49:17Z","JobId":"j"}`); e.Field != "VideoId" {
		t.Fatalf("FileUploadComplete with a JobId only: %v", e)
	}
}

// TestUploadByURLStreamForm checks the stream form of UploadByURLComplete
// (an UploadStreamByURL job): a stream upload that keeps StreamFileURL.
func TestUploadByURLStreamForm(t *testing.T) {
	ev := mustDecode(t, `{"Status":"success","EventTime":"2017-03-20T07:49:17Z","EventType":"UploadByURLComplete","VideoId":"v1","JobId":"j1","SourceURL":"http://example.com/s.mp4","FileType":"Stream","StreamFileURL":"http://b.oss-cn-shanghai.aliyuncs.com/s.mp4"}`)
	if ev.Upload != nil || ev.StreamUpload == nil || ev.StreamUpload.StreamFileURL != "http://b.oss-cn-shanghai.aliyuncs.com/s.mp4" ||
		ev.StreamUpload.FileType != "Stream" || ev.StreamUpload.JobID != "j1" || ev.JobID != "j1" || ev.ID != "v1" {
		t.Fatalf("stream form: %+v %+v", ev, ev.StreamUpload)
	}
}

// TestTypeTable checks the catalogue's rows.
func TestTypeTable(t *testing.T) {
	for _, typ := range EventTypes() {
		spec := LookupType(typ)
		if len(spec.Sources) == 0 || spec.Family == "" || spec.Family == FamilyUnknown || spec.Family == FamilyLive ||
			len(spec.IDFields) == 0 || spec.State == "" || (spec.Payload == nil) != (spec.Family == FamilyOther) {
			t.Errorf("%s: row %+v", typ, spec)
		}
		if FamilyOf(typ) != spec.Family {
			t.Errorf("FamilyOf(%s) = %s", typ, FamilyOf(typ))
		}
	}
	if FamilyOf("NoSuchEvent") != FamilyUnknown || LookupType("NoSuchEvent") != nil {
		t.Fatal("an unknown type is catalogued")
	}
}
