package e2e

import (
	"maps"
	"testing"

	"mediastate/shared/pipeline"
	"mediastate/test/fcemu"
)

// ossOf waits for the delivery line of a one-delivery invocation and
// returns its OSS requests by operation.
func ossOf(t *testing.T, lb *fcemu.LogBuffer, r *response) (map[string]int64, map[string]any) {
	t.Helper()
	out := waitLog(t, lb, defaultLogWait, "the delivery line of "+r.RequestID, func(out string) bool {
		return len(deliveryLines(out, r.RequestID)) > 0
	})
	lines := deliveryLines(out, r.RequestID)
	if len(lines) != 1 {
		t.Fatalf("%d delivery lines for %s", len(lines), r.RequestID)
	}
	raw, _ := lines[0]["oss"].(map[string]any)
	got := map[string]int64{}
	var total int64
	for k, v := range raw {
		n, _ := v.(float64)
		got[k] = int64(n)
		total += int64(n)
	}
	if n, _ := lines[0]["ossRequests"].(float64); int64(n) != total {
		t.Fatalf("ossRequests %v is not the sum of oss %v", lines[0]["ossRequests"], raw)
	}
	return got, lines[0]
}

// TestOSSRequestsPerEvent checks the table "OSS requests per event" of the
// README against the real functions, from their log lines.
func TestOSSRequestsPerEvent(t *testing.T) {
	t.Parallel()
	// A stack of its own, each function's bucket check done beforehand.
	s, lb := startStack(t, "media", "transcode", "editing")
	for _, fn := range []string{"media", "transcode", "editing"} {
		if res, err := bareShape("bare", false).send(s, fn, [][]byte{vodUpload(newID())}); err != nil || res[0].Outcome != pipeline.Applied {
			t.Fatalf("warm-up of %s: %v %+v", fn, err, res)
		}
	}
	id, id2 := newID(), newID()
	seedID := "71151b80f2d471ecb21b472190a9****"
	upload := vodUpload(id)
	register := withID(t, readSeed(t, "ims-register-media-complete.json"), seedID, id)
	audit := withID(t, readSeed(t, "ims-create-audit-complete.json"), seedID, id)
	deletion := withID(t, readSeed(t, "ims-delete-media-complete.json"), seedID, id)
	register2 := withID(t, readSeed(t, "ims-register-media-complete.json"), seedID, id2)

	steps := []struct {
		name    string
		fn      string
		body    []byte
		outcome pipeline.Outcome
		want    map[string]int64
	}{
		{"new MediaId, upload event (create first, confirmed)", "media", upload, pipeline.Applied, map[string]int64{"ListObjectsV2": 1, "PutObject": 1}},
		{"warm instance, known MediaId", "media", register, pipeline.Applied, map[string]int64{"PutObject": 1}},
		{"duplicate, warm", "media", register, pipeline.Duplicate, map[string]int64{}},
		{"duplicate, cold", "transcode", register, pipeline.Duplicate, map[string]int64{"ListObjectsV2": 1, "GetObject": 1}},
		{"new MediaId, other event", "media", register2, pipeline.Applied, map[string]int64{"ListObjectsV2": 1, "PutObject": 1}},
		{"cold instance, existing MediaId", "editing", audit, pipeline.Applied, map[string]int64{"ListObjectsV2": 1, "GetObject": 1, "PutObject": 1}},
		{"lost race (stale cache)", "media", deletion, pipeline.Applied, map[string]int64{"PutObject": 2, "GetObject": 1}},
	}
	var bodies [][]byte
	for _, st := range steps {
		r := mustInvoke(t, s, st.fn, st.body)
		sum := mustSummary(t, r)
		if len(sum.Results) != 1 || sum.Results[0].Outcome != st.outcome {
			t.Fatalf("%s: %+v, want %s", st.name, sum, st.outcome)
		}
		got, line := ossOf(t, lb, r)
		if !maps.Equal(got, st.want) {
			t.Errorf("%s (%s): OSS requests %v, README says %v", st.name, st.fn, got, st.want)
		}
		if st.name == "lost race (stale cache)" && line["conflicts"] != float64(1) {
			t.Errorf("%s: conflicts %v, want 1", st.name, line["conflicts"])
		}
		if st.outcome == pipeline.Applied && sum.Results[0].ID == id {
			bodies = append(bodies, st.body)
		}
	}
	checkState(t, s, id, fold(t, bodies...))
	checkState(t, s, id2, fold(t, register2))
}
