package e2e

import (
	"bytes"
	"io"
	"strings"
	"testing"

	ossv2 "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"

	"mediastate/shared/media"
	"mediastate/shared/pipeline"
	"mediastate/shared/snapshot"
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
