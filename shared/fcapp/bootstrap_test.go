package fcapp

import (
	"context"
	"strings"
	"testing"

	"mediastate/shared/apierr"
	"mediastate/test/osstest"
)

// TestReadiness: the one bucket check of the functions that write. A fit
// bucket is asked about once per process; after a failure the next caller
// asks again, so the error says what OSS says now.
func TestReadiness(t *testing.T) {
	ctx := context.Background()
	env := osstest.Start(t)
	task, err := NewTask("sweep", liveEnv(env, nil), quiet, func(context.Context, *Env) (any, error) { return "done", nil })
	if err != nil {
		t.Fatal(err)
	}
	env.Server.ResetStats()
	for i := 0; i < 3; i++ {
		if out, err := task.Handle(ctx, nil); err != nil || out != "done" {
			t.Fatalf("run %d: %v %v", i, out, err)
		}
	}
	if n := env.Server.Stats().Requests["GetBucketVersioning"]; n != 1 {
		t.Fatalf("%d bucket checks for three runs, want 1", n)
	}

	venv := osstest.Start(t)
	if err := venv.Server.SetVersioning(osstest.Bucket, "Enabled"); err != nil {
		t.Fatal(err)
	}
	task, err = NewTask("sweep", liveEnv(venv, nil), quiet, func(context.Context, *Env) (any, error) {
		t.Fatal("ran on a versioned bucket")
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{"Enabled", "Suspended"} {
		if err := venv.Server.SetVersioning(osstest.Bucket, status); err != nil {
			t.Fatal(err)
		}
		if _, err := task.Handle(ctx, nil); !apierr.Is(err, apierr.InvalidConfig) || !strings.Contains(err.Error(), "versioning "+status) {
			t.Fatalf("versioning %s: %v", status, err)
		}
	}
}
