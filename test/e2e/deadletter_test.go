package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"mediastate/shared/apierr"
	"mediastate/shared/deadletter"
	"mediastate/shared/ossx"
	"mediastate/shared/pipeline"
	"mediastate/shared/trigger"
	tt "mediastate/shared/trigger/triggertest"
	"mediastate/test/localstack"
)

// replay sends the control payload to fn and returns its report.
func replay(t *testing.T, s *localstack.Stack, fn string, opts string) pipeline.ReplayReport {
	t.Helper()
	r := mustInvoke(t, s, fn, []byte(`{"mediastate":{"action":"replay-dead-letters"`+opts+`}}`))
	if r.Header.Get("X-Fc-Error-Type") != "" || r.Status != http.StatusOK {
		t.Fatalf("replay failed: %d %s", r.Status, r.Body)
	}
	var rep pipeline.ReplayReport
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("replay answer is not a report: %v: %s", err, r.Body)
	}
	return rep
}

// actions maps each letter key of a report to its action.
func actions(rep pipeline.ReplayReport) map[string]string {
	m := map[string]string{}
	for _, l := range rep.Letters {
		m[l.Key] = l.Action
	}
	return m
}

func letterExists(t *testing.T, s *localstack.Stack, key string) bool {
	t.Helper()
	_, _, err := s.Client.GetObject(ctxT(t), key)
	switch {
	case err == nil:
		return true
	case errors.Is(err, ossx.ErrNotFound):
		return false
	}
	t.Fatalf("read %s: %v", key, err)
	return false
}

// TestDeadLetterReplay stages dead letters directly in a stack of its own
// (so that no other test's letters are replayed): a valid MNS delivery, a
// whole invocation payload holding a valid batch, a valid HTTP delivery
// whose signature was not verified, a letter for an event already applied,
// and a letter that still cannot be processed. Replay must apply what now
// succeeds and delete those letters, keep the one that still fails, skip
// the unverified one unless asked, and be a no-op the second time.
func TestDeadLetterReplay(t *testing.T) {
	t.Parallel()
	s, lb := startStack(t, "upload")
	ctx := ctxT(t)
	dl := deadletter.New(s.Client, s.Prefix, "upload")
	reason := apierr.New(apierr.StorageUnavailable, "simulated: the bucket was unreachable when it arrived")

	idMNS, idInv1, idInv2, idHTTP, idDup := newID(), newID(), newID(), newID(), newID()
	mnsBody := withID(t, readSeed(t, "ims-file-upload-complete.json"), "c321b3a0041a71eda1590674a2ce****", idMNS)
	inv1 := withID(t, readSeed(t, "vod-file-upload-complete.json"), "7a1c2e80ea1f71eda2b5f7e4d3c1****", idInv1)
	inv2 := withID(t, readSeed(t, "vod-transcode-complete.json"), "43q9fjsh73f****", idInv2)
	invPayload := tt.Batch(tt.MNSEvent(tt.NewID(), inv1, tt.Plain), tt.MNSEvent(tt.NewID(), inv2, tt.Base64))
	httpBody := withID(t, readSeed(t, "vod-attached-media-upload-complete.json"), "0e6a7b1c2d3e4f5a6b7c8d9e0f1a****", idHTTP)
	dupBody := withID(t, readSeed(t, "ims-image-upload-complete.json"), "7e976e80fd0571ec82115523919d****", idDup)
	badBody := []byte(`{"EventType":"FileUploadComplete","VideoId":"` + newID() + `"}`) // no EventTime: never decodes

	// The duplicate's event is applied first, through the normal path.
	if res, err := bareShape("bare", false).send(s, "upload", [][]byte{dupBody}); err != nil || res[0].Outcome != pipeline.Applied {
		t.Fatalf("apply %s: %v %+v", idDup, err, res)
	}

	put := func(d *trigger.Delivery, verified bool, why error) string {
		t.Helper()
		key, err := dl.Put(ctx, d, "staged-"+randHex(4), verified, why)
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	kMNS := put(&trigger.Delivery{Kind: trigger.KindEventBridgeMNS, Body: mnsBody, DeliveryID: tt.NewID()}, true, reason)
	kInv := put(&trigger.Delivery{Body: invPayload}, true, reason)
	kHTTP := put(&trigger.Delivery{Kind: trigger.KindHTTP, Body: httpBody, DeliveryID: "req-1",
		Headers: http.Header{"X-Vod-Timestamp": {"1700000000"}, "X-Vod-Signature": {"0123456789abcdef0123456789abcdef"}, "Content-Type": {"application/json"}},
		HTTP:    &trigger.HTTPRequest{Method: http.MethodPost, RawPath: "/upload", Path: "/upload"}},
		false, apierr.New(apierr.MissingSignature, "simulated"))
	kDup := put(&trigger.Delivery{Kind: trigger.KindMNSTopic, Body: dupBody, DeliveryID: tt.NewID()}, true, reason)
	kBad := put(&trigger.Delivery{Kind: trigger.KindBare, Body: badBody}, true, apierr.New(apierr.MissingField, "EventTime"))
	if !strings.HasPrefix(kMNS, s.Prefix+"deadletter/upload/") {
		t.Fatalf("letter key %s", kMNS)
	}
	if l, err := dl.Get(ctx, kHTTP); err != nil || l.Headers.Get("X-Vod-Signature") != "[redacted]" {
		t.Fatalf("staged HTTP letter: %v %v", err, l)
	}
	for _, id := range []string{idMNS, idInv1, idInv2, idHTTP} {
		checkNoState(t, s, id)
	}

	// A dry run changes nothing.
	rep := replay(t, s, "upload", `,"dryRun":true`)
	if rep.Seen != 5 || rep.Replayed != 0 || rep.Skipped != 1 || len(rep.Letters) != 5 {
		t.Fatalf("dry run report %+v", rep)
	}
	if a := actions(rep); a[kMNS] != "would-replay" || a[kHTTP] != "skipped" {
		t.Fatalf("dry run actions %v", a)
	}
	checkNoState(t, s, idMNS)

	// First replay: verified letters replayed, the unverified one skipped.
	rep = replay(t, s, "upload", "")
	a := actions(rep)
	if rep.Seen != 5 || rep.Replayed != 3 || rep.Kept != 1 || rep.Skipped != 1 ||
		a[kMNS] != "replayed" || a[kInv] != "replayed" || a[kDup] != "replayed" || a[kBad] != "kept" || a[kHTTP] != "skipped" {
		t.Fatalf("first replay: %+v", rep)
	}
	for _, l := range rep.Letters {
		if l.Key == kBad && l.Code != string(apierr.MissingField) {
			t.Fatalf("kept letter reported with code %q, want MissingField", l.Code)
		}
		if l.Key == kDup && l.Outcome != pipeline.Duplicate {
			t.Fatalf("letter of an applied event replayed as %q, want duplicate", l.Outcome)
		}
	}
	checkState(t, s, idMNS, fold(t, mnsBody))
	checkState(t, s, idInv1, fold(t, inv1))
	checkState(t, s, idInv2, fold(t, inv2))
	if keys := checkState(t, s, idDup, fold(t, dupBody)); len(keys) != 1 {
		t.Fatalf("replaying an applied event wrote a version: %v", keys)
	}
	checkNoState(t, s, idHTTP)
	for key, exists := range map[string]bool{kMNS: false, kInv: false, kDup: false, kBad: true, kHTTP: true} {
		if got := letterExists(t, s, key); got != exists {
			t.Fatalf("letter %s exists=%v after replay, want %v", key, got, exists)
		}
	}

	// Second replay: nothing left to do.
	rep = replay(t, s, "upload", "")
	a = actions(rep)
	if rep.Seen != 2 || rep.Replayed != 0 || rep.Kept != 1 || rep.Skipped != 1 || a[kBad] != "kept" || a[kHTTP] != "skipped" {
		t.Fatalf("second replay: %+v", rep)
	}
	if keys := versionKeys(t, s, idMNS); len(keys) != 1 {
		t.Fatalf("second replay wrote versions: %v", keys)
	}

	// With includeUnverified, the HTTP letter is replayed (without checking
	// its signature, which has long expired) and deleted.
	rep = replay(t, s, "upload", `,"includeUnverified":true`)
	a = actions(rep)
	if rep.Seen != 2 || rep.Replayed != 1 || rep.Kept != 1 || rep.Skipped != 0 || a[kHTTP] != "replayed" || a[kBad] != "kept" {
		t.Fatalf("replay with includeUnverified: %+v", rep)
	}
	checkState(t, s, idHTTP, fold(t, httpBody))
	if letterExists(t, s, kHTTP) || !letterExists(t, s, kBad) {
		t.Fatal("after replay with includeUnverified the HTTP letter must be gone and the bad one kept")
	}

	// The replay is logged, with the control invocation's counts.
	waitLog(t, lb, defaultLogWait, "the replay log lines", func(out string) bool {
		n := 0
		for _, m := range jsonLines(out) {
			if m["msg"] == "replay" && m["function"] == "upload" {
				n++
			}
		}
		return n == 4
	})
}
