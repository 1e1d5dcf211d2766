// Package memstore provides an in-memory ossx.Driver with OSS's semantics:
// create-only writes answered with ossx.ErrExists (ignored, as OSS does, on
// a bucket whose versioning is Enabled or Suspended), byte-ordered listing
// with max keys, start-after, continuation tokens and a delimiter,
// lower-cased metadata, MD5 ETags, and LastModified from an injectable
// clock. Package unit tests run on it; test/ossserver serves it over the
// OSS protocol.
package memstore

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/ossx"
)

// ErrInvalidToken is the error of a List with a continuation token that no
// List returned.
var ErrInvalidToken = errors.New("memstore: the continuation token is incorrect")

// Options configure a Store.
type Options struct {
	// Now stamps objects' LastModified; default time.Now.
	Now func() time.Time
}

// object is one stored object.
type object struct {
	Body []byte          `json:"body"`
	Info ossx.ObjectInfo `json:"info"`
}

// Store is an in-memory bucket. It is safe for concurrent use; every
// operation is atomic, so create-only writes are linearisable.
type Store struct {
	now        func() time.Time
	mu         sync.Mutex
	versioning string
	objects    map[string]*object
	keys       []string // sorted byte-wise
}

var _ ossx.Driver = (*Store)(nil)

// New returns an empty Store whose versioning was never enabled.
func New(o Options) *Store {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Store{now: o.Now, objects: map[string]*object{}}
}

// SetVersioning sets the versioning status: "Enabled", "Suspended", or ""
// for never enabled (which OSS cannot go back to; tests can).
func (s *Store) SetVersioning(status string) error {
	if status != "" && status != "Enabled" && status != "Suspended" {
		return fmt.Errorf("memstore: invalid versioning status %q", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versioning = status
	return nil
}

// Put implements ossx.Driver.
func (s *Store) Put(ctx context.Context, key string, body []byte, o ossx.PutOptions) error {
	if err := ctxErr(ctx, "PutObject", key); err != nil {
		return err
	}
	sum := md5.Sum(body)
	info := ossx.ObjectInfo{Key: key, ETag: `"` + strings.ToUpper(hex.EncodeToString(sum[:])) + `"`, Size: int64(len(body)),
		LastModified: s.now().UTC().Truncate(time.Second), ContentType: o.ContentType, Meta: map[string]string{}}
	if info.ContentType == "" {
		info.ContentType = "application/octet-stream"
	}
	for k, v := range o.Meta {
		info.Meta[strings.ToLower(k)] = v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, exists := s.objects[key]
	if exists && o.ForbidOverwrite && s.versioning == "" {
		return fmt.Errorf("PutObject %s: %w", key, ossx.ErrExists)
	}
	if !exists {
		i, _ := slices.BinarySearch(s.keys, key)
		s.keys = slices.Insert(s.keys, i, key)
	}
	s.objects[key] = &object{Body: slices.Clone(body), Info: info}
	return nil
}

// Get implements ossx.Driver.
func (s *Store) Get(ctx context.Context, key string) ([]byte, ossx.ObjectInfo, error) {
	if err := ctxErr(ctx, "GetObject", key); err != nil {
		return nil, ossx.ObjectInfo{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[key]
	if !ok {
		return nil, ossx.ObjectInfo{}, fmt.Errorf("GetObject %s: %w", key, ossx.ErrNotFound)
	}
	return slices.Clone(o.Body), cloneInfo(o.Info), nil
}

// Head implements ossx.Driver.
func (s *Store) Head(ctx context.Context, key string) (ossx.ObjectInfo, error) {
	_, info, err := s.Get(ctx, key)
	return info, err
}

// List implements ossx.Driver. The continuation token is the last key or
// common prefix returned, encoded.
func (s *Store) List(ctx context.Context, o ossx.ListOptions) (ossx.ListPage, error) {
	if err := ctxErr(ctx, "ListObjectsV2", o.Prefix); err != nil {
		return ossx.ListPage{}, err
	}
	after := o.StartAfter
	if o.ContinuationToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(o.ContinuationToken)
		if err != nil {
			return ossx.ListPage{}, fmt.Errorf("ListObjectsV2 %s: %w", o.ContinuationToken, ErrInvalidToken)
		}
		after = string(b) // The token takes precedence over start-after.
	}
	maxKeys := o.MaxKeys
	if maxKeys <= 0 || maxKeys > 1000 {
		maxKeys = 1000
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	start := sort.SearchStrings(s.keys, o.Prefix)
	if after >= o.Prefix {
		start = sort.Search(len(s.keys), func(i int) bool { return s.keys[i] > after })
	}
	var page ossx.ListPage
	last, n := "", 0
	for _, key := range s.keys[start:] {
		if !strings.HasPrefix(key, o.Prefix) {
			break // Keys are sorted: no later key has the prefix.
		}
		name, isPrefix := key, false
		if o.Delimiter != "" {
			if i := strings.Index(key[len(o.Prefix):], o.Delimiter); i >= 0 {
				name, isPrefix = key[:len(o.Prefix)+i+len(o.Delimiter)], true
				if name <= after || name == last {
					continue
				}
			}
		}
		if n == maxKeys {
			page.NextToken = base64.RawURLEncoding.EncodeToString([]byte(last))
			break
		}
		if isPrefix {
			page.CommonPrefixes = append(page.CommonPrefixes, name)
		} else {
			info := s.objects[key].Info
			page.Objects = append(page.Objects, ossx.ObjectInfo{Key: key, ETag: info.ETag, Size: info.Size, LastModified: info.LastModified})
		}
		last, n = name, n+1
	}
	return page, nil
}

// Delete implements ossx.Driver.
func (s *Store) Delete(ctx context.Context, keys []string) error {
	if err := ctxErr(ctx, "DeleteObjects", ""); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range keys {
		if _, ok := s.objects[key]; ok {
			delete(s.objects, key)
			i, _ := slices.BinarySearch(s.keys, key)
			s.keys = slices.Delete(s.keys, i, i+1)
		}
	}
	return nil
}

// Versioning implements ossx.Driver.
func (s *Store) Versioning(ctx context.Context) (string, error) {
	if err := ctxErr(ctx, "GetBucketVersioning", ""); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.versioning, nil
}

// snapshot is what Save writes and Load reads.
type snapshot struct {
	Versioning string    `json:"versioning,omitempty"`
	Objects    []*object `json:"objects"`
}

// Save writes the store's contents to w as JSON, for Load.
func (s *Store) Save(w io.Writer) error {
	s.mu.Lock()
	snap := snapshot{Versioning: s.versioning}
	for _, k := range s.keys {
		snap.Objects = append(snap.Objects, s.objects[k])
	}
	s.mu.Unlock()
	if err := json.NewEncoder(w).Encode(snap); err != nil {
		return fmt.Errorf("memstore: save: %w", err)
	}
	return nil
}

// Load replaces the store's contents with what Save wrote to r.
func (s *Store) Load(r io.Reader) error {
	var snap snapshot
	if err := json.NewDecoder(r).Decode(&snap); err != nil {
		return fmt.Errorf("memstore: load: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versioning, s.objects, s.keys = snap.Versioning, map[string]*object{}, nil
	for _, o := range snap.Objects {
		s.objects[o.Info.Key] = o
		s.keys = append(s.keys, o.Info.Key)
	}
	slices.Sort(s.keys)
	return nil
}

// ctxErr is the transient error of a request whose context is done.
func ctxErr(ctx context.Context, op, key string) error {
	if err := ctx.Err(); err != nil {
		return apierr.Transient(apierr.StorageUnavailable, err, "%s %s", op, key)
	}
	return nil
}

func cloneInfo(i ossx.ObjectInfo) ossx.ObjectInfo {
	i.Meta = maps.Clone(i.Meta)
	return i
}
