package e2e

import (
	"net/http"
	"strings"
	"testing"

	"mediastate/shared/signature"
	"mediastate/test/localstack"
)

// timerEvent is the payload of an FC timer trigger.
var timerEvent = []byte(`{"triggerTime":"2024-06-01T08:00:00Z","triggerName":"sweep-timer","payload":"hourly"}`)

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
	keys, err := listKeys(ctxT(t), s.Client, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("objects written to a versioned bucket: %v", keys)
	}
}
