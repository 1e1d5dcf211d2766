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

// New returns a Bucket on OSS for cfg, through the official SDK
// (github.com/aliyun/aliyun-oss-go-sdk/oss). It makes no request.
func New(cfg Config) (*Bucket, error) {
	d, err := NewSDKDriver(cfg)
	if err != nil {
		return nil, err
	}
	return NewBucket(d, cfg.Bucket, cfg.Retry), nil
}

// SDKDriver is the Driver on OSS, through the official SDK.
type SDKDriver struct {
	b    *oss.Bucket
	conn *oss.Conn
	name string
}

// NewSDKDriver returns the SDK Driver for cfg (cfg.Retry is not used). It
// makes no request.
func NewSDKDriver(cfg Config) (*SDKDriver, error) {
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
	return &SDKDriver{b: b, conn: client.Conn, name: cfg.Bucket}, nil
}

// Put implements Driver.
func (d *SDKDriver) Put(ctx context.Context, key string, body []byte, o PutOptions) error {
	opts := []oss.Option{oss.WithContext(ctx), oss.ContentType(o.ContentType)}
	if o.ForbidOverwrite {
		opts = append(opts, oss.ForbidOverWrite(true))
	}
	for k, v := range o.Meta {
		opts = append(opts, oss.Meta(k, v))
	}
	return d.mapErr(d.b.PutObject(key, bytes.NewReader(body), opts...), "PutObject", key)
}

// Get implements Driver.
func (d *SDKDriver) Get(ctx context.Context, key string) ([]byte, ObjectInfo, error) {
	var h http.Header
	rc, err := d.b.GetObject(key, oss.WithContext(ctx), oss.GetResponseHeader(&h))
	if err != nil {
		return nil, ObjectInfo{}, d.mapErr(err, "GetObject", key)
	}
	defer rc.Close()
	body, err := io.ReadAll(rc)
	if err != nil {
		return nil, ObjectInfo{}, d.mapErr(fmt.Errorf("read body: %w", err), "GetObject", key)
	}
	info := infoFromHeader(key, h)
	info.Size = int64(len(body))
	return body, info, nil
}

// Head implements Driver.
func (d *SDKDriver) Head(ctx context.Context, key string) (ObjectInfo, error) {
	h, err := d.b.GetObjectDetailedMeta(key, oss.WithContext(ctx))
	if err != nil {
		return ObjectInfo{}, d.mapErr(err, "HeadObject", key)
	}
	info := infoFromHeader(key, h)
	info.Size, _ = strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	return info, nil
}

// List implements Driver.
func (d *SDKDriver) List(ctx context.Context, o ListOptions) (ListPage, error) {
	opts := []oss.Option{oss.WithContext(ctx), oss.MaxKeys(o.MaxKeys)}
	for _, p := range []struct {
		v   string
		opt func(string) oss.Option
	}{{o.Prefix, oss.Prefix}, {o.Delimiter, oss.Delimiter}, {o.ContinuationToken, oss.ContinuationToken}, {o.StartAfter, oss.StartAfter}} {
		if p.v != "" {
			opts = append(opts, p.opt(p.v))
		}
	}
	res, err := d.b.ListObjectsV2(opts...)
	if err != nil {
		return ListPage{}, d.mapErr(err, "ListObjectsV2", o.Prefix)
	}
	page := ListPage{CommonPrefixes: res.CommonPrefixes}
	for _, obj := range res.Objects {
		page.Objects = append(page.Objects, ObjectInfo{Key: obj.Key, ETag: obj.ETag, Size: obj.Size, LastModified: obj.LastModified})
	}
	if res.IsTruncated {
		page.NextToken = res.NextContinuationToken
	}
	return page, nil
}

// Delete implements Driver: DeleteObject for one key, DeleteObjects for more.
func (d *SDKDriver) Delete(ctx context.Context, keys []string) error {
	if len(keys) == 1 {
		return d.mapErr(d.b.DeleteObject(keys[0], oss.WithContext(ctx)), "DeleteObject", keys[0])
	}
	_, err := d.b.DeleteObjects(keys, oss.DeleteObjectsQuiet(true), oss.WithContext(ctx))
	return d.mapErr(err, "DeleteObjects", keys[0])
}

// Versioning implements Driver.
func (d *SDKDriver) Versioning(ctx context.Context) (string, error) {
	// Client.GetBucketVersioning ignores oss.WithContext (the SDK's
	// client-level requests drop the context), so a slow answer could not
	// be cut short by the caller's deadline: send it ourselves.
	resp, err := d.conn.DoWithContext(ctx, "GET", d.name, "", map[string]interface{}{"versioning": nil}, nil, nil, 0, nil)
	if err != nil {
		return "", d.mapErr(err, "GetBucketVersioning", "")
	}
	defer resp.Body.Close()
	var res oss.GetBucketVersioningResult
	if err := xml.NewDecoder(resp.Body).Decode(&res); err != nil {
		return "", d.mapErr(fmt.Errorf("decode versioning configuration: %w", err), "GetBucketVersioning", "")
	}
	return res.Status, nil
}

// mapErr turns an SDK error into a sentinel (wrapping the SDK's
// ServiceError too, with its request id) or an apierr error.
// Authentication and permission failures are transient from the sender's
// point of view: the configuration can be fixed and the event retried, so
// nothing is dead-lettered for them.
func (d *SDKDriver) mapErr(err error, op, key string) error {
	if err == nil {
		return nil
	}
	var se oss.ServiceError
	if errors.As(err, &se) {
		switch se.Code {
		case "NoSuchKey":
			return fmt.Errorf("%s %s: %w: %w", op, key, ErrNotFound, err)
		case "FileAlreadyExists":
			return fmt.Errorf("%s %s: %w: %w", op, key, ErrExists, err)
		case "NoSuchBucket", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "NotImplemented", "InvalidArgument":
			return apierr.Transient(apierr.StorageUnavailable, err, "%s %s on bucket %s: %s (configuration?)", op, key, d.name, se.Code)
		}
		return apierr.Transient(apierr.StorageUnavailable, err, "%s %s on bucket %s: HTTP %d %s", op, key, d.name, se.StatusCode, se.Code)
	}
	return apierr.Transient(apierr.StorageUnavailable, err, "%s %s on bucket %s", op, key, d.name)
}

func infoFromHeader(key string, h http.Header) ObjectInfo {
	info := ObjectInfo{Key: key, ETag: h.Get("ETag"), ContentType: h.Get("Content-Type"), Meta: map[string]string{}}
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
