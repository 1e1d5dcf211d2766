package ossserver_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

func TestVersionedBucketIgnoresForbidOverwrite(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	mustPut(t, b, "k", "v1", ossForbid())
	wantCode(t, "unversioned create-only overwrite", put(b, "k", "v2", ossForbid()), http.StatusConflict, "FileAlreadyExists")

	for _, status := range []string{"Enabled", "Suspended"} {
		if err := srv.SetVersioning(bucketName, status); err != nil {
			t.Fatal(err)
		}
		var h http.Header
		if err := put(b, "k", "v-"+status, ossForbid(), oss.GetResponseHeader(&h)); err != nil {
			t.Fatalf("create-only overwrite with versioning %s: %v", status, err)
		}
		wantContent(t, b, "k", "v-"+status)
		vid := h.Get("X-Oss-Version-Id")
		if status == "Enabled" && (vid == "" || vid == "null") || status == "Suspended" && vid != "null" {
			t.Errorf("versioning %s: x-oss-version-id %q", status, vid)
		}
		// CopyObject ignores it as well.
		if _, err := b.CopyObject("k", "k-copy", ossForbid()); err != nil {
			t.Fatalf("first CopyObject: %v", err)
		}
		if _, err := b.CopyObject("k", "k-copy", ossForbid()); err != nil {
			t.Fatalf("create-only CopyObject overwrite with versioning %s: %v", status, err)
		}
	}

	if err := srv.SetVersioning(bucketName, ""); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "create-only overwrite after reset", put(b, "k", "v3", ossForbid()), http.StatusConflict, "FileAlreadyExists")
	if err := srv.SetVersioning("no-such-bucket", "Enabled"); err == nil {
		t.Error("SetVersioning of an unknown bucket succeeded")
	}
	if err := srv.SetVersioning(bucketName, "enabled"); err == nil {
		t.Error("SetVersioning with a lower-case status succeeded")
	}
}

func TestPutBucketVersioningOverTheAPI(t *testing.T) {
	srv := start(t, nil)
	b := bucket(t, srv)
	c := b.Client
	v, err := c.GetBucketVersioning(bucketName)
	if err != nil || v.Status != "" {
		t.Fatalf("GetBucketVersioning of a new bucket = %q, %v", v.Status, err)
	}
	for _, status := range []string{"Enabled", "Suspended", "Enabled"} {
		if err := c.SetBucketVersioning(bucketName, oss.VersioningConfig{Status: status}); err != nil {
			t.Fatalf("SetBucketVersioning %s: %v", status, err)
		}
		if v, err := c.GetBucketVersioning(bucketName); err != nil || v.Status != status {
			t.Fatalf("GetBucketVersioning = %q, %v; want %s", v.Status, err, status)
		}
		if got, _ := srv.Versioning(bucketName); got != status {
			t.Fatalf("Server.Versioning = %q, want %s", got, status)
		}
	}
	err = c.SetBucketVersioning(bucketName, oss.VersioningConfig{Status: "Off"})
	wantCode(t, "SetBucketVersioning Off", err, http.StatusBadRequest, "MalformedXML")

	// Deletes on a versioned bucket report a delete marker.
	mustPut(t, b, "k", "v")
	var h http.Header
	if err := b.DeleteObject("k", oss.GetResponseHeader(&h)); err != nil {
		t.Fatal(err)
	}
	if h.Get("X-Oss-Delete-Marker") != "true" || h.Get("X-Oss-Version-Id") == "" {
		t.Errorf("DeleteObject headers %v", h)
	}
	// Object versions are not modelled; asking for one is refused.
	mustPut(t, b, "k", "v")
	_, err = get(b, "k", oss.VersionId("CAEQ"))
	wantCode(t, "GetObject of a version", err, http.StatusNotImplemented, "NotImplemented")
	_, err = b.ListObjectVersions()
	wantCode(t, "ListObjectVersions", err, http.StatusNotImplemented, "NotImplemented")

	_, err = c.GetBucketVersioning("no-such-bucket")
	wantCode(t, "GetBucketVersioning of an unknown bucket", err, http.StatusNotFound, "NoSuchBucket")
	if !strings.Contains(srv.Endpoint(), "127.0.0.1") {
		t.Errorf("Endpoint %q", srv.Endpoint())
	}
}
