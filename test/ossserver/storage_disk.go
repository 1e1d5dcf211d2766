package ossserver

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// diskBackend keeps everything in files under a directory:
//
//	<dir>/buckets/<bucket>/bucket.json            bucket configuration
//	<dir>/buckets/<bucket>/meta/<xx>/<sha256>.json object metadata, by key hash
//	<dir>/buckets/<bucket>/data/<blob>             object bodies
//	<dir>/buckets/<bucket>/tmp/                    files being written
//
// Metadata files are replaced by rename, which is the commit point of
// every write: a body or an appended tail that no metadata accounts for is
// discarded on load. Files are not fsynced, so data survives a process
// restart but not necessarily a machine crash.
type diskBackend struct {
	root string
}

// bucketFile is the JSON form of a bucket's configuration.
type bucketFile struct {
	Name       string    `json:"name"`
	Created    time.Time `json:"created"`
	Versioning string    `json:"versioning,omitempty"`
}

func newDiskBackend(dir string) (*diskBackend, error) {
	root := filepath.Join(dir, "buckets")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("ossserver: creating %s: %w", root, err)
	}
	return &diskBackend{root: root}, nil
}

func (d *diskBackend) bucketDir(bucket string) string { return filepath.Join(d.root, bucket) }

func (d *diskBackend) metaPath(bucket, key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(d.bucketDir(bucket), "meta", h[:2], h+".json")
}

func (d *diskBackend) dataPath(bucket, blob string) string {
	return filepath.Join(d.bucketDir(bucket), "data", blob)
}

// writeFileAtomic writes data to a temporary file and renames it to path.
func (d *diskBackend) writeFileAtomic(bucket, path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmpDir := filepath.Join(d.bucketDir(bucket), "tmp")
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(tmpDir, "w-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

func (d *diskBackend) saveBucket(b *bucketState) error {
	data, err := json.Marshal(bucketFile{Name: b.name, Created: b.created, Versioning: b.versioning})
	if err != nil {
		return err
	}
	return d.writeFileAtomic(b.name, filepath.Join(d.bucketDir(b.name), "bucket.json"), data)
}

func (d *diskBackend) removeBucket(name string) error {
	return os.RemoveAll(d.bucketDir(name))
}

func (d *diskBackend) writeBody(bucket string, data []byte) (string, error) {
	var r [12]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	blob := hex.EncodeToString(r[:])
	if err := d.writeFileAtomic(bucket, d.dataPath(bucket, blob), data); err != nil {
		return "", fmt.Errorf("writing body: %w", err)
	}
	return blob, nil
}

func (d *diskBackend) appendBody(bucket, blob string, size int64, data []byte) error {
	f, err := os.OpenFile(d.dataPath(bucket, blob), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("appending to body: %w", err)
	}
	if _, err := f.WriteAt(data, size); err != nil {
		f.Close()
		return fmt.Errorf("appending to body: %w", err)
	}
	// Drop any tail left by an earlier append that was never committed.
	if err := f.Truncate(size + int64(len(data))); err != nil {
		f.Close()
		return fmt.Errorf("appending to body: %w", err)
	}
	return f.Close()
}

func (d *diskBackend) truncateBody(bucket, blob string, size int64) error {
	return os.Truncate(d.dataPath(bucket, blob), size)
}

func (d *diskBackend) openBody(bucket, blob string, size int64) (bodyReader, error) {
	f, err := os.Open(d.dataPath(bucket, blob))
	if err != nil {
		return nil, fmt.Errorf("opening body: %w", err)
	}
	return f, nil
}

func (d *diskBackend) removeBody(bucket, blob string) error {
	if err := os.Remove(d.dataPath(bucket, blob)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (d *diskBackend) saveMeta(bucket string, m *objectMeta) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := d.writeFileAtomic(bucket, d.metaPath(bucket, m.Key), data); err != nil {
		return fmt.Errorf("saving metadata: %w", err)
	}
	return nil
}

func (d *diskBackend) removeMeta(bucket, key string) error {
	if err := os.Remove(d.metaPath(bucket, key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing metadata: %w", err)
	}
	return nil
}

func (d *diskBackend) close() error { return nil }

// load reads every bucket, repairs bodies longer than their metadata says
// (appends that were never committed) and deletes unreferenced files.
func (d *diskBackend) load() ([]*bucketState, error) {
	entries, err := os.ReadDir(d.root)
	if err != nil {
		return nil, err
	}
	var out []*bucketState
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		b, err := d.loadBucket(e.Name())
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", e.Name(), err)
		}
		if b != nil {
			out = append(out, b)
		}
	}
	return out, nil
}

func (d *diskBackend) loadBucket(name string) (*bucketState, error) {
	dir := d.bucketDir(name)
	raw, err := os.ReadFile(filepath.Join(dir, "bucket.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // A bucket whose creation never completed.
	}
	if err != nil {
		return nil, err
	}
	var bf bucketFile
	if err := json.Unmarshal(raw, &bf); err != nil {
		return nil, fmt.Errorf("bucket.json: %w", err)
	}
	if bf.Name != name {
		return nil, fmt.Errorf("bucket.json names bucket %q", bf.Name)
	}
	b := newBucketState(name, bf.Created)
	b.versioning = bf.Versioning

	used := map[string]bool{}
	metaDir := filepath.Join(dir, "meta")
	err = filepath.WalkDir(metaDir, func(path string, de fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == metaDir {
			return filepath.SkipDir
		}
		if err != nil || de.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var m objectMeta
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if path != d.metaPath(name, m.Key) {
			return fmt.Errorf("%s holds metadata of key %q", path, m.Key)
		}
		fi, err := os.Stat(d.dataPath(name, m.Blob))
		if err != nil {
			return fmt.Errorf("body of %q: %w", m.Key, err)
		}
		switch {
		case fi.Size() < m.Size:
			return fmt.Errorf("body of %q has %d bytes, metadata says %d", m.Key, fi.Size(), m.Size)
		case fi.Size() > m.Size:
			if err := d.truncateBody(name, m.Blob, m.Size); err != nil {
				return err
			}
		}
		used[m.Blob] = true
		b.put(&m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := removeUnused(filepath.Join(dir, "data"), used); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(filepath.Join(dir, "tmp")); err != nil {
		return nil, err
	}
	return b, nil
}

// removeUnused deletes the files in dir whose names are not in used.
func removeUnused(dir string, used map[string]bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !used[e.Name()] {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}
