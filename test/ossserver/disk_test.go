package ossserver_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"mediastate/test/ossserver"
)

func TestDiskModeSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	opts := ossserver.Options{
		Credentials: []ossserver.Credential{{AccessKeyID: testAK, AccessKeySecret: testSK}},
		Buckets:     []string{bucketName},
		Dir:         dir,
		Logf:        t.Logf,
	}
	srv, err := ossserver.Start(opts, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := bucket(t, srv)
	mustPut(t, b, "normal/é x.json", `{"a":1}`, oss.Meta("media-id", "m1"), oss.ContentType("application/json"))
	mustPut(t, b, "replaced", "old")
	mustPut(t, b, "replaced", "new")
	mustPut(t, b, "deleted", "gone")
	if err := b.DeleteObject("deleted"); err != nil {
		t.Fatal(err)
	}
	next, err := b.AppendObject("log", strings.NewReader("line1\n"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetVersioning(bucketName, "Suspended"); err != nil {
		t.Fatal(err)
	}
	before, err := b.GetObjectDetailedMeta("normal/é x.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	// Simulate a crash in the middle of an append: bytes on disk that no
	// metadata accounts for must be dropped on load.
	bodies, _ := filepath.Glob(filepath.Join(dir, "buckets", bucketName, "data", "*"))
	if len(bodies) != 3 {
		t.Fatalf("%d body files after restart, want 3 (replaced and deleted bodies removed): %v", len(bodies), bodies)
	}
	for _, p := range bodies {
		if data, _ := os.ReadFile(p); string(data) == "line1\n" {
			if err := os.WriteFile(p, []byte("line1\nuncommitted"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	srv2, err := ossserver.Start(opts, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv2.Close() })
	b2 := bucket(t, srv2)
	wantContent(t, b2, "normal/é x.json", `{"a":1}`)
	wantContent(t, b2, "replaced", "new")
	wantContent(t, b2, "log", "line1\n")
	_, err = get(b2, "deleted")
	wantCode(t, "GetObject of a deleted key after restart", err, http.StatusNotFound, "NoSuchKey")

	after, err := b2.GetObjectDetailedMeta("normal/é x.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"ETag", "Last-Modified", "Content-Type", "X-Oss-Meta-Media-Id", "X-Oss-Hash-Crc64ecma", "X-Oss-Object-Type"} {
		if before.Get(h) != after.Get(h) || after.Get(h) == "" {
			t.Errorf("%s before restart %q, after %q", h, before.Get(h), after.Get(h))
		}
	}
	if v, _ := srv2.Versioning(bucketName); v != "Suspended" {
		t.Errorf("versioning after restart = %q, want Suspended", v)
	}
	if err := srv2.SetVersioning(bucketName, ""); err != nil {
		t.Fatal(err)
	}

	// Appends continue at the persisted length; stale positions still fail.
	if _, err := b2.AppendObject("log", strings.NewReader("x"), 0); err == nil {
		t.Fatal("AppendObject at a stale position succeeded after restart")
	}
	if n, err := b2.AppendObject("log", strings.NewReader("line2\n"), next); err != nil || n != 12 {
		t.Fatalf("AppendObject after restart = %d, %v", n, err)
	}
	wantContent(t, b2, "log", "line1\nline2\n")
	wantCode(t, "create-only overwrite after restart", put(b2, "replaced", "x", ossForbid()),
		http.StatusConflict, "FileAlreadyExists")

	res, err := b2.ListObjectsV2()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range res.Objects {
		keys = append(keys, o.Key)
	}
	if strings.Join(keys, ",") != "log,normal/é x.json,replaced" {
		t.Errorf("keys after restart: %q", keys)
	}
}

func TestDiskModeConcurrentCreateOnly(t *testing.T) {
	srv := start(t, func(o *ossserver.Options) { o.Dir = t.TempDir() })
	raceCreateOnly(t, bucket(t, srv), 32)
}
