package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"mediastate/shared/pipeline"
	"mediastate/shared/signature"
	tt "mediastate/shared/trigger/triggertest"
	"mediastate/test/localstack"
)

// TestDeliveryLogLines checks the functions' stdout: one JSON line per
// delivery, with the request id, function, trigger, outcome and the OSS
// requests it made; and no secret anywhere in the output (the local keys,
// the OSS secret, and the signature values this test sent).
func TestDeliveryLogLines(t *testing.T) {
	t.Parallel()
	type want struct {
		fn       string
		trigger  string
		outcomes []pipeline.Outcome
	}
	var cases []struct {
		requestID string
		want      want
	}
	add := func(r *response, w want) {
		t.Helper()
		if r.RequestID == "" {
			t.Fatalf("answer without X-Fc-Request-Id: %v", r.Header)
		}
		cases = append(cases, struct {
			requestID string
			want      want
		}{r.RequestID, w})
	}

	id := newID()
	body := withID(t, readSeed(t, "vod-transcode-complete.json"), "43q9fjsh73f****", id)
	h := signedHeaders(stk, "transcode", signature.VOD, localstack.LocalVODKey)
	sentSig := h.Get(signature.VOD.SignatureHeader)
	r := mustPostHTTP(t, stk, "transcode", body, h)
	if r.Status != http.StatusOK {
		t.Fatalf("signed delivery: %d %s", r.Status, r.Body)
	}
	add(r, want{"transcode", "http", []pipeline.Outcome{pipeline.Applied}})

	// A forged signature: refused (nothing stored), and its value never logged.
	forged := signedHeaders(stk, "transcode", signature.IMS, "guessed-key")
	r = mustPostHTTP(t, stk, "transcode", append(body, ' '), forged)
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("forged delivery: %d %s", r.Status, r.Body)
	}
	add(r, want{"transcode", "http", []pipeline.Outcome{pipeline.Refused}})

	// A batch of three: applied, duplicate, dead-lettered.
	id2 := newID()
	body2 := withID(t, readSeed(t, "ims-create-audit-complete.json"), "71151b80f2d471ecb21b472190a9****", id2)
	r = mustInvoke(t, stk, "media", tt.Batch(tt.MNSEvent(tt.NewID(), body2, tt.Plain), tt.MNSEvent(tt.NewID(), body2, tt.Base64), tt.JSON(tt.NewCloudEvent("x-"+id2, struct{}{}))))
	sum := mustSummary(t, r)
	if len(sum.Results) != 3 {
		t.Fatalf("batch summary %+v", sum)
	}
	add(r, want{"media", "eventbridge-mns", []pipeline.Outcome{pipeline.Applied, pipeline.Duplicate, pipeline.DeadLettered}})

	// A bare body.
	r = mustInvoke(t, stk, "editing", withID(t, readSeed(t, "vod-produce-media-complete.json"), "1234343b689*****a5422dfe1e472a41", newID()))
	add(r, want{"editing", "bare", []pipeline.Outcome{pipeline.Applied}})

	// An upload event at the transcode function: applied, flagged foreign.
	rForeign := mustInvoke(t, stk, "transcode", vodUpload(newID()))
	add(rForeign, want{"transcode", "bare", []pipeline.Outcome{pipeline.Applied}})

	out := waitLog(t, logs, defaultLogWait, "a delivery line for every request", func(out string) bool {
		for _, c := range cases {
			if len(deliveryLines(out, c.requestID)) < len(c.want.outcomes) {
				return false
			}
		}
		return true
	})
	for _, c := range cases {
		lines := deliveryLines(out, c.requestID)
		if len(lines) != len(c.want.outcomes) {
			t.Errorf("request %s: %d delivery lines, want %d: %v", c.requestID, len(lines), len(c.want.outcomes), lines)
			continue
		}
		// Items of a batch run concurrently: of two deliveries of one event,
		// either may be the one applied. Compare the outcomes as a multiset.
		var gotOutcomes, wantOutcomes []string
		for _, ln := range lines {
			o, _ := ln["outcome"].(string)
			gotOutcomes = append(gotOutcomes, o)
		}
		for _, w := range c.want.outcomes {
			wantOutcomes = append(wantOutcomes, string(w))
		}
		slices.Sort(gotOutcomes)
		slices.Sort(wantOutcomes)
		if !slices.Equal(gotOutcomes, wantOutcomes) {
			t.Errorf("request %s: outcomes %v, want %v", c.requestID, gotOutcomes, wantOutcomes)
		}
		for _, ln := range lines {
			i, _ := ln["index"].(float64)
			if int(i) >= len(c.want.outcomes) {
				t.Errorf("request %s: line with index %v: %v", c.requestID, ln["index"], ln)
				continue
			}
			o, _ := ln["outcome"].(string)
			w := pipeline.Outcome(o)
			n, ok := ln["ossRequests"].(float64)
			if ln["function"] != c.want.fn || ln["trigger"] != c.want.trigger || !ok || n < 0 {
				t.Errorf("request %s: line %v, want function %s trigger %s and ossRequests", c.requestID, ln, c.want.fn, c.want.trigger)
			}
			switch w {
			case pipeline.Applied:
				if n < 1 || ln["eventId"] == nil || ln["version"] == nil {
					t.Errorf("applied delivery line without OSS requests, eventId or version: %v", ln)
				}
			case pipeline.Refused:
				if ln["code"] == nil || ln["deadLetter"] != nil || ln["refusedTotal"] == nil || ln["level"] != "WARN" {
					t.Errorf("refused delivery line without code, count or WARN level, or with a letter: %v", ln)
				}
			case pipeline.DeadLettered:
				if ln["code"] == nil || ln["deadLetter"] == nil || ln["level"] != "WARN" {
					t.Errorf("dead-lettered delivery line without code, letter key or WARN level: %v", ln)
				}
			}
		}
	}

	for _, c := range cases {
		for _, ln := range deliveryLines(out, c.requestID) {
			if foreign := ln["foreignFamily"] == true; foreign != (c.requestID == rForeign.RequestID) {
				t.Errorf("request %s: foreignFamily %v in %v", c.requestID, ln["foreignFamily"], ln)
			}
		}
	}
	for _, sec := range append(secretsToHide(), sentSig, forged.Get(signature.IMS.SignatureHeader)) {
		if strings.Contains(out, sec) {
			t.Errorf("the functions' output contains the secret %q", sec)
		}
	}
	// The start-up lines of the media functions name the secrets that are
	// set, never their values.
	cold := 0
	for _, m := range jsonLines(out) {
		if fn, _ := m["function"].(string); m["msg"] == "cold start" && slices.Contains(mediaFunctions, fn) {
			cold++
			if s, _ := m["secretsSet"].(string); !strings.Contains(s, "VOD_CALLBACK_KEYS") {
				t.Errorf("cold start line %v does not name the keys set", m)
			}
		}
	}
	if cold != len(mediaFunctions) {
		t.Errorf("%d cold start lines, want one per media function", cold)
	}
}
