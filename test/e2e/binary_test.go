package e2e

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"mediastate/shared/pipeline"
)

// TestNonUTF8Body delivers a VOD callback whose pass-through data holds
// bytes that are not UTF-8 (a Latin-1 "é"), in the envelopes that carry
// bytes exactly: the HTTP trigger (FC base64-encodes such a body) and the
// base64 forms of the MNS envelopes. The state must be the in-process fold
// of those exact bytes.
func TestNonUTF8Body(t *testing.T) {
	t.Parallel()
	for _, sh := range applyingShapes {
		switch sh.name {
		case "http-signed", "http-event-base64", "eventbridge-cloudevents-base64", "eventbridge-rawdata-base64", "mns-topic-base64", "bare-base64":
		default:
			continue
		}
		t.Run(sh.name, func(t *testing.T) {
			t.Parallel()
			id := newID()
			body := bytes.Replace(vodUpload(id), []byte(`"Size"`), []byte("\"Extend\": \"caf\xe9 \\\"x\\\"\",\n    \"Size\""), 1)
			if utf8.Valid(body) {
				t.Fatal("test body is valid UTF-8")
			}
			ev := mustDecode(t, body)
			res, err := sh.send(stk, "upload", [][]byte{body})
			if err != nil {
				t.Fatal(err)
			}
			if r := res[0]; r.Outcome != pipeline.Applied || r.EventID != ev.EventID {
				t.Fatalf("delivery: %+v, want applied %s", r, ev.EventID)
			}
			checkState(t, stk, id, fold(t, body))
		})
	}
}
