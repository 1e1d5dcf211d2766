package e2e

import (
	"bytes"
	"encoding/json"
	"testing"

	"mediastate/shared/pipeline"
)

// TestSweepReport invokes the sweep function as its timer trigger does. It
// must answer its report and delete nothing, since every version is
// younger than an hour.
func TestSweepReport(t *testing.T) {
	t.Parallel()
	id := newID()
	bodies := [][]byte{
		withID(t, readSeed(t, "ims-register-media-complete.json"), "71151b80f2d471ecb21b472190a9****", id),
		withID(t, readSeed(t, "ims-create-audit-complete.json"), "71151b80f2d471ecb21b472190a9****", id),
		withID(t, readSeed(t, "ims-file-upload-complete.json"), "c321b3a0041a71eda1590674a2ce****", id),
	}
	for _, b := range bodies {
		if res, err := bareShape("bare", false).send(stk, "media", [][]byte{b}); err != nil || res[0].Outcome != pipeline.Applied {
			t.Fatalf("apply: %v %+v", err, res)
		}
	}
	want := fold(t, bodies...)
	before := checkState(t, stk, id, want)

	r := mustInvoke(t, stk, "sweep", timerEvent)
	if r.Header.Get("X-Fc-Error-Type") != "" {
		t.Fatalf("sweep failed: %s", r.Body)
	}
	var rep struct {
		Media struct {
			IDs, Versions, Deleted int
		} `json:"media"`
		Jobs struct {
			IDs, Versions, Deleted int
		} `json:"jobs"`
		Live struct {
			IDs, Versions, Deleted int
		} `json:"live"`
		Snapshot   json.RawMessage `json:"snapshot"` // checked by TestSnapshot
		DurationMs *int64          `json:"durationMs"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil || rep.DurationMs == nil {
		t.Fatalf("sweep answer is not its report (%v): %s", err, r.Body)
	}
	if rep.Media.IDs < 1 || rep.Media.Versions < rep.Media.IDs+2 || rep.Media.Deleted != 0 || rep.Jobs.Deleted != 0 || rep.Live.Deleted != 0 || *rep.DurationMs < 0 {
		t.Fatalf("sweep report %s: want at least this test's media with its 3 versions, and nothing deleted", r.Body)
	}
	after := checkState(t, stk, id, want)
	if len(after) != len(before) || len(after) != 3 {
		t.Fatalf("sweep removed young versions: before %v after %v", before, after)
	}
	waitLog(t, logs, defaultLogWait, "the sweep log line", func(out string) bool {
		for _, m := range jsonLines(out) {
			if m["msg"] == "sweep" && m["function"] == "sweep" && m["deleted"] == float64(0) {
				return true
			}
		}
		return false
	})
}
