package ossserver_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"mediastate/test/ossserver"
)

func TestFault503IsServiceErrorAndNotApplied(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	if err := srv.SetFaults(ossserver.Faults{Error503Rate: 1}); err != nil {
		t.Fatal(err)
	}
	err := put(b, "k503", "body")
	wantCode(t, "PutObject under 503 faults", err, http.StatusServiceUnavailable, "ServiceUnavailable")
	_, err = b.GetObjectDetailedMeta("k503")
	wantCode(t, "HeadObject under 503 faults (x-oss-err)", err, http.StatusServiceUnavailable, "ServiceUnavailable")

	if err := srv.SetFaults(ossserver.Faults{Error500Rate: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = b.AppendObject("k500", strings.NewReader("x"), 0)
	wantCode(t, "AppendObject under 500 faults", err, http.StatusInternalServerError, "InternalError")

	if err := srv.SetFaults(ossserver.Faults{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"k503", "k500"} {
		_, err = get(b, k)
		wantCode(t, "GetObject of a key whose write failed", err, http.StatusNotFound, "NoSuchKey")
	}
	st := srv.Stats()
	if st.Faults.Error503 != 2 || st.Faults.Error500 != 1 {
		t.Errorf("fault counts %+v, want 2 error503 and 1 error500", st.Faults)
	}
	if st.Errors["ServiceUnavailable"] != 2 || st.Errors["InternalError"] != 1 {
		t.Errorf("error counts %v", st.Errors)
	}
}

func TestFaultResetIsTransportErrorAndNotApplied(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	if err := srv.SetFaults(ossserver.Faults{ResetRate: 1}); err != nil {
		t.Fatal(err)
	}
	err := put(b, "reset", "body", ossForbid())
	wantTransportError(t, "PutObject under reset faults", err)
	_, err = b.AppendObject("reset-append", strings.NewReader("x"), 0)
	wantTransportError(t, "AppendObject under reset faults", err)

	if err := srv.SetFaults(ossserver.Faults{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"reset", "reset-append"} {
		_, err = get(b, k)
		wantCode(t, "GetObject after a reset write", err, http.StatusNotFound, "NoSuchKey")
	}
	if got := srv.Stats().Faults.Resets; got != 2 {
		t.Errorf("resets = %d, want 2", got)
	}
}

func TestFaultLostResponseAppliesTheWrite(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	if err := srv.SetFaults(ossserver.Faults{LostResponseRate: 1, Ops: []string{"PutObject", "AppendObject"}}); err != nil {
		t.Fatal(err)
	}
	err := put(b, "lost", "applied", ossForbid())
	wantTransportError(t, "PutObject with a lost response", err)
	_, err = b.AppendObject("lost-append", strings.NewReader("abc"), 0)
	wantTransportError(t, "AppendObject with a lost response", err)

	// Reads are not in Ops, so they see the applied writes.
	wantContent(t, b, "lost", "applied")
	wantContent(t, b, "lost-append", "abc")
	// The retry of a create-only write that was applied meets its own
	// write: this is what callers must be prepared for.
	if err := srv.SetFaults(ossserver.Faults{}); err != nil {
		t.Fatal(err)
	}
	err = put(b, "lost", "retry", ossForbid())
	wantCode(t, "retried create-only PutObject", err, http.StatusConflict, "FileAlreadyExists")
	_, err = b.AppendObject("lost-append", strings.NewReader("abc"), 0)
	wantCode(t, "retried AppendObject", err, http.StatusConflict, "PositionNotEqualToLength")

	st := srv.Stats()
	if st.Faults.LostResponses != 2 {
		t.Errorf("lost responses = %d, want 2", st.Faults.LostResponses)
	}
	if st.Requests["PutObject"] != 2 || st.Requests["GetObject"] != 2 || st.Requests["AppendObject"] != 2 {
		t.Errorf("request counts %v", st.Requests)
	}
}

func TestFaultOpsFilterAndLatency(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	mustPut(t, b, "k", "v")
	const latency = 60 * time.Millisecond
	if err := srv.SetFaults(ossserver.Faults{Latency: latency, Error503Rate: 1, Ops: []string{"GetObject"}}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	_, err := get(b, "k")
	if elapsed := time.Since(t0); elapsed < latency {
		t.Errorf("GetObject took %v, want at least the injected %v", elapsed, latency)
	}
	wantCode(t, "GetObject (selected op)", err, http.StatusServiceUnavailable, "ServiceUnavailable")
	if _, err := b.GetObjectDetailedMeta("k"); err != nil {
		t.Fatalf("HeadObject (not selected) failed: %v", err)
	}
	mustPut(t, b, "k2", "v2")
	if st := srv.Stats(); st.Faults.Delayed != 1 || st.Faults.Error503 != 1 {
		t.Errorf("fault counts %+v, want 1 delayed and 1 error503", st.Faults)
	}
}

func TestFaultRatesAreRandomButSeeded(t *testing.T) {
	run := func() []bool {
		srv := start(t, nil)
		b := bucket(t, srv)
		if err := srv.SetFaults(ossserver.Faults{Error503Rate: 0.5, Seed: 42}); err != nil {
			t.Fatal(err)
		}
		var failed []bool
		for range 40 {
			_, err := b.GetObjectDetailedMeta("absent")
			failed = append(failed, strings.Contains(err.Error(), "503"))
		}
		return failed
	}
	a, c := run(), run()
	n := 0
	for i := range a {
		if a[i] != c[i] {
			t.Fatalf("same seed gave different faults at request %d", i)
		}
		if a[i] {
			n++
		}
	}
	if n < 5 || n > 35 {
		t.Errorf("%d of 40 requests failed with Error503Rate 0.5", n)
	}
}

func TestSetFaultsValidates(t *testing.T) {
	srv := start(t, nil)
	for _, f := range []ossserver.Faults{
		{Error503Rate: 1.5},
		{Error503Rate: -0.1},
		{Error503Rate: 0.6, ResetRate: 0.6},
		{Latency: -time.Second},
		{Ops: []string{"PutObjekt"}},
	} {
		if err := srv.SetFaults(f); err == nil {
			t.Errorf("SetFaults(%+v) accepted", f)
		}
	}
}

func TestFaultsJSON(t *testing.T) {
	in := ossserver.Faults{Latency: 15 * time.Millisecond, Jitter: 5 * time.Millisecond, ResetRate: 0.25, Ops: []string{"PutObject"}, Seed: 7}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"latency":"15ms"`) {
		t.Errorf("JSON %s lacks a duration string", data)
	}
	var out ossserver.Faults
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if out.Latency != in.Latency || out.Jitter != in.Jitter || out.ResetRate != in.ResetRate || out.Seed != 7 ||
		len(out.Ops) != 1 || out.Ops[0] != "PutObject" {
		t.Errorf("round trip: %+v, want %+v", out, in)
	}
	if err := json.Unmarshal([]byte(`{"latency": 1000000}`), &out); err != nil || out.Latency != time.Millisecond {
		t.Errorf("nanosecond latency: %+v, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"resetProbability": 1}`), &out); err == nil {
		t.Error("unknown field accepted")
	}
}
