package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mediastate/shared/live/notify"
	"mediastate/shared/pipeline"
	"mediastate/test/fcemu"
	"mediastate/test/localstack"
)

// TestBinaries is the smoke test of every built function binary: each runs
// behind the FC emulator, driven over the FC runtime API as FC drives it
// (the fc-runtime-go-sdk loop of main's fc.Start), and answers one
// invocation: a signed HTTP callback to each callback function is applied
// and its state stored, liverecordquery finds the Live callback recorded,
// and the sweep answers its timer event with its report. Then what only a
// process shows: each delivery's JSON log line is in the process output
// under the request id FC gave, and a binary whose configuration is
// invalid logs "start-up failed" and exits before it polls for an
// invocation. Every other check runs the same handlers in process.
func TestBinaries(t *testing.T) {
	t.Parallel()
	all, err := localstack.FunctionNames(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	lb, bins := fcemu.NewLogBuffer(0), t.TempDir()
	s, err := localstack.Start(ctx, localstack.Options{Root: root, Addr: "127.0.0.1:0", OSSAddr: "127.0.0.1:0", Functions: all, Log: lb, BinCache: bins})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if len(s.Functions) != len(all) || len(all) != 7 {
		t.Fatalf("emulated functions %v, want the seven of functions/", s.Names())
	}

	id := newID()
	domain := "smoke-" + runTag + ".example.com"
	live := []byte(fmt.Sprintf(`{"domain":%q,"app":"app1","stream":"s1","event":"record_started"}`, domain))
	var requests []string
	for _, c := range []struct{ fn, seed, seedID string }{
		{"upload", "vod-file-upload-complete.json", "7a1c2e80ea1f71eda2b5f7e4d3c1****"},
		{"media", "ims-register-media-complete.json", "71151b80f2d471ecb21b472190a9****"},
		{"transcode", "vod-transcode-complete.json", "43q9fjsh73f****"},
		{"editing", "vod-produce-media-complete.json", "1234343b689*****a5422dfe1e472a41"},
		{"liverecord", "", ""},
	} {
		body := live
		if c.seed != "" {
			body = withID(t, readSeed(t, c.seed), c.seedID, id)
		}
		h, err := signedFor(s, c.fn, body)
		if err != nil {
			t.Fatal(err)
		}
		r := mustPostHTTP(t, s, c.fn, body, h)
		if b := mustHTTPBody(t, r); r.Status != http.StatusOK || b.Outcome != pipeline.Applied || r.RequestID == "" {
			t.Fatalf("%s: %d %+v (request %q)", c.fn, r.Status, b, r.RequestID)
		}
		requests = append(requests, r.RequestID)
	}
	if _, ver, err := s.Reader.Get(ctxT(t), id); err != nil || ver != 4 {
		t.Fatalf("state of %s after the four media functions: version %d, %v", id, ver, err)
	}

	now := time.Now().UTC()
	q := url.Values{"DomainName": {domain}, "StartTime": {notify.FormatTime(now.Add(-time.Hour))}, "EndTime": {notify.FormatTime(now.Add(time.Hour))}}
	r, err := do(http.MethodGet, s.URL+"/liverecordquery?"+q.Encode(), nil, http.Header{"Authorization": {"Bearer " + s.QueryToken}})
	if err != nil || r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"record_started"`) {
		t.Fatalf("liverecordquery: %v %+v", err, r)
	}

	r = mustInvoke(t, s, "sweep", timerEvent)
	var rep struct{ Media struct{ IDs int } }
	if json.Unmarshal(r.Body, &rep) != nil || rep.Media.IDs != 1 {
		t.Fatalf("sweep: %d %s", r.Status, r.Body)
	}

	out := waitLog(t, lb, defaultLogWait, "the delivery lines", func(out string) bool {
		for _, id := range requests {
			if len(deliveryLines(out, id)) != 1 {
				return false
			}
		}
		return true
	})
	if found := leaks(out, secretsToHide()); len(found) > 0 {
		t.Errorf("the binaries' output contains secrets: %s", strings.Join(found, "; "))
	}

	// A binary that cannot configure itself says why and exits.
	_, err = localstack.Start(ctx, localstack.Options{Root: root, Addr: "127.0.0.1:0", OSSAddr: "127.0.0.1:0",
		Functions: []string{"media"}, Env: []string{"OSS_BUCKET="}, BinCache: bins})
	if err == nil || !strings.Contains(err.Error(), "exited before polling") || !strings.Contains(err.Error(), `"msg":"start-up failed"`) {
		t.Fatalf("start with no bucket configured: %v", err)
	}
}
