package callback

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"mediastate/shared/apierr"
)

// mustDecode decodes body and fails the test on error. Every event decoded
// here also goes through the marshal round trip.
func mustDecode(t *testing.T, body string) *Event {
	t.Helper()
	ev, err := Decode([]byte(body))
	if err != nil {
		t.Fatalf("Decode(%s): %v", body, err)
	}
	roundTrip(t, ev)
	return ev
}

// noted decodes body, which must succeed with field noted as
// uninterpreted with code, and returns the event.
func noted(t *testing.T, body, field string, code apierr.Code) *Event {
	t.Helper()
	ev := mustDecode(t, body)
	for _, n := range ev.Uninterpreted {
		if n.Field == field {
			if n.Code != string(code) || !strings.Contains(n.Reason, field) || !strings.Contains(n.Reason, "expected") {
				t.Errorf("Decode(%s): note %+v, want code %s naming the field and the expectation", body, n, code)
			}
			if code != apierr.MissingField && (len(n.Value) == 0 || !json.Valid(n.Value)) {
				t.Errorf("Decode(%s): note %+v does not keep the raw value", body, n)
			}
			return ev
		}
	}
	t.Fatalf("Decode(%s): %s not noted as uninterpreted: %+v", body, field, ev.Uninterpreted)
	return nil
}

// decodeErr decodes body, which must fail with an *apierr.Error.
func decodeErr(t *testing.T, body string) *apierr.Error {
	t.Helper()
	ev, err := Decode([]byte(body))
	if err == nil {
		t.Fatalf("Decode(%s) succeeded: %+v", body, ev)
	}
	var e *apierr.Error
	if !errors.As(err, &e) {
		t.Fatalf("Decode(%s): error %v (%T) is not an *apierr.Error", body, err, err)
	}
	if !apierr.IsPermanent(err) {
		t.Errorf("Decode(%s): error %v is not permanent", body, err)
	}
	return e
}

// vodStream builds a VOD StreamTranscodeComplete body with one extra
// member (a JSON fragment such as `"Fps": "30"`).
func vodStream(member string) string {
	return `{"EventType":"StreamTranscodeComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v1","Status":"success",` + member + `}`
}

// imsUpload builds an IMS FileUploadComplete body with extra MessageBody
// members.
func imsUpload(members string) string {
	if members != "" {
		members = "," + members
	}
	return `{"EventType":"FileUploadComplete","UserId":1833220977560000,"EventTime":"2022-07-15T08:48:14Z","MessageBody":{"MediaId":"m1","Status":"Success"` + members + `}}`
}

func TestTolerantNumbers(t *testing.T) {
	// Each row: the values of one member that must all decode to what
	// check accepts.
	tests := []struct {
		member string
		values []string
		check  func(s Stream) bool
	}{
		{"Size", []string{`"5510872"`, `5510872`, `" 5510872 "`, `5510872.0`, `"5.510872e6"`}, func(s Stream) bool { return s.Size == 5510872 }},
		{"Size", []string{`9007199254740993`}, func(s Stream) bool { return s.Size == 9007199254740993 }},
		{"Size", []string{`""`, `null`}, func(s Stream) bool { return s.Size == 0 }},
		{"Fps", []string{`"30"`, `30`}, func(s Stream) bool { return s.Fps == 30 }},
		{"Fps", []string{`"29.97"`}, func(s Stream) bool { return s.Fps == 29.97 }},
		{"Bitrate", []string{`"925"`, `925`}, func(s Stream) bool { return s.Bitrate == 925 }},
		{"Bitrate", []string{`"450.62"`}, func(s Stream) bool { return s.Bitrate == 450.62 }},
		{"Duration", []string{`15`}, func(s Stream) bool { return s.Duration == 15 }},
		{"Duration", []string{`"15.5"`, `15.5`}, func(s Stream) bool { return s.Duration == 15.5 }},
		{"Height", []string{`"960", "Width": 540`}, func(s Stream) bool { return s.Height == 960 && s.Width == 540 }},
		{"Encrypt", []string{`true`, `"true"`, `"TRUE"`, `1`}, func(s Stream) bool { return s.Encrypt }},
		{"Encrypt", []string{`"false"`}, func(s Stream) bool { return !s.Encrypt }},
		{"IsAudio", []string{`"true"`}, func(s Stream) bool { return s.IsAudio }},
		{"IsAudio", []string{`false`, `"0"`}, func(s Stream) bool { return !s.IsAudio }},
		{"WatermarkId", []string{`"a,b, c,,"`}, func(s Stream) bool { return slices.Equal(s.WatermarkIDs, []string{"a", "b", "c"}) }},
		{"WatermarkId", []string{`["a", "b"]`}, func(s Stream) bool { return slices.Equal(s.WatermarkIDs, []string{"a", "b"}) }},
		{"WatermarkId", []string{`""`}, func(s Stream) bool { return s.WatermarkIDs == nil }},
		{"JobId", []string{`12345`}, func(s Stream) bool { return s.JobID == "12345" }},
		{"StartTime", []string{`"2017-03-20T07:49:17:500Z"`}, func(s Stream) bool { return s.StartTime.Equal(time.Date(2017, 3, 20, 7, 49, 17, 5e8, time.UTC)) }},
	}
	for _, tc := range tests {
		for _, v := range tc.values {
			member := fmt.Sprintf("%q: %s", tc.member, v)
			t.Run(member, func(t *testing.T) {
				ev := mustDecode(t, vodStream(member))
				if len(ev.Transcode.Streams) != 1 || !tc.check(ev.Transcode.Streams[0]) {
					t.Fatalf("stream = %+v", ev.Transcode.Streams)
				}
			})
		}
	}
}

func TestTolerantStatus(t *testing.T) {
	tests := []struct {
		status string
		want   Status
	}{
		{"success", StatusSuccess}, {"Success", StatusSuccess}, {"SUCCESS", StatusSuccess},
		{"succeed", StatusSuccess}, {"Succeed", StatusSuccess}, {"succeeded", StatusSuccess},
		{"successful", StatusSuccess}, {"ok", StatusSuccess}, {"OK", StatusSuccess}, {" success ", StatusSuccess},
		{"fail", StatusFail}, {"Fail", StatusFail}, {"failed", StatusFail}, {"Failed", StatusFail},
		{"FAILURE", StatusFail}, {"error", StatusFail}, {"Error", StatusFail},
		{"", StatusNone},
	}
	for _, tc := range tests {
		t.Run(tc.status, func(t *testing.T) {
			ev := mustDecode(t, fmt.Sprintf(`{"EventType":"ProduceMediaComplete","EventTime":"2018-12-26T14:34:09Z","MediaId":"m","Status":%q}`, tc.status))
			if ev.Status != tc.want {
				t.Fatalf("Status(%q) = %q, want %q", tc.status, ev.Status, tc.want)
			}
			ev = mustDecode(t, fmt.Sprintf(`{"EventType":"StreamTranscodeComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v","Status":%q}`, tc.status))
			if ev.Status != tc.want || ev.Transcode.Streams[0].Status != tc.want {
				t.Fatalf("StreamTranscodeComplete Status(%q) = %q, stream %q, want %q", tc.status, ev.Status, ev.Transcode.Streams[0].Status, tc.want)
			}
			ev = mustDecode(t, strings.Replace(imsUpload(""), `"Success"`, fmt.Sprintf("%q", tc.status), 1))
			if ev.Status != tc.want {
				t.Fatalf("IMS Status(%q) = %q, want %q", tc.status, ev.Status, tc.want)
			}
			ev = mustDecode(t, `{"EventType":"TranscodeComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v","StreamInfos":[{"Status":`+fmt.Sprintf("%q", tc.status)+`}]}`)
			if got := ev.Transcode.Streams[0].Status; got != tc.want {
				t.Fatalf("stream Status(%q) = %q, want %q", tc.status, got, tc.want)
			}
		})
	}
	// An absent status is StatusNone too.
	if ev := mustDecode(t, `{"EventType":"ProduceMediaComplete","EventTime":"2018-12-26T14:34:09Z","MediaId":"m"}`); ev.Status != StatusNone {
		t.Fatalf("absent Status = %q", ev.Status)
	}
	// "normal" is a review or video state, not a job outcome: kept raw and
	// noted, the event applies without a status.
	for _, bad := range []string{"normal", "Processing", "succes", "true"} {
		ev := noted(t, fmt.Sprintf(`{"EventType":"ProduceMediaComplete","EventTime":"2018-12-26T14:34:09Z","MediaId":"m","Status":%q}`, bad), "Status", apierr.InvalidField)
		if ev.Status != StatusNone || ev.Uninterpreted[0].Value == nil || string(ev.Uninterpreted[0].Value) != fmt.Sprintf("%q", bad) {
			t.Errorf("Status %q: %+v", bad, ev)
		}
	}
}

func TestTolerantEventTime(t *testing.T) {
	for _, tc := range eventTimes {
		t.Run(tc.in, func(t *testing.T) {
			for _, body := range []string{
				fmt.Sprintf(`{"EventType":"DeleteMediaComplete","EventTime":%q,"MediaId":"m","DeleteType":"all","Status":"success"}`, tc.in),
				fmt.Sprintf(`{"EventType":"DeleteMediaComplete","UserId":1,"EventTime":%q,"MessageBody":{"MediaId":"m","DeleteType":"all"}}`, tc.in),
			} {
				ev := mustDecode(t, body)
				if !ev.Time.Equal(tc.want) || ev.Time.Location() != time.UTC {
					t.Fatalf("Time = %v (%v), want %v UTC", ev.Time, ev.Time.Location(), tc.want)
				}
			}
		})
	}
	for _, bad := range []string{"yesterday", "2022-07-15", "2022-13-15T08:48:14Z", "2022-07-15T25:48:14Z", "2022-07-15T08:48:14+25:00", "1657874894"} {
		e := decodeErr(t, fmt.Sprintf(`{"EventType":"DeleteMediaComplete","EventTime":%q,"MediaId":"m","DeleteType":"all"}`, bad))
		if e.Code != apierr.InvalidField || e.Field != "EventTime" || !strings.Contains(e.Message, "DeleteMediaComplete") {
			t.Errorf("EventTime %q: %+v", bad, e)
		}
	}
}

func TestUserID(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{`1833220977560000`, 1833220977560000},
		{`"1833220977560000"`, 1833220977560000},
		{`9007199254740993`, 9007199254740993}, // 2^53+1: float64 would give ...992
		{`9223372036854775807`, 9223372036854775807},
		{`"  42 "`, 42},
		{`null`, 0},
	}
	for _, tc := range tests {
		ev := mustDecode(t, strings.Replace(imsUpload(""), "1833220977560000", tc.in, 1))
		if ev.UserID != tc.want {
			t.Errorf("UserId %s = %d, want %d", tc.in, ev.UserID, tc.want)
		}
	}
	// Absent is 0 too.
	if ev := mustDecode(t, `{"EventType":"RegisterMediaComplete","EventTime":"2022-06-23T13:11:33Z","MessageBody":{"MediaId":"m"}}`); ev.UserID != 0 {
		t.Errorf("absent UserId = %d", ev.UserID)
	}
	for _, bad := range []struct {
		in   string
		code apierr.Code
	}{
		{`"183322097756****"`, apierr.InvalidField},
		{`9223372036854775808`, apierr.InvalidField},
		{`1.5`, apierr.InvalidField},
		{`1e300`, apierr.InvalidField},
		{`true`, apierr.MalformedJSON},
		{`{"id":1}`, apierr.MalformedJSON},
	} {
		if ev := noted(t, strings.Replace(imsUpload(""), "1833220977560000", bad.in, 1), "UserId", bad.code); ev.UserID != 0 {
			t.Errorf("UserId %s: %+v", bad.in, ev)
		}
	}
}

func TestNestedUserDataAndExtend(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"object in a string", `"{\"a\":1,\"b\":\"x\"}"`, `{"a":1,"b":"x"}`},
		{"nested twice", `"{\"MessageCallback\":\"{\\\"CallbackURL\\\":\\\"***\\\",\\\"CallbackType\\\":\\\"http\\\"}\"}"`, `{"MessageCallback":{"CallbackType":"http","CallbackURL":"***"}}`},
		{"string holding a string holding an object", `"\"{\\\"a\\\":[1,\\\"{\\\\\\\"b\\\\\\\":2}\\\"]}\""`, `"\"{\\\"a\\\":[1,\\\"{\\\\\\\"b\\\\\\\":2}\\\"]}\""`},
		{"object as such", `{"b":2,"a":"{\"c\":true}"}`, `{"a":{"c":true},"b":2}`},
		{"array in a string", `"[1, \"2\", {\"x\": null}]"`, `[1,"2",{"x":null}]`},
		{"plain text", `"test data"`, `"test data"`},
		{"text that starts like JSON", `"{not json"`, `"{not json"`},
		{"a number in a string stays text", `"123"`, `"123"`},
		{"a number", `12.50`, `12.50`},
		{"large number kept exactly", `"{\"n\":12345678901234567890}"`, `{"n":12345678901234567890}`},
		{"html characters escaped as json.Marshal does", `"{\"u\":\"a<b>&c\"}"`, `{"u":"a\u003cb\u003e\u0026c"}`},
		{"empty string", `""`, ``},
		{"null", `null`, ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := mustDecode(t, imsUpload(`"UserData":`+tc.value+`,"Extend":`+tc.value))
			if string(ev.UserData) != tc.want || string(ev.Extend) != tc.want {
				t.Fatalf("UserData = %s, Extend = %s, want %s", ev.UserData, ev.Extend, tc.want)
			}
			ev = mustDecode(t, `{"EventType":"TranscodeComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v","Extend":`+tc.value+`}`)
			if string(ev.Extend) != tc.want {
				t.Fatalf("VOD Extend = %s, want %s", ev.Extend, tc.want)
			}
		})
	}
}

func TestMediaContent(t *testing.T) {
	body := func(content string) string {
		return `{"EventType":"MediaBaseChangeComplete","UserId":1,"EventTime":"2022-06-23T13:11:33Z","MessageBody":{"Status":"Success","MediaId":"m","MediaType":"video","OperateMode":"Update","MediaContent":` + content + `}}`
	}
	tests := []struct {
		name, content string
		want          map[string]FieldChange
	}{
		{"values stringified inside a string", `"{\"Title\":\"{\\\"OldValue\\\":\\\"Old\\\",\\\"NewValue\\\":\\\"New\\\"}\"}"`,
			map[string]FieldChange{"Title": {"Old", "New"}}},
		{"values as objects inside a string", `"{\"CateId\":{\"OldValue\":123,\"NewValue\":456}}"`,
			map[string]FieldChange{"CateId": {"123", "456"}}},
		{"object as such", `{"Tags":{"OldValue":"a,b","NewValue":"c"},"Description":"{\"NewValue\":\"d\"}"}`,
			map[string]FieldChange{"Tags": {"a,b", "c"}, "Description": {"", "d"}}},
		{"stringified three times", `"\"{\\\"Title\\\":\\\"{\\\\\\\"OldValue\\\\\\\":\\\\\\\"o\\\\\\\",\\\\\\\"NewValue\\\\\\\":\\\\\\\"n\\\\\\\"}\\\"}\""`,
			map[string]FieldChange{"Title": {"o", "n"}}},
		{"null, decimal, boolean and nested values", `{"A":{"OldValue":null,"NewValue":1.50},"B":{"oldvalue":true,"newvalue":{"x":[1, 2]}},"C":"{\"OldValue\":\"{\\\"k\\\": 1}\"}"}`,
			map[string]FieldChange{"A": {"", "1.50"}, "B": {"true", `{"x":[1,2]}`}, "C": {`{"k": 1}`, ""}}},
		{"absent", `null`, map[string]FieldChange{}},
		{"empty", `""`, map[string]FieldChange{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := mustDecode(t, body(tc.content))
			if ev.BaseChange.OperateMode != "update" || !reflect.DeepEqual(ev.BaseChange.Fields, tc.want) {
				t.Fatalf("BaseChange = %+v, want fields %+v", ev.BaseChange, tc.want)
			}
		})
	}
	// A value that is no {OldValue, NewValue} is kept raw and noted; the
	// other fields still apply.
	for _, bad := range []struct{ content, field, value string }{
		{`"not json"`, "MessageBody.MediaContent", `"not json"`},
		{`[1]`, "MessageBody.MediaContent", `[1]`},
		{`{"Title":"New title","Tags":{"NewValue":"t"}}`, "MessageBody.MediaContent.Title", `"New title"`},
		{`"{\"Title\":5,\"Tags\":{\"NewValue\":\"t\"}}"`, "MessageBody.MediaContent.Title", `5`},
	} {
		ev := noted(t, body(bad.content), bad.field, apierr.MalformedJSON)
		if _, ok := ev.BaseChange.Fields["Title"]; ok || string(ev.Uninterpreted[0].Value) != bad.value {
			t.Errorf("MediaContent %s: %+v %+v", bad.content, ev.BaseChange, ev.Uninterpreted)
		}
		if strings.Contains(bad.content, "Tags") && ev.BaseChange.Fields["Tags"].NewValue != "t" {
			t.Errorf("MediaContent %s: the good field was lost: %+v", bad.content, ev.BaseChange)
		}
	}
}

func TestDeletionLists(t *testing.T) {
	ev := mustDecode(t, `{"EventType":"DeleteMediaComplete","EventTime":"2017-03-20T07:49:17Z","Status":"success","MediaType":"video","DeleteType":"Stream","MediaId":"m","JobIds":"j1,j2 , j3"}`)
	if ev.Deletion.DeleteType != "stream" || !slices.Equal(ev.Deletion.JobIDs, []string{"j1", "j2", "j3"}) || ev.Deletion.MediaType != "video" {
		t.Fatalf("VOD deletion = %+v", ev.Deletion)
	}
	ev = mustDecode(t, `{"EventType":"DeleteMediaComplete","UserId":1,"EventTime":"2022-06-23T13:11:33Z","MessageBody":{"Status":"Success","MediaId":"m","DeleteType":"stream","FileURLs":"http://a/1.mp4,http://a/2.m3u8"}}`)
	if !slices.Equal(ev.Deletion.FileURLs, []string{"http://a/1.mp4", "http://a/2.m3u8"}) || ev.Deletion.JobIDs != nil {
		t.Fatalf("IMS deletion = %+v", ev.Deletion)
	}
	ev = mustDecode(t, `{"EventType":"DeleteMediaComplete","EventTime":"2017-03-20T07:49:17Z","DeleteType":"mezzanine","MediaId":"m","JobIds":["j1"]}`)
	if !slices.Equal(ev.Deletion.JobIDs, []string{"j1"}) {
		t.Fatalf("array JobIds = %+v", ev.Deletion)
	}
}

func TestIDPrecedence(t *testing.T) {
	tests := []struct {
		ids, id, field string
	}{
		{`"MediaId":"a","VideoId":"b","ImageId":"c","AttachedMediaId":"d"`, "a", "MediaId"},
		{`"VideoId":"b","ImageId":"c","AttachedMediaId":"d"`, "b", "VideoId"},
		{`"AttachedMediaId":"d","ImageId":"c"`, "c", "ImageId"},
		{`"AttachedMediaId":"d"`, "d", "AttachedMediaId"},
		{`"MediaId":"","VideoId":"b"`, "b", "VideoId"},
		{`"MediaId":null,"VideoId":"b"`, "b", "VideoId"},
		{`"videoid":"b"`, "b", "VideoId"},
	}
	for _, tc := range tests {
		ev := mustDecode(t, `{"EventType":"FileUploadComplete","EventTime":"2017-03-20T07:49:17Z",`+tc.ids+`}`)
		if ev.ID != tc.id || ev.IDField != tc.field {
			t.Errorf("%s: ID %q from %q, want %q from %q", tc.ids, ev.ID, ev.IDField, tc.id, tc.field)
		}
	}
}

func TestMissingOptionalAndExtraFields(t *testing.T) {
	minimal := map[string]string{
		"FileUploadComplete":          `{"EventType":"FileUploadComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v"}`,
		"UploadByURLComplete":         `{"EventType":"UploadByURLComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v"}`,
		"ImageUploadComplete":         `{"EventType":"ImageUploadComplete","EventTime":"2017-03-20T07:49:17Z","ImageId":"i"}`,
		"AttachedMediaUploadComplete": `{"EventType":"AttachedMediaUploadComplete","EventTime":"2017-03-20T07:49:17Z","AttachedMediaId":"a"}`,
		"RegisterStreamComplete":      `{"EventType":"RegisterStreamComplete","EventTime":"2022-07-13T09:34:39Z","MessageBody":{"MediaId":"m"}}`,
		"StreamUploadComplete":        `{"EventType":"StreamUploadComplete","EventTime":"2022-07-13T09:34:39Z","MessageBody":{"MediaId":"m"}}`,
		"UploadStreamByURLComplete":   `{"EventType":"UploadStreamByURLComplete","EventTime":"2022-07-13T09:34:39Z","MessageBody":{"MediaId":"m"}}`,
		"CreateAuditComplete":         `{"EventType":"CreateAuditComplete","EventTime":"2022-07-13T09:34:39Z","MessageBody":{"MediaId":"m"}}`,
		"RegisterMediaComplete":       `{"EventType":"RegisterMediaComplete","EventTime":"2022-07-13T09:34:39Z","MessageBody":{"MediaId":"m"}}`,
		"DeleteMediaComplete":         `{"EventType":"DeleteMediaComplete","EventTime":"2022-07-13T09:34:39Z","MediaId":"m","DeleteType":"info"}`,
		"MediaBaseChangeComplete":     `{"EventType":"MediaBaseChangeComplete","EventTime":"2022-07-13T09:34:39Z","MessageBody":{"MediaId":"m","OperateMode":"create"}}`,
		"TranscodeComplete":           `{"EventType":"TranscodeComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v"}`,
		"StreamTranscodeComplete":     `{"EventType":"StreamTranscodeComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v"}`,
		"ProduceMediaComplete":        `{"EventType":"ProduceMediaComplete","EventTime":"2018-12-26T14:34:09Z","MediaId":"m"}`,
	}
	const extra = `"Unknown":{"deep":[1,{"x":"y"}]},"Size2":true,"StorageLocation":"outin-x.oss-cn-shanghai.aliyuncs.com",`
	for typ, body := range minimal {
		t.Run(typ, func(t *testing.T) {
			ev := mustDecode(t, body)
			if ev.Type != typ || ev.Family != FamilyOf(typ) || ev.Family == FamilyUnknown || payloadCount(ev) != 1 || ev.Status != StatusNone {
				t.Fatalf("minimal %s = %+v", typ, ev)
			}
			withExtra := mustDecode(t, strings.Replace(body, `{"EventType"`, `{`+extra+`"EventType"`, 1))
			withExtra.Raw, withExtra.EventID = ev.Raw, ev.EventID
			if !reflect.DeepEqual(withExtra, ev) {
				t.Fatalf("extra fields changed the event:\n%+v\n%+v", withExtra, ev)
			}
		})
	}
	// Fields another event type would use are ignored, even when unusable.
	ev := mustDecode(t, `{"EventType":"ProduceMediaComplete","EventTime":"2018-12-26T14:34:09Z","MediaId":"m","Size":"huge","StreamInfos":"x","DeleteType":"bogus","Fps":{}}`)
	if ev.Editing == nil {
		t.Fatalf("got %+v", ev)
	}
}

func TestUnknownEventTypes(t *testing.T) {
	tests := []struct {
		body             string
		typ, id, idField string
		source           Source
		status           Status
		hasTime          bool
	}{
		{`{"EventType":"FutureSnapshotComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v","Status":"success","CoverUrl":"http://x"}`, "FutureSnapshotComplete", "v", "VideoId", SourceVOD, StatusSuccess, true},
		{`{"EventType":"FutureAuditComplete","EventTime":"2017-03-20T07:49:17Z","MediaId":"m","Status":"Failed","Data":"{\"x\":1}"}`, "FutureAuditComplete", "m", "MediaId", SourceVOD, StatusFail, true},
		{`{"EventType":"FutureAnalysisComplete","Status":"success"}`, "FutureAnalysisComplete", "", "", SourceVOD, StatusSuccess, false},
		{`{"EventType":"FutureTaskComplete","EventTime":"","RunId":"r"}`, "FutureTaskComplete", "", "", SourceVOD, StatusNone, false},
		{`{"EventType":"ProduceMediaJobComplete","UserId":"1","EventTime":"2022-07-15T08:48:14Z","MessageBody":{"MediaId":"m","Status":"Success","Anything":[1,2]}}`, "ProduceMediaJobComplete", "m", "MessageBody.MediaId", SourceIMS, StatusSuccess, true},
		{`{"EventType":"SomethingNew","MessageBody":"{\"ImageId\":\"i\"}"}`, "SomethingNew", "i", "MessageBody.ImageId", SourceIMS, StatusNone, false},
	}
	for _, tc := range tests {
		t.Run(tc.typ, func(t *testing.T) {
			ev := mustDecode(t, tc.body)
			if ev.Type != tc.typ || ev.Family != FamilyUnknown || ev.Source != tc.source || ev.ID != tc.id ||
				ev.IDField != tc.idField || ev.Status != tc.status || ev.Time.IsZero() == tc.hasTime || hasPayload(ev) ||
				string(ev.Raw) != tc.body || ev.EventID == "" {
				t.Fatalf("got %+v", ev)
			}
		})
	}
}

func TestLive(t *testing.T) {
	const base = `"domain":"demo.aliyundoc.com","app":"liveApp****","stream":"liveStream****"`
	t.Run("file event", func(t *testing.T) {
		for _, times := range []string{
			`"duration":54.5,"start_time":1488985786,"stop_time":1488985840`,
			`"duration":"54.5","start_time":"1488985786","stop_time":"1488985840"`,
			`"duration":54.5,"start_time":1488985786.0,"stop_time":"1488985840.000"`,
		} {
			ev := mustDecode(t, `{`+base+`,"uri":"record/a.m3u8",`+times+`}`)
			f := ev.LiveFile
			if ev.Source != SourceLive || ev.Type != "file_created" || ev.Family != FamilyLive || ev.ID != "demo.aliyundoc.com/liveApp****/liveStream****" ||
				ev.IDField != "domain/app/stream" || f == nil || f.Duration != 54.5 || f.URI != "record/a.m3u8" ||
				!ev.Time.Equal(time.Unix(1488985840, 0)) || !f.StartTime.Equal(time.Unix(1488985786, 0)) || !f.StopTime.Equal(ev.Time) ||
				ev.Time.Location() != time.UTC || ev.Status != StatusNone || payloadCount(ev) != 1 {
				t.Fatalf("%s: %+v %+v", times, ev, f)
			}
		}
		ev := mustDecode(t, `{`+base+`,"uri":"r.flv","stop_time":"1488985840.25"}`)
		if ev.Time.Nanosecond() != 25e7 || ev.LiveFile.Duration != 0 || !ev.LiveFile.StartTime.IsZero() {
			t.Fatalf("fractional stop_time: %+v", ev.LiveFile)
		}
	})
	t.Run("status events", func(t *testing.T) {
		for _, event := range []string{"record_started", "record_paused", "record_resumed", "record_error",
			"record_force_transcode_fail", "transformat_error", "file_created", "record_something_new"} {
			ev := mustDecode(t, `{`+base+`,"event":"`+event+`","description":"d"}`)
			if ev.Type != event || ev.Family != FamilyLive || ev.LiveStatus == nil || ev.LiveStatus.Event != event ||
				ev.LiveStatus.Description != "d" || ev.LiveStatus.Domain != "demo.aliyundoc.com" || !ev.Time.IsZero() || payloadCount(ev) != 1 {
				t.Fatalf("%s: %+v", event, ev)
			}
		}
		ev := mustDecode(t, `{`+base+`,"event":"record_started","start_time":1488985786}`)
		if !ev.Time.Equal(time.Unix(1488985786, 0)) {
			t.Fatalf("status event with start_time: %v", ev.Time)
		}
	})
	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			body  string
			code  apierr.Code
			field string
		}{
			{`{"app":"a","stream":"s","event":"record_started"}`, apierr.MissingField, "domain"},
			{`{"domain":"d","stream":"s","uri":"u","stop_time":1}`, apierr.MissingField, "app"},
			{`{"domain":"d","app":"a","event":"record_started"}`, apierr.MissingField, "stream"},
			{`{"domain":"a..b","app":"a","stream":"s","event":"record_started"}`, apierr.InvalidId, "domain"},
			{`{"domain":"d","app":"a/b","stream":"s","event":"record_started"}`, apierr.InvalidId, "app"},
			{`{"domain":"d","app":"a","stream":"s s","event":"record_started"}`, apierr.InvalidId, "stream"},
			{`{"domain":"d","app":"a","stream":"s","stop_time":1}`, apierr.MissingField, "uri"},
			{`{"domain":"d","app":"a","stream":"s","uri":"u"}`, apierr.MissingField, "stop_time"},
			{`{"domain":"d","app":"a","stream":"s","uri":"u","stop_time":"soon"}`, apierr.InvalidField, "stop_time"},
			{`{"domain":"d","app":"a","stream":"s","uri":"u","stop_time":1e20}`, apierr.InvalidField, "stop_time"},
			{`{"domain":"d","app":"a","stream":"s","event":""}`, apierr.InvalidField, "event"},
			{`{"domain":"d","app":"a","stream":"s","event":"../x"}`, apierr.InvalidField, "event"},
			{`{"domain":"d","app":"a","stream":"s","event":7}`, apierr.MalformedJSON, "event"},
			{`{"domain":"d","app":"a","stream":"s","event":true}`, apierr.MalformedJSON, "event"},
			{`{"domain":{"x":1},"app":"a","stream":"s","event":"record_started"}`, apierr.MalformedJSON, "domain"},
		}
		for _, tc := range tests {
			e := decodeErr(t, tc.body)
			if e.Code != tc.code || e.Field != tc.field {
				t.Errorf("%s: got %s %q (%v), want %s %q", tc.body, e.Code, e.Field, e, tc.code, tc.field)
			}
		}
	})
	t.Run("uninterpreted", func(t *testing.T) {
		noted(t, `{"domain":"d","app":"a","stream":"s","uri":"u","stop_time":1,"duration":"long"}`, "duration", apierr.InvalidField)
		noted(t, `{"domain":"d","app":"a","stream":"s","uri":"u","stop_time":1,"duration":[1]}`, "duration", apierr.MalformedJSON)
		noted(t, `{"domain":"d","app":"a","stream":"s","event":"record_error","description":{"x":1}}`, "description", apierr.MalformedJSON)
	})
	t.Run("notify content without its prefix", func(t *testing.T) {
		e := decodeErr(t, `{"domain":"al.xxxx.com","stream":"livestream01","pull _stream_result":true,"cdn":"al"}`)
		if e.Code != apierr.MissingField || e.Field != "app" {
			t.Fatalf("got %v", e)
		}
	})
}

// TestErrors checks the code, field, event type and message of each kind
// of failure.
func TestErrors(t *testing.T) {
	big := `{"EventType":"X","Pad":"` + strings.Repeat("a", MaxBodySize) + `"}`
	tests := []struct {
		name, body string
		code       apierr.Code
		field      string
		eventType  string
		mention    string // a piece of the expectation the message must quote
	}{
		{"empty body", ``, apierr.MalformedJSON, "body", "", "JSON object"},
		{"not JSON", `EventType=FileUploadComplete`, apierr.MalformedJSON, "body", "", "invalid JSON"},
		{"truncated", `{"EventType":"FileUploadComplete"`, apierr.MalformedJSON, "body", "", "invalid JSON"},
		{"trailing garbage", `{"EventType":"X"} x`, apierr.MalformedJSON, "body", "", "invalid JSON"},
		{"array", `[{"EventType":"X"}]`, apierr.MalformedJSON, "body", "", "an array"},
		{"null", `null`, apierr.MalformedJSON, "body", "", "JSON object"},
		{"string", `"{}"`, apierr.MalformedJSON, "body", "", "JSON object"},
		{"too large", big, apierr.PayloadTooLarge, "body", "", "at most 65536"},
		{"empty object", `{}`, apierr.MissingField, "EventType", "", "neither"},
		{"no EventType", `{"eventtyp":"X","VideoId":"v"}`, apierr.MissingField, "EventType", "", "neither"},
		{"EventType empty", `{"EventType":"","VideoId":"v"}`, apierr.MissingField, "EventType", "", "required"},
		{"EventType number", `{"EventType":5}`, apierr.MalformedJSON, "EventType", "", "a string"},
		{"EventType object", `{"EventType":{}}`, apierr.MalformedJSON, "EventType", "", "a string"},
		{"EventType unsafe", `{"EventType":"a/b"}`, apierr.InvalidField, "EventType", "", "printable ASCII"},
		{"EventType spaces", `{"EventType":" FileUploadComplete"}`, apierr.InvalidField, "EventType", "", "printable ASCII"},
		{"MessageBody array", `{"EventType":"FileUploadComplete","MessageBody":[1]}`, apierr.MalformedJSON, "MessageBody", "FileUploadComplete", "an object"},
		{"MessageBody text", `{"EventType":"FileUploadComplete","MessageBody":"done"}`, apierr.MalformedJSON, "MessageBody", "FileUploadComplete", "an object"},
		{"IMS id missing", `{"EventType":"FileUploadComplete","EventTime":"2022-07-15T08:48:14Z","MessageBody":{"Status":"Success"}}`, apierr.MissingField, "MessageBody.MediaId", "FileUploadComplete", "MediaId"},
		{"VOD id missing", `{"EventType":"TranscodeComplete","EventTime":"2022-07-15T08:48:14Z","Status":"success"}`, apierr.MissingField, "VideoId", "TranscodeComplete", "VideoId"},
		{"VOD image id missing", `{"EventType":"ImageUploadComplete","EventTime":"2022-07-15T08:48:14Z"}`, apierr.MissingField, "ImageId", "ImageUploadComplete", "ImageId"},
		{"id empty", `{"EventType":"ProduceMediaComplete","EventTime":"2022-07-15T08:48:14Z","MediaId":""}`, apierr.MissingField, "MediaId", "ProduceMediaComplete", "MediaId"},
		{"id not a string", `{"EventType":"ProduceMediaComplete","EventTime":"2022-07-15T08:48:14Z","MediaId":["m"]}`, apierr.MalformedJSON, "MediaId", "ProduceMediaComplete", "a string"},
		{"id unsafe", `{"EventType":"TranscodeComplete","EventTime":"2022-07-15T08:48:14Z","VideoId":"../etc"}`, apierr.InvalidId, "VideoId", "TranscodeComplete", "printable ASCII"},
		{"IMS id unsafe", `{"EventType":"FileUploadComplete","EventTime":"2022-07-15T08:48:14Z","MessageBody":{"MediaId":"a b"}}`, apierr.InvalidId, "MessageBody.MediaId", "FileUploadComplete", "whitespace"},
		{"unknown type id unsafe", `{"EventType":"FutureComplete","VideoId":"a%2f"}`, apierr.InvalidId, "VideoId", "FutureComplete", "'%'"},
		{"catalogued type without time", `{"EventType":"SnapshotComplete","VideoId":"v"}`, apierr.MissingField, "EventTime", "SnapshotComplete", "2022-07-15T08:48:14Z"},
		{"job keyed without any id", `{"EventType":"UploadByURLComplete","EventTime":"2017-03-20T07:49:17Z","Status":"fail"}`, apierr.MissingField, "VideoId", "UploadByURLComplete", "JobId"},
		{"job id unsafe", `{"EventType":"UploadByURLComplete","EventTime":"2017-03-20T07:49:17Z","JobId":"a/b"}`, apierr.InvalidId, "JobId", "UploadByURLComplete", "'/'"},
		{"EventTime missing", `{"EventType":"FileUploadComplete","MessageBody":{"MediaId":"m"}}`, apierr.MissingField, "EventTime", "FileUploadComplete", "2022-07-15T08:48:14Z"},
		{"EventTime empty", `{"EventType":"TranscodeComplete","EventTime":"","VideoId":"v"}`, apierr.MissingField, "EventTime", "TranscodeComplete", "2022-07-15T08:48:14Z"},
		{"EventTime null", `{"EventType":"TranscodeComplete","EventTime":null,"VideoId":"v"}`, apierr.MissingField, "EventTime", "TranscodeComplete", "2022-07-15T08:48:14Z"},
		{"EventTime number", `{"EventType":"TranscodeComplete","EventTime":1657874894,"VideoId":"v"}`, apierr.MalformedJSON, "EventTime", "TranscodeComplete", "2022-07-15T08:48:14Z"},
		{"EventTime garbage", `{"EventType":"TranscodeComplete","EventTime":"soon","VideoId":"v"}`, apierr.InvalidField, "EventTime", "TranscodeComplete", "2022-07-15T08:48:14Z"},
		{"unknown type bad time", `{"EventType":"FutureComplete","EventTime":"soon"}`, apierr.InvalidField, "EventTime", "FutureComplete", "2022-07-15T08:48:14Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := decodeErr(t, tc.body)
			if e.Code != tc.code || e.Field != tc.field || e.EventType != tc.eventType {
				t.Fatalf("got code %s field %q event type %q (%v); want %s %q %q", e.Code, e.Field, e.EventType, e, tc.code, tc.field, tc.eventType)
			}
			msg := e.Error()
			if !strings.Contains(msg, tc.field) || !strings.Contains(msg, tc.mention) {
				t.Errorf("message %q does not name the field %q and the expectation %q", msg, tc.field, tc.mention)
			}
			if tc.eventType != "" && !strings.Contains(msg, "(event type "+tc.eventType+")") {
				t.Errorf("message %q does not name the event type %q", msg, tc.eventType)
			}
			if tc.code == apierr.MalformedJSON || tc.code == apierr.InvalidField || tc.code == apierr.InvalidId {
				if !strings.Contains(msg, "expected") {
					t.Errorf("message %q does not say what was expected", msg)
				}
			}
		})
	}
}

// TestUninterpreted checks that a field other than the type, the id and the
// time that cannot be interpreted is kept raw and noted, with a reason
// naming the field, the event type and what was expected, and does not
// make the event fail.
func TestUninterpreted(t *testing.T) {
	tests := []struct {
		name, body string
		code       apierr.Code
		field      string
		eventType  string
		mention    string
	}{
		{"Size not a number", imsUpload(`"Size":"5 MB"`), apierr.InvalidField, "MessageBody.Size", "FileUploadComplete", "an integer"},
		{"Size a boolean", imsUpload(`"Size":true`), apierr.MalformedJSON, "MessageBody.Size", "FileUploadComplete", "an integer"},
		{"Size fractional", imsUpload(`"Size":"1.5"`), apierr.InvalidField, "MessageBody.Size", "FileUploadComplete", "an integer"},
		{"FileUrl an object", imsUpload(`"FileUrl":{"u":1}`), apierr.MalformedJSON, "MessageBody.FileUrl", "FileUploadComplete", "a string"},
		{"Status a number", imsUpload(`"Status":1`), apierr.MalformedJSON, "MessageBody.Status", "FileUploadComplete", "success"},
		{"Status unknown", `{"EventType":"TranscodeComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v","Status":"partial"}`, apierr.InvalidField, "Status", "TranscodeComplete", "success"},
		{"stream status unknown", `{"EventType":"TranscodeComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v","StreamInfos":[{},{"Status":"meh"}]}`, apierr.InvalidField, "StreamInfos[1].Status", "TranscodeComplete", "success"},
		{"stream bitrate", `{"EventType":"TranscodeComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v","StreamInfos":[{"Bitrate":"fast"}]}`, apierr.InvalidField, "StreamInfos[0].Bitrate", "TranscodeComplete", "a finite number"},
		{"stream fps NaN", `{"EventType":"TranscodeComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v","StreamInfos":[{"Fps":"NaN"}]}`, apierr.InvalidField, "StreamInfos[0].Fps", "TranscodeComplete", "a finite number"},
		{"stream encrypt", `{"EventType":"TranscodeComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v","StreamInfos":[{"Encrypt":"yes"}]}`, apierr.InvalidField, "StreamInfos[0].Encrypt", "TranscodeComplete", "a boolean"},
		{"stream watermarks", `{"EventType":"TranscodeComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v","StreamInfos":[{"WatermarkId":[{}]}]}`, apierr.MalformedJSON, "StreamInfos[0].WatermarkId", "TranscodeComplete", "comma-separated"},
		{"stream time", `{"EventType":"TranscodeComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v","StreamInfos":[{"FinishTime":"later"}]}`, apierr.InvalidField, "StreamInfos[0].FinishTime", "TranscodeComplete", "2022-07-15T08:48:14Z"},
		{"StreamInfos an object", `{"EventType":"TranscodeComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v","StreamInfos":{"Status":"success"}}`, apierr.MalformedJSON, "StreamInfos", "TranscodeComplete", "an array"},
		{"StreamInfos element", `{"EventType":"TranscodeComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v","StreamInfos":[1]}`, apierr.MalformedJSON, "StreamInfos[0]", "TranscodeComplete", "a stream object"},
		{"single stream size", vodStream(`"Size":"big"`), apierr.InvalidField, "Size", "StreamTranscodeComplete", "an integer"},
		{"DeleteType missing", `{"EventType":"DeleteMediaComplete","EventTime":"2017-03-20T07:49:17Z","MediaId":"m"}`, apierr.MissingField, "DeleteType", "DeleteMediaComplete", "all, mezzanine, stream, info"},
		{"DeleteType unknown", `{"EventType":"DeleteMediaComplete","EventTime":"2017-03-20T07:49:17Z","MediaId":"m","DeleteType":"everything"}`, apierr.InvalidField, "DeleteType", "DeleteMediaComplete", "all, mezzanine, stream, info"},
		{"JobIds an object", `{"EventType":"DeleteMediaComplete","EventTime":"2017-03-20T07:49:17Z","MediaId":"m","DeleteType":"stream","JobIds":{}}`, apierr.MalformedJSON, "JobIds", "DeleteMediaComplete", "comma-separated"},
		{"OperateMode missing", `{"EventType":"MediaBaseChangeComplete","EventTime":"2017-03-20T07:49:17Z","MessageBody":{"MediaId":"m"}}`, apierr.MissingField, "MessageBody.OperateMode", "MediaBaseChangeComplete", "create, update, delete"},
		{"OperateMode unknown", `{"EventType":"MediaBaseChangeComplete","EventTime":"2017-03-20T07:49:17Z","MessageBody":{"MediaId":"m","OperateMode":"merge"}}`, apierr.InvalidField, "MessageBody.OperateMode", "MediaBaseChangeComplete", "create, update, delete"},
		{"CreationTime", `{"EventType":"CreateAuditComplete","EventTime":"2017-03-20T07:49:17Z","MessageBody":{"MediaId":"m","CreationTime":"x"}}`, apierr.InvalidField, "MessageBody.CreationTime", "CreateAuditComplete", "2022-07-15T08:48:14Z"},
		{"ProjectId an array", `{"EventType":"ProduceMediaComplete","EventTime":"2018-12-26T14:34:09Z","MediaId":"m","ProjectId":[]}`, apierr.MalformedJSON, "ProjectId", "ProduceMediaComplete", "a string"},
		{"ErrorCode a boolean", `{"EventType":"SnapshotComplete","EventTime":"2017-03-20T07:49:17Z","VideoId":"v","ErrorCode":false}`, apierr.MalformedJSON, "ErrorCode", "SnapshotComplete", "a string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := noted(t, tc.body, tc.field, tc.code)
			if ev.Type != tc.eventType || payloadCount(ev) > 1 {
				t.Fatalf("event %+v", ev)
			}
			for _, n := range ev.Uninterpreted {
				if n.Field == tc.field && (!strings.Contains(n.Reason, tc.mention) || !strings.Contains(n.Reason, "(event type "+tc.eventType+")")) {
					t.Errorf("reason %q does not name the expectation %q and the event type", n.Reason, tc.mention)
				}
			}
		})
	}
}

// TestRawIsACopy checks that Raw does not alias the caller's buffer.
func TestRawIsACopy(t *testing.T) {
	body := []byte(`{"EventType":"FutureComplete","VideoId":"v"}`)
	ev, err := Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	body[2] = 'X'
	if string(ev.Raw) != `{"EventType":"FutureComplete","VideoId":"v"}` {
		t.Fatalf("Raw changed with the caller's buffer: %s", ev.Raw)
	}
}

// TestMaxBodySize checks the limit exactly.
func TestMaxBodySize(t *testing.T) {
	if MaxBodySize != 64<<10 {
		t.Fatalf("MaxBodySize = %d", MaxBodySize)
	}
	head := `{"EventType":"FutureComplete","Pad":"`
	body := head + strings.Repeat("a", MaxBodySize-len(head)-2) + `"}`
	if len(body) != MaxBodySize {
		t.Fatalf("test body is %d bytes", len(body))
	}
	if _, err := Decode([]byte(body)); err != nil {
		t.Fatalf("body of exactly MaxBodySize: %v", err)
	}
	if _, err := Decode([]byte(body + " ")); !apierr.Is(err, apierr.PayloadTooLarge) {
		t.Fatalf("body of MaxBodySize+1: %v", err)
	}
	if _, err := Identity([]byte(body + " ")); !apierr.Is(err, apierr.PayloadTooLarge) {
		t.Fatalf("Identity of MaxBodySize+1: %v", err)
	}
}

// TestCaseInsensitiveKeys checks that key spelling does not matter, as
// with the FileURL of VOD's ImageUploadComplete.
func TestCaseInsensitiveKeys(t *testing.T) {
	ev := mustDecode(t, `{"eventtype":"ImageUploadComplete","EVENTTIME":"2024-04-10T01:37:14Z","imageid":"i","FileURL":"https://x/y.jpg","size":"10"}`)
	if ev.Type != "ImageUploadComplete" || ev.ID != "i" || ev.Upload.FileURL != "https://x/y.jpg" || ev.Upload.Size != 10 {
		t.Fatalf("got %+v %+v", ev, ev.Upload)
	}
	ev = mustDecode(t, `{"Domain":"d","App":"a","Stream":"s","Event":"record_started"}`)
	if ev.ID != "d/a/s" {
		t.Fatalf("got %+v", ev)
	}
}

func TestEventJSONShape(t *testing.T) {
	ev := mustDecode(t, `{"EventType":"RegisterMediaComplete","UserId":1833202230100000,"EventTime":"2022-06-23T13:11:33Z","MessageBody":{"Status":"Success","MediaId":"m"}}`)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	// The user id must be written as an exact integer.
	if !strings.Contains(string(b), `"userId":1833202230100000`) {
		t.Fatalf("marshalled %s", b)
	}
}
