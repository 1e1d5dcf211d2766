package ossserver

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"
)

// Object types, as reported in x-oss-object-type and list results.
const (
	typeNormal     = "Normal"
	typeAppendable = "Appendable"
)

// Versioning states of a bucket. The zero value means versioning was never
// enabled.
const (
	versioningOff       = ""
	versioningEnabled   = "Enabled"
	versioningSuspended = "Suspended"
)

// objectMeta describes one stored object. It is persisted as JSON by the
// disk backend, so its fields are exported.
type objectMeta struct {
	Key          string    `json:"key"`
	Type         string    `json:"type"`
	Size         int64     `json:"size"`
	ETag         string    `json:"etag"` // unquoted upper-case hex
	CRC64        uint64    `json:"crc64"`
	LastModified time.Time `json:"lastModified"`
	ContentType  string    `json:"contentType"`
	// Headers holds the stored standard headers (Cache-Control,
	// Content-Disposition, Content-Encoding, Content-Language, Expires) by
	// canonical name.
	Headers map[string]string `json:"headers,omitempty"`
	// UserMeta holds x-oss-meta-* headers by lower-case name.
	UserMeta  map[string]string `json:"userMeta,omitempty"`
	VersionID string            `json:"versionId,omitempty"`
	// Blob is the backend's reference to the body.
	Blob string `json:"blob"`
}

// clone returns a deep copy of m.
func (m *objectMeta) clone() *objectMeta {
	c := *m
	c.Headers = cloneMap(m.Headers)
	c.UserMeta = cloneMap(m.UserMeta)
	return &c
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// bucketState is one bucket's configuration and object index. It is
// guarded by Server.mu.
type bucketState struct {
	name       string
	created    time.Time
	versioning string
	objects    map[string]*objectMeta
	keys       []string // sorted byte-wise
}

func newBucketState(name string, created time.Time) *bucketState {
	return &bucketState{name: name, created: created, objects: map[string]*objectMeta{}}
}

// put indexes m, replacing any object with the same key.
func (b *bucketState) put(m *objectMeta) {
	if _, ok := b.objects[m.Key]; !ok {
		i := sort.SearchStrings(b.keys, m.Key)
		b.keys = slices.Insert(b.keys, i, m.Key)
	}
	b.objects[m.Key] = m
}

// remove drops key from the index.
func (b *bucketState) remove(key string) {
	if _, ok := b.objects[key]; !ok {
		return
	}
	delete(b.objects, key)
	i := sort.SearchStrings(b.keys, key)
	b.keys = slices.Delete(b.keys, i, i+1)
}

// bodyReader reads a stored body. It is valid after Server.mu is released
// and until Close, even if the object is overwritten or deleted meanwhile.
type bodyReader interface {
	io.ReaderAt
	io.Closer
}

// backend stores object bodies and persists metadata. Every method is
// called with Server.mu held, so implementations need no locking of their
// own for these calls; bodyReaders are used without the lock.
type backend interface {
	// load returns the buckets and objects stored earlier.
	load() ([]*bucketState, error)
	// saveBucket persists a bucket's configuration.
	saveBucket(b *bucketState) error
	// removeBucket deletes an empty bucket.
	removeBucket(name string) error
	// writeBody stores a new body and returns its reference. The body is
	// not visible until metadata referring to it is saved.
	writeBody(bucket string, data []byte) (blob string, err error)
	// appendBody appends data to the body blob, whose committed length is
	// size.
	appendBody(bucket, blob string, size int64, data []byte) error
	// truncateBody undoes a failed append, cutting blob back to size.
	truncateBody(bucket, blob string, size int64) error
	// openBody opens the first size bytes of blob for reading.
	openBody(bucket, blob string, size int64) (bodyReader, error)
	// removeBody deletes a body no metadata refers to any longer.
	removeBody(bucket, blob string) error
	// saveMeta persists m; it is the commit point of every write.
	saveMeta(bucket string, m *objectMeta) error
	// removeMeta deletes key's metadata.
	removeMeta(bucket, key string) error
	// close releases the backend.
	close() error
}

// errBucketExists is returned by CreateBucket for an existing bucket.
var errBucketExists = errors.New("ossserver: bucket already exists")

// CreateBucket creates a bucket, as PutBucket does; creating a bucket that
// exists is an error.
func (s *Server) CreateBucket(name string) error {
	if !validBucketName(name) {
		return fmt.Errorf("ossserver: invalid bucket name %q", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[name]; ok {
		return fmt.Errorf("%w: %s", errBucketExists, name)
	}
	b := newBucketState(name, time.Now().UTC())
	if err := s.backend.saveBucket(b); err != nil {
		return fmt.Errorf("ossserver: creating bucket %s: %w", name, err)
	}
	s.buckets[name] = b
	return nil
}

// SetVersioning sets a bucket's versioning status: "Enabled", "Suspended",
// or "" for never enabled. Unlike PutBucketVersioning, it can return a
// bucket to the never-enabled state, so that tests can reset it.
func (s *Server) SetVersioning(bucket, status string) error {
	switch status {
	case versioningOff, versioningEnabled, versioningSuspended:
	default:
		return fmt.Errorf("ossserver: invalid versioning status %q", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[bucket]
	if !ok {
		return fmt.Errorf("ossserver: no bucket %q", bucket)
	}
	old := b.versioning
	b.versioning = status
	if err := s.backend.saveBucket(b); err != nil {
		b.versioning = old
		return fmt.Errorf("ossserver: saving bucket %s: %w", bucket, err)
	}
	return nil
}

// Versioning returns a bucket's versioning status ("" when never enabled).
func (s *Server) Versioning(bucket string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[bucket]
	if !ok {
		return "", fmt.Errorf("ossserver: no bucket %q", bucket)
	}
	return b.versioning, nil
}

// bucketLocked returns the named bucket; s.mu must be held.
func (s *Server) bucketLocked(name string) (*bucketState, *apiError) {
	b, ok := s.buckets[name]
	if !ok {
		return nil, errNoSuchBucket(name)
	}
	return b, nil
}
