package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	ossv2 "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"

	"mediastate/shared/media"
	"mediastate/shared/ossx"
	"mediastate/shared/pipeline"
	"mediastate/shared/signature"
	"mediastate/shared/snapshot"
	"mediastate/shared/state"
	"mediastate/shared/statestore"
	tt "mediastate/shared/trigger/triggertest"
	"mediastate/test/localstack"
)

// TestSecondClientSDKv2 reads state through an OSS client independent of
// the one the functions use, the Go SDK v2, with signature V4 (region from
// the banner) and V1, path-style, against the local stack's embedded
// server: what a downstream reader does, as the README tells it.
func TestSecondClientSDKv2(t *testing.T) {
	t.Parallel()
	id := newID()
	body := withID(t, readSeed(t, "ims-file-upload-complete.json"), "c321b3a0041a71eda1590674a2ce****", id)
	if res, err := bareShape("bare", false).send(stk, "upload", [][]byte{body}); err != nil || res[0].Outcome != pipeline.Applied {
		t.Fatalf("apply: %v %+v", err, res)
	}
	want := marshalState(t, fold(t, body))
	if stk.OSSRegion == "" || !strings.Contains(stk.Banner(), stk.OSSRegion) {
		t.Fatalf("the banner does not give the V4 region %q", stk.OSSRegion)
	}

	for _, sig := range []struct {
		name    string
		version ossv2.SignatureVersionType
	}{{"V4", ossv2.SignatureVersionV4}, {"V1", ossv2.SignatureVersionV1}} {
		t.Run(sig.name, func(t *testing.T) {
			cfg := ossv2.LoadDefaultConfig().
				WithCredentialsProvider(credentials.NewStaticCredentialsProvider(localstack.LocalAccessKeyID, localstack.LocalAccessKeySecret)).
				WithRegion(stk.OSSRegion).WithEndpoint(stk.OSSEndpoint).WithUsePathStyle(true).
				WithSignatureVersion(sig.version).WithRetryMaxAttempts(1)
			c := ossv2.NewClient(cfg)
			ctx := ctxT(t)

			// The newest version: LIST max-keys 1 under the media's prefix.
			ls, err := c.ListObjectsV2(ctx, &ossv2.ListObjectsV2Request{Bucket: ossv2.Ptr(stk.Bucket),
				Prefix: ossv2.Ptr(media.KeyPrefix(stk.Prefix) + id + "/"), MaxKeys: 1})
			if err != nil {
				t.Fatalf("ListObjectsV2: %v", err)
			}
			if len(ls.Contents) != 1 {
				t.Fatalf("ListObjectsV2 found %d objects", len(ls.Contents))
			}
			got, err := c.GetObject(ctx, &ossv2.GetObjectRequest{Bucket: ossv2.Ptr(stk.Bucket), Key: ls.Contents[0].Key})
			if err != nil {
				t.Fatalf("GetObject: %v", err)
			}
			b, err := io.ReadAll(got.Body)
			got.Body.Close()
			if err != nil || !bytes.Equal(b, want) {
				t.Fatalf("state read with SDK v2: %v\n got %s\nwant %s", err, b, want)
			}
			if got.Metadata["seq"] != "1" {
				t.Errorf("x-oss-meta-seq is %q, want 1", got.Metadata["seq"])
			}
			// A wrong secret must be refused: the server verified the signature.
			bad := ossv2.NewClient(ossv2.LoadDefaultConfig().
				WithCredentialsProvider(credentials.NewStaticCredentialsProvider(localstack.LocalAccessKeyID, "wrong")).
				WithRegion(stk.OSSRegion).WithEndpoint(stk.OSSEndpoint).WithUsePathStyle(true).
				WithSignatureVersion(sig.version).WithRetryMaxAttempts(1))
			if _, err := bad.GetObject(ctx, &ossv2.GetObjectRequest{Bucket: ossv2.Ptr(stk.Bucket), Key: ls.Contents[0].Key}); err == nil ||
				!strings.Contains(err.Error(), "SignatureDoesNotMatch") {
				t.Errorf("GetObject with a wrong secret: %v, want SignatureDoesNotMatch", err)
			}
			// The snapshot prefix lists with the same client (empty or not).
			if _, err := c.ListObjectsV2(ctx, &ossv2.ListObjectsV2Request{Bucket: ossv2.Ptr(stk.Bucket),
				Prefix: ossv2.Ptr(snapshot.KeyPrefix(stk.Prefix)), MaxKeys: 1}); err != nil {
				t.Errorf("ListObjectsV2 of the snapshots: %v", err)
			}
		})
	}
}

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

// timerEvent is the payload of an FC timer trigger.
var timerEvent = tt.TimerEvent("sweep-timer", time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC))

// TestVersionedBucketRefused runs functions on a bucket whose versioning is
// enabled, where OSS ignores x-oss-forbid-overwrite: they must refuse to
// process anything, with an error that says why, and write nothing.
func TestVersionedBucketRefused(t *testing.T) {
	t.Parallel()
	s, _ := startStack(t, "media", "sweep")
	if err := s.OSS.SetVersioning(localstack.LocalBucket, "Enabled"); err != nil {
		t.Fatal(err)
	}
	id := newID()
	body := vodUpload(id)

	e := mustFCError(t, mustInvoke(t, s, "media", body))
	if !strings.Contains(e.Message, "versioning") {
		t.Fatalf("invocation error %q does not mention versioning", e.Message)
	}
	r := mustPostHTTP(t, s, "media", body, signedHeaders(s, "media", signature.VOD, localstack.LocalVODKey))
	// Not ready is never the delivery's fault: 503, so the sender retries
	// once the bucket is fixed; nothing is dead-lettered. The answer has the
	// code only: the details are for the log, not for anonymous callers.
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || !strings.Contains(string(r.Body), `"code":"InvalidConfig"`) || strings.Contains(string(r.Body), "versioning") {
		t.Fatalf("HTTP delivery on a versioned bucket: %d %v %s", r.Status, r.Header, r.Body)
	}
	e = mustFCError(t, mustInvoke(t, s, "sweep", timerEvent))
	if !strings.Contains(e.Message, "versioning Enabled") {
		t.Fatalf("sweep error %q does not mention versioning Enabled", e.Message)
	}
	if err := s.OSS.SetVersioning(localstack.LocalBucket, "Suspended"); err != nil {
		t.Fatal(err)
	}
	e = mustFCError(t, mustInvoke(t, s, "sweep", timerEvent))
	if !strings.Contains(e.Message, "versioning Suspended") {
		t.Fatalf("sweep error %q does not mention versioning Suspended", e.Message)
	}
	keys := listKeys(t, s, "")
	if len(keys) != 0 {
		t.Fatalf("objects written to a versioned bucket: %v", keys)
	}
}

// sweepSnapshot runs the sweep function and returns the snapshot part of
// its report.
func sweepSnapshot(t *testing.T, s *localstack.Stack) snapshot.Meta {
	t.Helper()
	r := mustInvoke(t, s, "sweep", timerEvent)
	if r.Header.Get("X-Fc-Error-Type") != "" {
		t.Fatalf("sweep failed: %s", r.Body)
	}
	var rep struct {
		Snapshot snapshot.Meta `json:"snapshot"`
	}
	if err := json.Unmarshal(r.Body, &rep); err != nil || rep.Snapshot.Key == "" {
		t.Fatalf("sweep report has no snapshot (%v): %s", err, r.Body)
	}
	return rep.Snapshot
}

// readSnapshot reads the newest snapshot as a bulk reader does, with one
// LIST and one GET (counted), and returns its lines by MediaId.
func readSnapshot(t *testing.T, s *localstack.Stack) (snapshot.Meta, map[string]snapshot.Line, []string) {
	t.Helper()
	c := ossx.NewCounter()
	ctx := ossx.WithCounter(ctxT(t), c)
	key, err := snapshot.Latest(ctx, s.Client, s.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]snapshot.Line{}
	var order []string
	meta, err := snapshot.Read(ctx, s.Client, key, func(l snapshot.Line) error {
		if _, dup := lines[l.MediaID]; dup {
			t.Errorf("snapshot has %s twice", l.MediaID)
		}
		lines[l.MediaID] = l
		order = append(order, l.MediaID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Get(ossx.OpList) != 1 || c.Get(ossx.OpGet) != 1 || c.Total() != 2 {
		t.Errorf("reading the snapshot took %s, want 1 LIST + 1 GET", c)
	}
	return meta, lines, order
}

// compareWithStates checks a snapshot against the per-media states read one
// by one: the same set of MediaIds, each line the newest version's number
// and document byte for byte; and its metadata against the lines.
func compareWithStates(t *testing.T, s *localstack.Stack, meta snapshot.Meta, lines map[string]snapshot.Line, order []string) {
	t.Helper()
	store, err := media.NewStore(s.Client, s.Prefix, statestore.Options{CacheSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var maxVersion uint64
	err = store.EachNewest(ctxT(t), func(v statestore.Version) error {
		ids = append(ids, v.ID)
		l, ok := lines[v.ID]
		if !ok {
			t.Errorf("snapshot lacks %s", v.ID)
			return nil
		}
		stored := getObject(t, s, v.Key)
		if l.Version != v.Seq || !bytes.Equal(l.State, stored) {
			t.Errorf("snapshot line of %s: version %d %s\nthe state object: version %d %s", v.ID, l.Version, l.State, v.Seq, stored)
		}
		m, err := state.Unmarshal(l.State)
		if err != nil || m.MediaID != v.ID {
			t.Errorf("snapshot line of %s is not its state document: %v", v.ID, err)
		}
		maxVersion = max(maxVersion, v.Seq)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, order) {
		t.Errorf("snapshot order %v, want the listing order %v", order, ids)
	}
	if meta.Count != len(ids) || meta.MaxVersion != maxVersion || meta.TakenAt.IsZero() || meta.NewestWrite.IsZero() {
		t.Errorf("snapshot metadata %+v: want count %d, max version %d, times set", meta, len(ids), maxVersion)
	}
}

// TestSnapshot: after a sweep, one object holds every current media state;
// a second sweep reuses the lines of unchanged media, reads only what
// changed, lists first, and prunes old snapshots.
func TestSnapshot(t *testing.T) {
	t.Parallel()
	s, _ := startStack(t, "media", "sweep")
	seedID := map[string]string{
		"ims-register-media-complete.json": "71151b80f2d471ecb21b472190a9****",
		"ims-create-audit-complete.json":   "71151b80f2d471ecb21b472190a9****",
		"ims-file-upload-complete.json":    "c321b3a0041a71eda1590674a2ce****",
	}
	apply := func(id string, seeds ...string) {
		t.Helper()
		for _, name := range seeds {
			b := withID(t, readSeed(t, name), seedID[name], id)
			if res, err := bareShape("bare", false).send(s, "media", [][]byte{b}); err != nil || res[0].Outcome != pipeline.Applied {
				t.Fatalf("apply %s to %s: %v %+v", name, id, err, res)
			}
		}
	}
	// Ids whose key segments sort differently from the ids themselves
	// ("a-b/" lists before "a/"), to check the merge order.
	base := newID()
	ids := []string{base, base + "-b", base + "0", newID(), newID()}
	for i, id := range ids {
		apply(id, []string{"ims-register-media-complete.json", "ims-create-audit-complete.json", "ims-file-upload-complete.json"}[:1+i%3]...)
	}

	first := sweepSnapshot(t, s)
	if first.Count != len(ids) || first.Read != len(ids) || first.Reused != 0 {
		t.Errorf("first snapshot %+v: want %d states, all read", first, len(ids))
	}
	meta, lines, order := readSnapshot(t, s)
	if meta.Key != first.Key {
		t.Errorf("newest snapshot listed is %s, the sweep wrote %s", meta.Key, first.Key)
	}
	compareWithStates(t, s, meta, lines, order)

	// One media changes: the next snapshot reads it alone.
	apply(ids[0], "ims-file-upload-complete.json")
	second := sweepSnapshot(t, s)
	if second.Count != len(ids) || second.Read != 1 || second.Reused != len(ids)-1 {
		t.Errorf("second snapshot %+v: want %d states, 1 read and the rest reused", second, len(ids))
	}
	meta, lines, order = readSnapshot(t, s)
	if meta.Key != second.Key || meta.Key >= first.Key {
		t.Errorf("newest snapshot listed is %s; the second sweep wrote %s, which must list before the first, %s", meta.Key, second.Key, first.Key)
	}
	compareWithStates(t, s, meta, lines, order)
	if lines[ids[0]].Version != 2 {
		t.Errorf("changed media is at version %d in the snapshot, want 2", lines[ids[0]].Version)
	}

	// Pruning keeps the newest three.
	for range 3 {
		sweepSnapshot(t, s)
	}
	page, err := s.Client.List(context.Background(), ossx.ListOptions{Prefix: snapshot.KeyPrefix(s.Prefix)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Objects) != snapshot.DefaultKeep {
		t.Errorf("%d snapshots kept, want %d", len(page.Objects), snapshot.DefaultKeep)
	}
}
