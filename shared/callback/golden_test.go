package callback

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"mediastate/shared/apierr"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the decoder's output")

// seedFixtures are the fixtures copied from the seed documents (see
// testdata/README.md); synthFixtures are built from documented shapes.
var (
	seedFixtures = []string{
		"ims-attached-media-upload-complete",
		"ims-create-audit-complete",
		"ims-delete-media-complete",
		"ims-file-upload-complete",
		"ims-image-upload-complete",
		"ims-media-base-change-complete",
		"ims-register-media-complete",
		"ims-register-stream-complete",
		"ims-stream-upload-complete",
		"ims-upload-by-url-complete",
		"ims-upload-stream-by-url-complete",
		"vod-delete-media-complete",
		"vod-delete-media-complete-fail",
		"vod-produce-media-complete",
		"vod-produce-media-complete-fail",
		"vod-transcode-complete",
	}
	synthFixtures = []string{
		"live-record-file",
		"live-record-file-push-args",
		"live-record-paused",
		"live-record-resumed",
		"live-record-started",
		"vod-attached-media-upload-complete",
		"vod-file-upload-complete",
		"vod-image-upload-complete",
		"vod-snapshot-complete",
		"vod-stream-transcode-complete",
	}
)

// invalidFixtures are seed examples that are not callback bodies, with the
// error Decode must give.
var invalidFixtures = []struct {
	file  string
	code  apierr.Code
	field string
}{
	{"invalid/live-notify-content-example.txt", apierr.MalformedJSON, "body"},
	{"invalid/live-describe-record-notify-records-response.json", apierr.MissingField, "EventType"},
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// allFixtures returns the names (without .json) of the valid fixtures.
func allFixtures() []string {
	return slices.Concat(seedFixtures, synthFixtures)
}

// TestFixtureSet fails when a fixture file is added or removed without
// updating the lists above (and, by review, the README).
func TestFixtureSet(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasSuffix(base, ".golden.json") {
			continue
		}
		got = append(got, strings.TrimSuffix(base, ".json"))
	}
	want := slices.Sorted(slices.Values(allFixtures()))
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("fixtures on disk %v\nwant %v", got, want)
	}
	readme := string(readFixture(t, "README.md"))
	for _, name := range want {
		if !strings.Contains(readme, name+".json") {
			t.Errorf("testdata/README.md does not mention %s.json", name)
		}
	}
	for _, inv := range invalidFixtures {
		if !strings.Contains(readme, inv.file) {
			t.Errorf("testdata/README.md does not mention %s", inv.file)
		}
	}
}

// TestGolden decodes every fixture, compares the Event, marshalled with
// json.MarshalIndent, with testdata/<name>.golden.json, and round-trips it
// (see roundTrip).
func TestGolden(t *testing.T) {
	for _, name := range allFixtures() {
		t.Run(name, func(t *testing.T) {
			body := readFixture(t, name+".json")
			ev, err := Decode(body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !bytes.Equal(ev.Raw, body) {
				t.Errorf("Raw is not the body as received")
			}
			id, err := Identity(body)
			if err != nil || ev.EventID != id {
				t.Errorf("EventID = %q, Identity = %q, %v", ev.EventID, id, err)
			}
			got, err := json.MarshalIndent(ev, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("decoded event differs from %s\ngot:\n%s\nwant:\n%s", path, got, want)
			}
			roundTrip(t, ev)
		})
	}
}

// TestInvalidFixtures checks the seed examples that are not callbacks.
func TestInvalidFixtures(t *testing.T) {
	for _, tc := range invalidFixtures {
		t.Run(tc.file, func(t *testing.T) {
			ev, err := Decode(readFixture(t, tc.file))
			if err == nil {
				t.Fatalf("Decode succeeded: %+v", ev)
			}
			var e *apierr.Error
			if !errors.As(err, &e) || e.Code != tc.code || e.Field != tc.field {
				t.Fatalf("err = %v; want code %s field %s", err, tc.code, tc.field)
			}
		})
	}
}

// TestSeedFixtureFacts spells out, independently of the golden files, the
// facts of the seed examples most likely to be decoded wrongly.
func TestSeedFixtureFacts(t *testing.T) {
	dec := func(name string) *Event {
		t.Helper()
		ev, err := Decode(readFixture(t, name+".json"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return ev
	}
	if ev := dec("ims-file-upload-complete"); ev.UserID != 1833220977560000 || ev.Upload.Size != 5510872 ||
		ev.Status != StatusSuccess || ev.ID != "c321b3a0041a71eda1590674a2ce****" || ev.IDField != "MessageBody.MediaId" {
		t.Errorf("ims-file-upload-complete: %+v %+v", ev, ev.Upload)
	}
	if ev := dec("ims-stream-upload-complete"); string(ev.UserData) != `{"MessageCallback":{"CallbackType":"http","CallbackURL":"***"}}` {
		t.Errorf("twice-nested UserData = %s", ev.UserData)
	}
	if ev := dec("ims-media-base-change-complete"); ev.BaseChange.OperateMode != "update" ||
		ev.BaseChange.Fields["CoverURL"].NewValue != "http://cdn.com/ee.png" ||
		!strings.HasPrefix(ev.BaseChange.Fields["CoverURL"].OldValue, "https://outin-8e7b1c7d2a3811eb83da00163e00****") {
		t.Errorf("MediaBaseChangeComplete: %+v", ev.BaseChange)
	}
	ev := dec("vod-transcode-complete")
	if len(ev.Transcode.Streams) != 2 || string(ev.Extend) != `"test data"` {
		t.Fatalf("TranscodeComplete: %+v extend %s", ev.Transcode, ev.Extend)
	}
	s := ev.Transcode.Streams[1]
	if s.Bitrate != 1575 || s.Fps != 30 || s.Duration != 15 || s.Size != 3090951 || s.Height != 960 || s.Width != 540 ||
		s.JobID != "ddddddddddd" || !slices.Equal(s.WatermarkIDs, []string{"33q9fj74hdf****", "93q9fj74hdf****"}) ||
		s.FinishTime.Hour() != 9 || s.Encrypt || s.IsAudio {
		t.Errorf("stream 1 = %+v", s)
	}
	if ev := dec("vod-delete-media-complete-fail"); ev.Status != StatusFail || ev.ErrorCode != "InvalidVideo.NotFound" || ev.Deletion.DeleteType != "all" {
		t.Errorf("DeleteMediaComplete fail = %+v", ev)
	}
	if ev := dec("vod-image-upload-complete"); ev.Time.Nanosecond() != 627_000_000 || ev.Upload.FileURL == "" || ev.IDField != "ImageId" {
		t.Errorf("VOD ImageUploadComplete = %+v", ev)
	}
	if ev := dec("vod-snapshot-complete"); ev.Family != FamilyOther || ev.ID == "" || ev.Status != StatusSuccess || hasPayload(ev) {
		t.Errorf("SnapshotComplete = %+v", ev)
	}
}

// hasPayload reports whether any typed payload is set.
func hasPayload(ev *Event) bool {
	return payloadCount(ev) > 0
}

func payloadCount(ev *Event) int {
	n := 0
	for _, set := range []bool{ev.Upload != nil, ev.StreamUpload != nil, ev.Audit != nil, ev.Registration != nil, ev.Deletion != nil,
		ev.BaseChange != nil, ev.Transcode != nil, ev.Editing != nil, ev.LiveFile != nil, ev.LiveStatus != nil} {
		if set {
			n++
		}
	}
	return n
}

// marshalledRaw is what Raw becomes through json.Marshal: encoding/json
// compacts a json.RawMessage and escapes <, >, &, U+2028 and U+2029.
func marshalledRaw(t testing.TB, raw []byte) json.RawMessage {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	var h bytes.Buffer
	json.HTMLEscape(&h, b.Bytes())
	return h.Bytes()
}

// roundTrip marshals a decoded event and unmarshals it again: the Event
// must come back equal, Raw excepted, which comes back compacted.
func roundTrip(t testing.TB, ev *Event) {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	want := *ev
	want.Raw = marshalledRaw(t, ev.Raw)
	if !reflect.DeepEqual(&back, &want) {
		t.Fatalf("round trip differs\ngot  %+v\nwant %+v", back, want)
	}
}
