// Package ossx is the project's OSS client: a thin layer over the official
// SDK (github.com/aliyun/aliyun-oss-go-sdk/oss) that
//
//   - maps OSS error codes to sentinel errors (ErrNotFound, ErrExists,
//     ErrPositionMismatch) and everything else that may pass to transient
//     apierr errors, so callers decide with errors.Is / apierr.IsPermanent;
//   - retries idempotent requests (GET, HEAD, LIST, DELETE) with jittered
//     backoff bounded by the context's deadline (the SDK retries nothing);
//   - counts requests by operation, both globally and per context (see
//     WithCounter), so every delivery can log the OSS requests it made;
//   - takes credentials from a Credentials value that FC functions refresh
//     from each invocation's role credentials.
//
// PutObject and AppendObject are NOT retried here: whether a conditional
// write may be repeated is the caller's decision (see package statestore).
package ossx

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"mediastate/shared/apierr"
	"mediastate/shared/retry"
)

// Sentinel errors for the OSS outcomes callers act on.
var (
	// ErrNotFound: the object (NoSuchKey) does not exist.
	ErrNotFound = errors.New("ossx: object not found")
	// ErrExists: a create-only write found the key taken (409 FileAlreadyExists).
	ErrExists = errors.New("ossx: object already exists")
	// ErrPositionMismatch: an append's position was not the object's length
	// (409 PositionNotEqualToLength).
	ErrPositionMismatch = errors.New("ossx: append position not equal to length")
	// ErrPreconditionFailed: a conditional GET's If-Match failed (412).
	ErrPreconditionFailed = errors.New("ossx: precondition failed")
)

// Config says which bucket to use and how to reach it.
type Config struct {
	// Endpoint is the OSS endpoint, e.g. https://oss-cn-shanghai-internal.aliyuncs.com
	// or, for the local test server, http://127.0.0.1:9000.
	Endpoint string
	// Bucket is the bucket name.
	Bucket string
	// Region selects signature V4 when set (e.g. cn-shanghai); V1 otherwise.
	Region string
	// Credentials supplies the access key on every request.
	Credentials *Credentials
	// ConnectTimeout and RequestTimeout bound one HTTP exchange; defaults 3 s and 10 s.
	ConnectTimeout, RequestTimeout time.Duration
	// Retry is the policy for idempotent requests; zero means retry.Default.
	Retry retry.Policy
}

// Bucket is a handle on one OSS bucket. It is safe for concurrent use.
type Bucket struct {
	b      *oss.Bucket
	client *oss.Client
	name   string
	retry  retry.Policy
	total  *Counter
}

// New returns a Bucket for cfg. It makes no request.
func New(cfg Config) (*Bucket, error) {
	if cfg.Endpoint == "" {
		return nil, apierr.New(apierr.InvalidConfig, "OSS endpoint is empty")
	}
	if cfg.Bucket == "" {
		return nil, apierr.New(apierr.InvalidConfig, "OSS bucket name is empty")
	}
	if cfg.Credentials == nil {
		return nil, apierr.New(apierr.InvalidConfig, "OSS credentials are not configured")
	}
	ct, rt := cfg.ConnectTimeout, cfg.RequestTimeout
	if ct <= 0 {
		ct = 3 * time.Second
	}
	if rt <= 0 {
		rt = 10 * time.Second
	}
	opts := []oss.ClientOption{
		oss.SetCredentialsProvider(cfg.Credentials),
		oss.Timeout(int64((ct+time.Second-1)/time.Second), int64((rt+time.Second-1)/time.Second)),
	}
	if cfg.Region != "" {
		opts = append(opts, oss.AuthVersion(oss.AuthV4), oss.Region(cfg.Region))
	}
	client, err := oss.New(cfg.Endpoint, "", "", opts...)
	if err != nil {
		return nil, apierr.Wrap(apierr.InvalidConfig, err, "OSS endpoint %q", cfg.Endpoint)
	}
	b, err := client.Bucket(cfg.Bucket)
	if err != nil {
		return nil, apierr.Wrap(apierr.InvalidConfig, err, "OSS bucket %q", cfg.Bucket)
	}
	p := cfg.Retry
	if p == (retry.Policy{}) {
		p = retry.Default
	}
	return &Bucket{b: b, client: client, name: cfg.Bucket, retry: p, total: NewCounter()}, nil
}

// Name returns the bucket name.
func (b *Bucket) Name() string { return b.name }

// Totals returns the process-wide request counter.
func (b *Bucket) Totals() *Counter { return b.total }

// PutOptions qualify a PutObject.
type PutOptions struct {
	// ForbidOverwrite makes the write create-only (x-oss-forbid-overwrite).
	ForbidOverwrite bool
	// Meta is stored as x-oss-meta-* headers. Keys are lower-cased by OSS.
	Meta map[string]string
	// ContentType defaults to application/json.
	ContentType string
}

// PutObject writes body at key once, without retrying. With
// ForbidOverwrite it returns ErrExists when the key is taken.
func (b *Bucket) PutObject(ctx context.Context, key string, body []byte, o PutOptions) error {
	ct := o.ContentType
	if ct == "" {
		ct = "application/json"
	}
	opts := []oss.Option{oss.WithContext(ctx), oss.ContentType(ct)}
	if o.ForbidOverwrite {
		opts = append(opts, oss.ForbidOverWrite(true))
	}
	for k, v := range o.Meta {
		opts = append(opts, oss.Meta(k, v))
	}
	b.count(ctx, OpPut)
	err := b.b.PutObject(key, bytes.NewReader(body), opts...)
	return b.mapErr(err, "PutObject", key)
}

// AppendObject appends body at position pos, without retrying, and returns
// the next append position. ErrPositionMismatch means another writer moved
// the object on.
func (b *Bucket) AppendObject(ctx context.Context, key string, pos int64, body []byte, o PutOptions) (int64, error) {
	opts := []oss.Option{oss.WithContext(ctx)}
	if o.ContentType != "" {
		opts = append(opts, oss.ContentType(o.ContentType))
	}
	for k, v := range o.Meta {
		opts = append(opts, oss.Meta(k, v))
	}
	b.count(ctx, OpAppend)
	next, err := b.b.AppendObject(key, bytes.NewReader(body), pos, opts...)
	return next, b.mapErr(err, "AppendObject", key)
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key          string
	ETag         string
	Size         int64
	LastModified time.Time
	// Meta holds the x-oss-meta-* values, keyed by lower-case name without
	// the prefix.
	Meta map[string]string
}

// GetObject reads a whole object, retrying transient failures.
func (b *Bucket) GetObject(ctx context.Context, key string) ([]byte, ObjectInfo, error) {
	var body []byte
	var info ObjectInfo
	err := retry.Do(ctx, b.retry, func(int) (bool, error) {
		var h http.Header
		b.count(ctx, OpGet)
		rc, err := b.b.GetObject(key, oss.WithContext(ctx), oss.GetResponseHeader(&h))
		if err == nil {
			body, err = io.ReadAll(rc)
			rc.Close()
			if err != nil {
				err = fmt.Errorf("read body: %w", err)
			}
		}
		if err != nil {
			err = b.mapErr(err, "GetObject", key)
			return !apierr.IsPermanent(err) && !isSentinel(err), err
		}
		info = infoFromHeader(key, h)
		info.Size = int64(len(body))
		return false, nil
	})
	return body, info, err
}

// HeadObject reads an object's metadata, retrying transient failures.
func (b *Bucket) HeadObject(ctx context.Context, key string) (ObjectInfo, error) {
	var info ObjectInfo
	err := retry.Do(ctx, b.retry, func(int) (bool, error) {
		b.count(ctx, OpHead)
		h, err := b.b.GetObjectDetailedMeta(key, oss.WithContext(ctx))
		if err != nil {
			err = b.mapErr(err, "HeadObject", key)
			return !apierr.IsPermanent(err) && !isSentinel(err), err
		}
		info = infoFromHeader(key, h)
		info.Size, _ = strconv.ParseInt(h.Get("Content-Length"), 10, 64)
		return false, nil
	})
	return info, err
}

// ListOptions select a page of a listing.
type ListOptions struct {
	Prefix, Delimiter, ContinuationToken, StartAfter string
	// MaxKeys is 1..1000; 0 means 1000.
	MaxKeys int
}

// ListPage is one page of ListObjectsV2.
type ListPage struct {
	Objects        []ObjectInfo
	CommonPrefixes []string
	// NextToken is set when more results follow.
	NextToken string
}

// List returns one page of ListObjectsV2, retrying transient failures.
func (b *Bucket) List(ctx context.Context, o ListOptions) (ListPage, error) {
	mk := o.MaxKeys
	if mk <= 0 || mk > 1000 {
		mk = 1000
	}
	opts := []oss.Option{oss.WithContext(ctx), oss.MaxKeys(mk)}
	if o.Prefix != "" {
		opts = append(opts, oss.Prefix(o.Prefix))
	}
	if o.Delimiter != "" {
		opts = append(opts, oss.Delimiter(o.Delimiter))
	}
	if o.ContinuationToken != "" {
		opts = append(opts, oss.ContinuationToken(o.ContinuationToken))
	}
	if o.StartAfter != "" {
		opts = append(opts, oss.StartAfter(o.StartAfter))
	}
	var page ListPage
	err := retry.Do(ctx, b.retry, func(int) (bool, error) {
		b.count(ctx, OpList)
		res, err := b.b.ListObjectsV2(opts...)
		if err != nil {
			err = b.mapErr(err, "ListObjectsV2", o.Prefix)
			return !apierr.IsPermanent(err), err
		}
		page = ListPage{CommonPrefixes: res.CommonPrefixes}
		for _, obj := range res.Objects {
			page.Objects = append(page.Objects, ObjectInfo{Key: obj.Key, ETag: obj.ETag, Size: obj.Size, LastModified: obj.LastModified})
		}
		if res.IsTruncated {
			page.NextToken = res.NextContinuationToken
		}
		return false, nil
	})
	return page, err
}

// Delete removes keys (absent keys are not an error), 1000 per request,
// retrying transient failures.
func (b *Bucket) Delete(ctx context.Context, keys ...string) error {
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		batch := keys[:n]
		keys = keys[n:]
		err := retry.Do(ctx, b.retry, func(int) (bool, error) {
			var err error
			if len(batch) == 1 {
				b.count(ctx, OpDelete)
				err = b.b.DeleteObject(batch[0], oss.WithContext(ctx))
			} else {
				b.count(ctx, OpDeleteMulti)
				_, err = b.b.DeleteObjects(batch, oss.DeleteObjectsQuiet(true), oss.WithContext(ctx))
			}
			if err != nil {
				err = b.mapErr(err, "DeleteObjects", batch[0])
				return !apierr.IsPermanent(err), err
			}
			return false, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Versioning returns the bucket's versioning status: "" when versioning was
// never enabled, otherwise "Enabled" or "Suspended".
func (b *Bucket) Versioning(ctx context.Context) (string, error) {
	var status string
	err := retry.Do(ctx, b.retry, func(int) (bool, error) {
		b.count(ctx, OpVersioning)
		// Client.GetBucketVersioning ignores oss.WithContext (the SDK's
		// client-level requests drop the context), so a slow answer could
		// not be cut short by the caller's deadline: send it ourselves.
		resp, err := b.client.Conn.DoWithContext(ctx, "GET", b.name, "", map[string]interface{}{"versioning": nil}, nil, nil, 0, nil)
		if err == nil {
			var res oss.GetBucketVersioningResult
			err = xml.NewDecoder(resp.Body).Decode(&res)
			resp.Body.Close()
			if err != nil {
				err = fmt.Errorf("decode versioning configuration: %w", err)
			}
			status = res.Status
		}
		if err != nil {
			err = b.mapErr(err, "GetBucketVersioning", "")
			return !apierr.IsPermanent(err), err
		}
		return false, nil
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

func isSentinel(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists) ||
		errors.Is(err, ErrPositionMismatch) || errors.Is(err, ErrPreconditionFailed)
}

// mapErr turns an SDK error into a sentinel (wrapped with the OSS request
// id) or an apierr error. Authentication and permission failures are
// transient from the sender's point of view: the configuration can be fixed
// and the event retried, so nothing is dead-lettered for them.
func (b *Bucket) mapErr(err error, op, key string) error {
	if err == nil {
		return nil
	}
	var se oss.ServiceError
	if errors.As(err, &se) {
		switch se.Code {
		case "NoSuchKey":
			return fmt.Errorf("%s %s: %w", op, key, ErrNotFound)
		case "FileAlreadyExists":
			return fmt.Errorf("%s %s: %w", op, key, ErrExists)
		case "PositionNotEqualToLength":
			return fmt.Errorf("%s %s: %w", op, key, ErrPositionMismatch)
		case "PreconditionFailed":
			return fmt.Errorf("%s %s: %w", op, key, ErrPreconditionFailed)
		case "NoSuchBucket", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "NotImplemented", "InvalidArgument":
			return apierr.Transient(apierr.StorageUnavailable, err, "%s %s on bucket %s: %s (configuration?)", op, key, b.name, se.Code)
		}
		return apierr.Transient(apierr.StorageUnavailable, err, "%s %s on bucket %s: HTTP %d %s", op, key, b.name, se.StatusCode, se.Code)
	}
	return apierr.Transient(apierr.StorageUnavailable, err, "%s %s on bucket %s", op, key, b.name)
}

func infoFromHeader(key string, h http.Header) ObjectInfo {
	info := ObjectInfo{Key: key, ETag: h.Get("ETag"), Meta: map[string]string{}}
	if t, err := http.ParseTime(h.Get("Last-Modified")); err == nil {
		info.LastModified = t
	}
	for k, v := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-oss-meta-") && len(v) > 0 {
			info.Meta[strings.TrimPrefix(lk, "x-oss-meta-")] = v[0]
		}
	}
	return info
}
