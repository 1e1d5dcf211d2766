package ossx

import (
	"context"
	"time"
)

// Driver is the storage a Bucket runs on, in the manner of go-cloud's
// blob/driver: only the operations the product uses, each one request,
// never retried. A Driver reports a missing object with an error wrapping
// ErrNotFound, a taken key of a create-only write with ErrExists, and
// failures that repeating cannot fix with a permanent apierr error; every
// other error is taken as transient. Implementations must be safe for
// concurrent use. Package drivertest checks them against one suite.
type Driver interface {
	// Put writes body at key, creating or (unless o.ForbidOverwrite)
	// replacing the object. o.ContentType is never empty.
	Put(ctx context.Context, key string, body []byte, o PutOptions) error
	// Get reads a whole object.
	Get(ctx context.Context, key string) ([]byte, ObjectInfo, error)
	// Head reads an object's attributes.
	Head(ctx context.Context, key string) (ObjectInfo, error)
	// List returns one page of keys in byte order; o.MaxKeys is 1..1000.
	List(ctx context.Context, o ListOptions) (ListPage, error)
	// Delete removes 1..1000 keys; absent keys are not an error.
	Delete(ctx context.Context, keys []string) error
	// Versioning returns the bucket's versioning status: "" when
	// versioning was never enabled, otherwise "Enabled" or "Suspended".
	Versioning(ctx context.Context) (string, error)
}

// PutOptions qualify a PutObject.
type PutOptions struct {
	// ForbidOverwrite makes the write create-only (x-oss-forbid-overwrite).
	ForbidOverwrite bool
	// Meta is stored as x-oss-meta-* headers. Keys are lower-cased by OSS.
	Meta map[string]string
	// ContentType defaults to application/json.
	ContentType string
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key  string
	ETag string
	Size int64
	// LastModified has a resolution of one second, as OSS's.
	LastModified time.Time
	// ContentType and Meta are set by Get and Head, not by List.
	ContentType string
	// Meta holds the x-oss-meta-* values, keyed by lower-case name without
	// the prefix.
	Meta map[string]string
}

// ListOptions select a page of a listing.
type ListOptions struct {
	Prefix, ContinuationToken, StartAfter string
	// Delimiter, when set, rolls keys that contain it after Prefix up into
	// CommonPrefixes.
	Delimiter string
	// MaxKeys is 1..1000 (keys and common prefixes); 0 means 1000.
	MaxKeys int
}

// ListPage is one page of ListObjectsV2.
type ListPage struct {
	Objects        []ObjectInfo
	CommonPrefixes []string
	// NextToken is set when more results follow.
	NextToken string
}
