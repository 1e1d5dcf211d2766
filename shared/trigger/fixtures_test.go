package trigger

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	tt "mediastate/shared/trigger/triggertest"
)

// update rewrites the fixtures in testdata from the generator below:
//
//	go test ./shared/trigger/ -run TestFixturesUpToDate -update
var update = flag.Bool("update", false, "rewrite the testdata fixtures from their generator")

// fixture is one invocation payload in testdata, with how it is built.
type fixture struct {
	name  string // file name in testdata
	build func(t testing.TB) []byte
}

// seedBody returns the bytes of a callback body in testdata/bodies.
func seedBody(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "bodies", name))
	if err != nil {
		t.Fatalf("read seed body: %v", err)
	}
	return b
}

// indentJSON marshals v with two-space indentation and a final newline.
func indentJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("marshal fixture: %v", err)
	}
	return append(b, '\n')
}

// cloudEvent returns the n-th example EventBridge CloudEvent carrying data.
func cloudEvent(n int, data any) tt.CloudEvent {
	return tt.NewCloudEvent("bffb9722-9c48-407b-9895-b038f78f000"+string(rune('0'+n)), data)
}

// mnsData returns the data part of the n-th example EventBridge MNS event.
func mnsData(n int, body any) tt.MNSData {
	return tt.MNSData{
		RequestID:   "606EA3074344430D4C81000" + string(rune('0'+n)),
		MessageID:   "C6DB60D1574661357FA22727744500" + string(rune('0'+n)) + "0",
		MessageBody: body,
	}
}

// topic returns the example MNS topic notification of message with md5.
func topic(message any, md5 string) tt.Topic {
	n := tt.NewTopic("3405CA51807661353B3000000000A001", "")
	n.Message, n.MessageMD5 = message, md5
	return n
}

// vodHeaders are the headers of a VOD HTTP callback as FC hands them over.
// The signature is the documented example's: md5 of
// "https://www.example.com/your/callback|1519375990|test123".
var vodHeaders = map[string]string{
	"content-type":    "application/json",
	"X-VOD-TIMESTAMP": "1519375990",
	"X-VOD-SIGNATURE": "c72b60894140fa98920f1279219b7ed4",
	"X-Forwarded-For": "203.0.113.7, 10.0.0.1",
	"Accept-Encoding": "gzip,deflate",
}

// fixtures returns every generated fixture. testdata/README.md describes
// them; keep the two in step.
func fixtures() []fixture {
	str := func(s string) func(testing.TB) []byte { return func(testing.TB) []byte { return []byte(s) } }
	return []fixture{
		// FC HTTP trigger.
		{"http-plain.json", func(t testing.TB) []byte {
			return indentJSON(t, tt.ExampleHTTPEvent(string(seedBody(t, "vod-transcode-complete.json")), false, vodHeaders, "1-64f6cd87-0000000000000001"))
		}},
		{"http-base64.json", func(t testing.TB) []byte {
			h := map[string]string{"content-type": "application/json", "x-ice-timestamp": "1657874894",
				"x-ice-signature": "0123456789abcdef0123456789abcdef"}
			return indentJSON(t, tt.ExampleHTTPEvent(tt.B64(seedBody(t, "ims-file-upload-complete.json")), true, h, "1-64f6cd87-0000000000000002"))
		}},
		{"http-live.json", func(t testing.TB) []byte {
			h := map[string]string{"Content-Type": "application/json", "ALI-LIVE-TIMESTAMP": "1488985840",
				"ALI-LIVE-SIGNATURE": "fedcba9876543210fedcba9876543210", "ali-live-signature": "second-spelling"}
			return indentJSON(t, tt.ExampleHTTPEvent(string(seedBody(t, "live-record-file.json")), false, h, "1-64f6cd87-0000000000000003"))
		}},
		{"http-bad-base64.json", func(t testing.TB) []byte {
			return indentJSON(t, tt.ExampleHTTPEvent("eyJFdmVudFR5cGUi!!not base64", true, vodHeaders, "1-64f6cd87-0000000000000004"))
		}},
		{"http-empty-body.json", func(t testing.TB) []byte {
			ev := tt.ExampleHTTPEvent("", false, map[string]string{"user-agent": "curl/8.0"}, "1-64f6cd87-0000000000000005")
			ev.RequestContext.HTTP.Method = "GET"
			return indentJSON(t, ev)
		}},
		{"malformed-http-headers.json", func(t testing.TB) []byte {
			return indentJSON(t, tt.ExampleHTTPEvent(string(seedBody(t, "vod-transcode-complete.json")), false,
				[]string{"X-VOD-TIMESTAMP: 1519375990"}, "1-64f6cd87-0000000000000006"))
		}},

		// EventBridge trigger on an MNS queue, CloudEvents schema.
		{"eventbridge-cloudevents.json", func(t testing.TB) []byte {
			return indentJSON(t, []tt.CloudEvent{
				cloudEvent(0, mnsData(0, string(seedBody(t, "ims-media-base-change-complete.json")))),
				cloudEvent(1, mnsData(1, tt.B64(seedBody(t, "vod-transcode-complete.json")))),
				cloudEvent(2, mnsData(2, string(seedBody(t, "vod-delete-media-complete-fail.json")))),
			})
		}},
		{"eventbridge-object-body.json", func(t testing.TB) []byte {
			return indentJSON(t, []tt.CloudEvent{
				cloudEvent(0, mnsData(0, json.RawMessage(seedBody(t, "ims-file-upload-complete.json")))),
				cloudEvent(1, mnsData(1, string(seedBody(t, "vod-upload-unicode.json")))),
			})
		}},
		{"eventbridge-single-object.json", func(t testing.TB) []byte {
			return indentJSON(t, cloudEvent(0, mnsData(0, tt.B64(seedBody(t, "vod-upload-unicode.json")))))
		}},
		{"eventbridge-plain-text.json", func(t testing.TB) []byte {
			return indentJSON(t, []tt.CloudEvent{cloudEvent(0, mnsData(0, "TEST"))})
		}},
		{"eventbridge-partial-bad.json", func(t testing.TB) []byte {
			return indentJSON(t, []any{
				cloudEvent(0, mnsData(0, string(seedBody(t, "ims-file-upload-complete.json")))),
				cloudEvent(1, map[string]string{"requestId": "606EA3074344430D4C810001", "messageId": "C6DB60D1574661357FA2272774450010"}),
				42,
				mnsData(3, string(seedBody(t, "vod-produce-media-complete.json"))),
				cloudEvent(4, mnsData(4, tt.B64(seedBody(t, "vod-transcode-complete.json")))),
				cloudEvent(5, mnsData(5, 12345)),
				cloudEvent(6, "not an object"),
			})
		}},

		// EventBridge trigger on an MNS queue, RawData schema.
		{"eventbridge-rawdata.json", func(t testing.TB) []byte {
			return indentJSON(t, []tt.MNSData{
				mnsData(0, string(seedBody(t, "vod-produce-media-complete.json"))),
				mnsData(1, tt.B64(seedBody(t, "ims-stream-upload-complete.json"))),
				mnsData(2, string(seedBody(t, "live-record-started.json"))),
			})
		}},

		// MNS topic trigger, JSON format.
		{"mns-topic-json.json", func(t testing.TB) []byte {
			m := string(seedBody(t, "ims-file-upload-complete.json"))
			return indentJSON(t, topic(m, tt.MD5Hex(m)))
		}},
		{"mns-topic-base64.json", func(t testing.TB) []byte {
			m := tt.B64(seedBody(t, "vod-transcode-complete.json"))
			return indentJSON(t, topic(m, tt.MD5Hex(m)))
		}},
		{"mns-topic-md5-of-decoded.json", func(t testing.TB) []byte {
			body := seedBody(t, "vod-delete-media-complete-fail.json")
			return indentJSON(t, topic(tt.B64(body), strings.ToLower(tt.MD5Hex(string(body)))))
		}},
		{"mns-topic-md5-mismatch.json", func(t testing.TB) []byte {
			m := string(seedBody(t, "ims-file-upload-complete.json"))
			return indentJSON(t, topic(m, tt.MD5Hex(m+" ")))
		}},
		{"mns-topic-no-message.json", func(t testing.TB) []byte {
			return indentJSON(t, topic(nil, ""))
		}},

		// Bare callback bodies: MNS topic trigger in STREAM format, or direct invocation.
		{"bare-vod.json", func(t testing.TB) []byte { return seedBody(t, "vod-transcode-complete.json") }},
		{"bare-ims.json", func(t testing.TB) []byte { return seedBody(t, "ims-file-upload-complete.json") }},
		{"bare-live.json", func(t testing.TB) []byte { return seedBody(t, "live-record-file.json") }},
		{"bare-base64.txt", func(t testing.TB) []byte {
			return []byte(tt.B64(seedBody(t, "ims-media-base-change-complete.json")) + "\n")
		}},
		{"bare-base64-mime.txt", func(t testing.TB) []byte { return []byte(tt.MIMEBase64(seedBody(t, "vod-transcode-complete.json"))) }},
		{"bare-quoted-base64.json", func(t testing.TB) []byte {
			return indentJSON(t, tt.B64(seedBody(t, "live-record-started.json")))
		}},

		// Payloads that are no supported shape.
		{"unsupported-empty.txt", str("")},
		{"unsupported-whitespace.txt", str(" \r\n\t\n")},
		{"unsupported-number.json", str("42\n")},
		{"unsupported-empty-array.json", str("[]\n")},
		{"unsupported-array-of-bodies.json", func(t testing.TB) []byte {
			return indentJSON(t, []json.RawMessage{seedBody(t, "vod-produce-media-complete.json")})
		}},
		{"unsupported-oss-event.json", str(`{"events":[{"eventName":"ObjectCreated:PutObject","eventSource":"acs:oss",` +
			`"eventTime":"2022-08-13T06:45:43.000Z","eventVersion":"1.0","oss":{"bucket":{"arn":"acs:oss:cn-shanghai:1234567890000000:media",` +
			`"name":"media","ownerIdentity":"1234567890000000"},"object":{"deltaSize":122539,"eTag":"688A7BF4F233DC9C88A80BF985AB7329",` +
			`"key":"sv/a.mp4","size":122539},"ossSchemaVersion":"1.0","ruleId":"9adac8e253828f4f7c0466d941fa3db81161****"},` +
			`"region":"cn-shanghai","requestParameters":{"sourceIPAddress":"140.205.XX.XX"},` +
			`"responseElements":{"requestId":"58F9FF2D3DF792092E12044C"},"userIdentity":{"principalId":"1234567890000000"}}]}` + "\n")},
		{"unsupported-timer-event.json", str(`{"triggerTime":"2023-12-26T07:49:00Z","triggerName":"timer-trigger","payload":"awesome-fc"}` + "\n")},
		{"unsupported-quoted-text.json", str(`"hello topic"` + "\n")},
		{"unsupported-base64-of-object.txt", str(tt.B64([]byte(`{"hello":"world"}`)) + "\n")},

		// Payloads that are not JSON, nor base64 of JSON.
		{"malformed-truncated.json", func(t testing.TB) []byte {
			b := indentJSON(t, tt.ExampleHTTPEvent(string(seedBody(t, "vod-transcode-complete.json")), false, vodHeaders, "1-64f6cd87-0000000000000007"))
			return b[:len(b)/2]
		}},
		{"malformed-not-json.txt", str("EventType=FileUploadComplete&MediaId=c321b3a0041a71eda1590674a2ce0000\n")},
		{"malformed-base64-not-json.txt", str(tt.B64([]byte("just some text, not JSON")) + "\n")},
	}
}

// TestFixturesUpToDate checks that every file in testdata is what the
// generator builds (or, with -update, rewrites them), so that
// testdata/README.md describes the files exactly.
func TestFixturesUpToDate(t *testing.T) {
	generated := map[string]bool{"README.md": true}
	for _, fx := range fixtures() {
		if generated[fx.name] {
			t.Fatalf("fixture %s generated twice", fx.name)
		}
		generated[fx.name] = true
		want := fx.build(t)
		path := filepath.Join("testdata", fx.name)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (run with -update to generate it)", fx.name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what its generator builds (run with -update to rewrite it)", fx.name)
		}
	}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var stray []string
	for _, e := range entries {
		if !e.IsDir() && !generated[e.Name()] {
			stray = append(stray, e.Name())
		}
	}
	sort.Strings(stray)
	if len(stray) > 0 {
		t.Errorf("files in testdata with no generator: %v", stray)
	}
	readme, err := os.ReadFile(filepath.Join("testdata", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range generated {
		if name != "README.md" && !bytes.Contains(readme, []byte("`"+name+"`")) {
			t.Errorf("testdata/README.md does not describe %s", name)
		}
	}
}

// loadFixtures returns every fixture file's bytes by name.
func loadFixtures(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, fx := range fixtures() {
		b, err := os.ReadFile(filepath.Join("testdata", fx.name))
		if err != nil {
			t.Fatalf("read fixture: %v", err)
		}
		out[fx.name] = b
	}
	return out
}
