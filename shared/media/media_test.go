package media

import (
	"context"
	"errors"
	"testing"
	"time"

	"mediastate/shared/callback"
	"mediastate/shared/state"
	"mediastate/shared/statestore"
	"mediastate/test/osstest"
)

func decode(t *testing.T, body string) *callback.Event {
	t.Helper()
	e, err := callback.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestApplierJobStates checks where the events of a URL pull go through
// the real store: a failed pull (JobId only) to the job state alone, where
// a reader finds it; a successful one to the media state, answered applied
// once whatever the copies, and to the job state, which it links to the
// media; and a copy that finds the media state done still completes a job
// state left behind.
func TestApplierJobStates(t *testing.T) {
	env := osstest.Memory(nil)
	b := env.Bucket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	newApplier := func() Applier {
		s, err := NewStore(b, "p/", statestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		j, err := NewJobStore(b, "p/", statestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return Applier{Store: s, Jobs: j}
	}
	a := newApplier()
	r, err := NewReader(b, "p/")
	if err != nil {
		t.Fatal(err)
	}

	failed := decode(t, `{"Status":"fail","EventTime":"2017-03-20T07:49:17Z","EventType":"UploadByURLComplete","ErrorCode":"URLInvalidError","JobId":"job1"}`)
	if res, err := a.Apply(ctx, nil, failed); err != nil || !res.Written {
		t.Fatalf("failed pull: %+v, %v", res, err)
	}
	j, _, err := r.GetJob(ctx, "job1")
	if err != nil || j.JobID != "job1" || j.MediaID != "" || j.Upload.Status != "fail" || j.Upload.ErrorCode != "URLInvalidError" {
		t.Fatalf("job state %+v, %v", j, err)
	}
	if _, _, err := r.Get(ctx, "job1"); !errors.Is(err, statestore.ErrNotFound) {
		t.Fatalf("a failed pull wrote a media state: %v", err)
	}

	ok := decode(t, `{"Status":"success","EventTime":"2017-03-20T07:50:17Z","EventType":"UploadByURLComplete","VideoId":"v1","JobId":"job1"}`)
	if res, err := a.Apply(ctx, nil, ok); err != nil || !res.Written || res.Version != 1 {
		t.Fatalf("successful pull: %+v, %v", res, err)
	}
	if res, err := newApplier().Apply(ctx, nil, ok); err != nil || res.Written {
		t.Fatalf("second copy on another instance: %+v, %v (want a duplicate)", res, err)
	}
	j, _, err = r.GetJob(ctx, "job1")
	if err != nil || j.MediaID != "v1" || len(j.Events) != 2 || j.Upload.Status != "success" {
		t.Fatalf("linked job state %+v, %v", j, err)
	}
	m, _, err := r.Get(ctx, "v1")
	if err != nil || m.Upload.JobID != "job1" || len(m.Events) != 1 {
		t.Fatalf("media state %+v, %v", m, err)
	}

	// A media state written without its job state (a crash between the two
	// writes): the next copy is a duplicate for the media and completes the
	// job state.
	ok2 := decode(t, `{"Status":"success","EventTime":"2017-03-20T07:50:17Z","EventType":"UploadByURLComplete","VideoId":"v2","JobId":"job2"}`)
	if _, err := a.Store.Update(ctx, "v2", func(cur *state.Media) (*state.Media, bool, error) { return state.Apply(cur, ok2) }, statestore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if res, err := a.Apply(ctx, nil, ok2); err != nil || res.Written {
		t.Fatalf("copy after a crash: %+v, %v (want a duplicate)", res, err)
	}
	if j, _, err := r.GetJob(ctx, "job2"); err != nil || j.MediaID != "v2" {
		t.Fatalf("job state not completed: %+v, %v", j, err)
	}
}
