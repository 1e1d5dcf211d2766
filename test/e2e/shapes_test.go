package e2e

import (
	"bytes"
	"net/http"
	"testing"
	"unicode/utf8"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	"mediastate/shared/pipeline"
)

// functionFor is the function meant for an event family; events of types
// no function is meant for (SnapshotComplete) go to media.
func functionFor(f callback.Family) string {
	switch f {
	case callback.FamilyUpload, callback.FamilyMedia, callback.FamilyTranscode, callback.FamilyEditing:
		return string(f)
	}
	return "media"
}

// TestSeedFixturesInEveryShape delivers every VOD and IMS seed body, under
// a MediaId of its own, in every envelope a function can receive it in:
// the state stored must be byte for byte the in-process fold of that one
// event, and a redelivery in the same envelope is a duplicate that writes
// nothing.
func TestSeedFixturesInEveryShape(t *testing.T) {
	t.Parallel()
	for _, sd := range seeds(t) {
		for _, sh := range applyingShapes {
			t.Run(sd.name+"/"+sh.name, func(t *testing.T) {
				t.Parallel()
				id := newID()
				body := withID(t, sd.body, sd.ev.ID, id)
				ev := mustDecode(t, body)
				want := fold(t, body)
				fn := functionFor(ev.Family)

				res, err := sh.send(stk, fn, [][]byte{body})
				if err != nil {
					t.Fatal(err)
				}
				r := res[0]
				if r.Outcome != pipeline.Applied || r.EventID != ev.EventID || r.ID != id || r.Version != 1 || r.Code != "" {
					t.Fatalf("first delivery: %+v, want applied %s of %s as version 1", r, ev.EventID, id)
				}
				if r.Status != 0 && r.Status != http.StatusOK {
					t.Fatalf("first delivery answered HTTP %d", r.Status)
				}
				checkState(t, stk, id, want)

				res, err = sh.send(stk, fn, [][]byte{body})
				if err != nil {
					t.Fatal(err)
				}
				r = res[0]
				if r.Outcome != pipeline.Duplicate || r.EventID != ev.EventID || r.Version != 1 {
					t.Fatalf("redelivery: %+v, want duplicate at version 1", r)
				}
				if r.Status != 0 && r.Status != http.StatusOK {
					t.Fatalf("redelivery answered HTTP %d", r.Status)
				}
				if keys := checkState(t, stk, id, want); len(keys) != 1 {
					t.Fatalf("redelivery wrote a version: %v", keys)
				}
			})
		}
	}
}

// TestSeedFixturesUnsignedHTTP posts every seed body to its function's HTTP
// trigger without a signature: 401, the delivery is refused, nothing of it
// is stored (no letter), and no state is written.
func TestSeedFixturesUnsignedHTTP(t *testing.T) {
	t.Parallel()
	for _, sd := range seeds(t) {
		t.Run(sd.name, func(t *testing.T) {
			t.Parallel()
			id := newID()
			body := withID(t, sd.body, sd.ev.ID, id)
			fn := functionFor(sd.ev.Family)
			r := mustPostHTTP(t, stk, fn, body, http.Header{"Content-Type": {"application/json"}})
			if r.Status != http.StatusUnauthorized {
				t.Fatalf("unsigned callback answered %d: %s", r.Status, r.Body)
			}
			b := mustHTTPBody(t, r)
			if b.Outcome != pipeline.Refused || b.Code != string(apierr.MissingSignature) || b.Message == "" {
				t.Fatalf("unsigned callback: %+v, want refused MissingSignature", b)
			}
			noLetter(t, stk, fn, "http", body)
			checkNoState(t, stk, id)
		})
	}
}

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
