// Package ossx provides the project's portable OSS bucket: a Bucket that
// sits on a small Driver (the OSS SDK one from New, or the in-memory one of
// package memstore) and
//
//   - retries idempotent requests (GET, HEAD, LIST, DELETE) with jittered
//     backoff bounded by the context's deadline (the SDK retries nothing);
//   - makes create-only writes with a writer id and settles lost answers
//     (Create, the one write primitive of the project);
//   - counts requests by operation, both globally and per context (see
//     WithCounter), so every delivery can log the OSS requests it made;
//   - refuses buckets on which versioning was ever enabled
//     (CheckUnversioned).
//
// Errors wrap ErrNotFound or ErrExists, or are apierr errors, so callers
// decide with errors.Is / apierr.IsPermanent. PutObject is NOT retried:
// whether a write may be repeated is Create's decision.
package ossx

import (
	"context"
	"errors"
	"fmt"

	"mediastate/shared/apierr"
	"mediastate/shared/retry"
)

// Sentinel errors for the OSS outcomes callers act on.
var (
	// ErrNotFound: the object (NoSuchKey) does not exist.
	ErrNotFound = errors.New("ossx: object not found")
	// ErrExists: a create-only write found the key taken (409 FileAlreadyExists).
	ErrExists = errors.New("ossx: object already exists")
)

// maxKeys is the most keys one List or Delete request carries.
const maxKeys = 1000

// Bucket is a handle on one bucket. It is safe for concurrent use.
type Bucket struct {
	d     Driver
	name  string
	retry retry.Policy
	total *Counter
}

// NewBucket returns a Bucket named name on d; a zero p means retry.Default.
func NewBucket(d Driver, name string, p retry.Policy) *Bucket {
	if p == (retry.Policy{}) {
		p = retry.Default
	}
	return &Bucket{d: d, name: name, retry: p, total: NewCounter()}
}

// Name returns the bucket name.
func (b *Bucket) Name() string { return b.name }

// Totals returns the process-wide request counter.
func (b *Bucket) Totals() *Counter { return b.total }

// PutObject writes body at key once, without retrying. With
// ForbidOverwrite it returns ErrExists when the key is taken.
func (b *Bucket) PutObject(ctx context.Context, key string, body []byte, o PutOptions) error {
	if o.ContentType == "" {
		o.ContentType = "application/json"
	}
	b.count(ctx, OpPut)
	return b.d.Put(ctx, key, body, o)
}

// do runs one idempotent request as op until it succeeds, fails for good
// or the policy gives up.
func (b *Bucket) do(ctx context.Context, op Op, f func() error) error {
	return retry.Do(ctx, b.retry, func(int) (bool, error) {
		b.count(ctx, op)
		err := f()
		return err != nil && !apierr.IsPermanent(err) && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrExists), err
	})
}

// GetObject reads a whole object, retrying transient failures.
func (b *Bucket) GetObject(ctx context.Context, key string) (body []byte, info ObjectInfo, err error) {
	err = b.do(ctx, OpGet, func() (err error) {
		body, info, err = b.d.Get(ctx, key)
		return err
	})
	return body, info, err
}

// HeadObject reads an object's metadata, retrying transient failures.
func (b *Bucket) HeadObject(ctx context.Context, key string) (info ObjectInfo, err error) {
	err = b.do(ctx, OpHead, func() (err error) {
		info, err = b.d.Head(ctx, key)
		return err
	})
	return info, err
}

// List returns one page of ListObjectsV2, retrying transient failures.
func (b *Bucket) List(ctx context.Context, o ListOptions) (page ListPage, err error) {
	if o.MaxKeys <= 0 || o.MaxKeys > maxKeys {
		o.MaxKeys = maxKeys
	}
	err = b.do(ctx, OpList, func() (err error) {
		page, err = b.d.List(ctx, o)
		return err
	})
	return page, err
}

// Delete removes keys (absent keys are not an error), 1000 per request,
// retrying transient failures.
func (b *Bucket) Delete(ctx context.Context, keys ...string) error {
	for len(keys) > 0 {
		batch := keys[:min(len(keys), maxKeys)]
		keys = keys[len(batch):]
		op := OpDeleteMulti
		if len(batch) == 1 {
			op = OpDelete
		}
		if err := b.do(ctx, op, func() error { return b.d.Delete(ctx, batch) }); err != nil {
			return err
		}
	}
	return nil
}

// Versioning returns the bucket's versioning status: "" when versioning was
// never enabled, otherwise "Enabled" or "Suspended".
func (b *Bucket) Versioning(ctx context.Context) (status string, err error) {
	err = b.do(ctx, OpVersioning, func() (err error) {
		status, err = b.d.Versioning(ctx)
		return err
	})
	return status, err
}

// CheckUnversioned refuses a bucket on which versioning is or was enabled:
// OSS ignores x-oss-forbid-overwrite there, so create-only writes, and with
// them every ordering guarantee of this project, would silently fail.
func (b *Bucket) CheckUnversioned(ctx context.Context) error {
	status, err := b.Versioning(ctx)
	if err != nil {
		return fmt.Errorf("check versioning of bucket %q: %w", b.name, err)
	}
	if status != "" {
		return apierr.New(apierr.InvalidConfig,
			"bucket %q has versioning %s: OSS ignores x-oss-forbid-overwrite on versioned buckets, so state updates cannot be ordered safely; use a bucket on which versioning was never enabled", b.name, status)
	}
	return nil
}
