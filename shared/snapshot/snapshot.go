// Package snapshot writes and reads compacted snapshots of every current
// media state, for bulk readers (batch jobs, MaxCompute, Spark, DuckDB, a
// nightly script) that would otherwise pay a LIST per 1000 versions plus a
// GET per MediaId.
//
// A snapshot is one gzip-compressed object of JSON lines, one line per
// media asset, in listing order of the state keys:
//
//	{"mediaId":"<MediaId>","version":<n>,"state":{<the state document>}}
//
// stored create-only under
//
//	<prefix>snapshots/media/<16 hex digits: bitwise NOT of the snapshot time in unix ms>.jsonl.gz
//
// so that the NEWEST snapshot lists FIRST: a reader gets everything with one
// LIST (max-keys 1) and one GET. Its metadata says how fresh it is:
// x-oss-meta-format (Format), x-oss-meta-count (lines), x-oss-meta-taken-at
// (when the listing started, RFC 3339), x-oss-meta-max-version (the highest
// state version in it) and x-oss-meta-newest-write (the latest write time of
// any state in it). Each line's version is the state's version number, so a
// reader that follows newer versions through OSS event notifications
// (every state version is a new object) keeps, per MediaId, the line or
// event with the higher version.
//
// Writing a snapshot reuses the previous one: a media asset whose newest
// version is the one in the previous snapshot is copied from it, so only
// the states written since cost a GET. A snapshot is the state of each
// media asset at some moment during the run, not of the whole bucket at one
// instant (OSS has no such thing); a later snapshot or the state's own
// objects are newer.
package snapshot

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"mediastate/shared/media"
	"mediastate/shared/ossx"
	"mediastate/shared/statestore"
)

// Format is the value of x-oss-meta-format of the snapshots this package
// writes.
const Format = "mediastate-media-snapshot/1"

// Metadata header names (without the x-oss-meta- prefix).
const (
	MetaFormat      = "format"
	MetaCount       = "count"
	MetaTakenAt     = "taken-at"
	MetaMaxVersion  = "max-version"
	MetaNewestWrite = "newest-write"
)

// DefaultKeep is how many snapshots Prune keeps.
const DefaultKeep = 3

// Line is one line of a snapshot.
type Line struct {
	MediaID string          `json:"mediaId"`
	Version uint64          `json:"version"`
	State   json.RawMessage `json:"state"`
}

// Meta describes a snapshot.
type Meta struct {
	Key         string    `json:"key"`
	Count       int       `json:"count"`
	TakenAt     time.Time `json:"takenAt"`
	MaxVersion  uint64    `json:"maxVersion"`
	NewestWrite time.Time `json:"newestWrite,omitzero"`
	// Size is the compressed size in bytes.
	Size int64 `json:"size"`
	// Reused and Read count, when writing, the lines copied from the
	// previous snapshot and the states read from their own objects.
	Reused int `json:"reused"`
	Read   int `json:"read"`
	// Pruned counts older snapshots deleted after writing.
	Pruned int `json:"pruned"`
}

// KeyPrefix returns the key prefix of media snapshots under the project
// prefix (the functions' STATE_PREFIX).
func KeyPrefix(prefix string) string { return prefix + "snapshots/media/" }

// Key returns the key of a snapshot taken at t.
func Key(prefix string, t time.Time) string {
	return fmt.Sprintf("%s%016x.jsonl.gz", KeyPrefix(prefix), ^uint64(t.UnixMilli()))
}

// ErrNone: no snapshot has been written yet.
var ErrNone = errors.New("snapshot: none written yet")

// Latest returns the key of the newest snapshot (one LIST), or ErrNone.
func Latest(ctx context.Context, b *ossx.Bucket, prefix string) (string, error) {
	page, err := b.List(ctx, ossx.ListOptions{Prefix: KeyPrefix(prefix), MaxKeys: 1})
	if err != nil {
		return "", fmt.Errorf("find the newest snapshot: %w", err)
	}
	if len(page.Objects) == 0 {
		return "", ErrNone
	}
	return page.Objects[0].Key, nil
}

// Read GETs a snapshot and calls fn with each line, in order. It returns
// the snapshot's metadata.
func Read(ctx context.Context, b *ossx.Bucket, key string, fn func(Line) error) (Meta, error) {
	body, info, err := b.GetObject(ctx, key)
	if err != nil {
		return Meta{}, fmt.Errorf("read snapshot: %w", err)
	}
	m, err := metaOf(key, info)
	if err != nil {
		return m, err
	}
	return m, eachLine(body, func(raw []byte) error {
		var l Line
		if err := json.Unmarshal(raw, &l); err != nil {
			return fmt.Errorf("snapshot %s: bad line: %w", key, err)
		}
		return fn(l)
	})
}

// metaOf decodes a snapshot's metadata headers.
func metaOf(key string, info ossx.ObjectInfo) (Meta, error) {
	m := Meta{Key: key, Size: info.Size}
	if f := info.Meta[MetaFormat]; f != Format {
		return m, fmt.Errorf("snapshot %s has format %q, want %q", key, f, Format)
	}
	var errs []error
	var err error
	m.Count, err = strconv.Atoi(info.Meta[MetaCount])
	errs = append(errs, err)
	m.MaxVersion, err = strconv.ParseUint(info.Meta[MetaMaxVersion], 10, 64)
	errs = append(errs, err)
	m.TakenAt, err = time.Parse(time.RFC3339Nano, info.Meta[MetaTakenAt])
	errs = append(errs, err)
	if v := info.Meta[MetaNewestWrite]; v != "" {
		m.NewestWrite, err = time.Parse(time.RFC3339Nano, v)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return m, fmt.Errorf("snapshot %s: bad metadata: %w", key, err)
	}
	return m, nil
}

// eachLine gunzips body and calls fn with each non-empty line.
func eachLine(body []byte, fn func([]byte) error) error {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("snapshot is not gzip: %w", err)
	}
	r := bufio.NewReaderSize(zr, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			if ferr := fn(bytes.TrimSuffix(line, []byte("\n"))); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
	}
}

// previous streams the lines of the previous snapshot, in order, for the
// merge in Write: only its compressed bytes and one line are in memory.
type previous struct {
	r    *bufio.Reader // nil when there is nothing (more) to reuse
	id   string
	ver  uint64
	line []byte
}

// loadPrevious GETs the newest snapshot, if any. A snapshot that is
// missing, of another format or damaged is simply not reused.
func loadPrevious(ctx context.Context, b *ossx.Bucket, prefix string) (*previous, error) {
	key, err := Latest(ctx, b, prefix)
	if errors.Is(err, ErrNone) {
		return &previous{}, nil
	}
	if err != nil {
		return nil, err
	}
	body, info, err := b.GetObject(ctx, key)
	if errors.Is(err, ossx.ErrNotFound) {
		return &previous{}, nil // pruned meanwhile
	}
	if err != nil {
		return nil, fmt.Errorf("read the previous snapshot: %w", err)
	}
	if _, err := metaOf(key, info); err != nil {
		return &previous{}, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return &previous{}, nil
	}
	p := &previous{r: bufio.NewReaderSize(zr, 64<<10)}
	p.next()
	return p, nil
}

// next reads the following line; at the end or on damage it stops reuse.
func (p *previous) next() {
	for p.r != nil {
		line, err := p.r.ReadBytes('\n')
		line = bytes.TrimSpace(line)
		if len(line) > 0 {
			var head struct {
				MediaID string `json:"mediaId"`
				Version uint64 `json:"version"`
			}
			if json.Unmarshal(line, &head) != nil || head.MediaID == "" {
				p.r = nil
				return
			}
			p.id, p.ver, p.line = head.MediaID, head.Version, line
			return
		}
		if err != nil {
			p.r = nil
		}
	}
}

// find returns the previous line of id at version seq, or nil, skipping
// the lines that list before id. Ids are compared as their key segment
// ("<id>/"), which is the listing order of both snapshots.
func (p *previous) find(id string, seq uint64) []byte {
	k := id + "/"
	for p.r != nil && p.id+"/" < k {
		p.next()
	}
	if p.r != nil && p.id == id && p.ver == seq {
		return p.line
	}
	return nil
}

// Write takes a snapshot of every current media state and stores it
// create-only under Key(prefix, now). Then it prunes all but the newest
// keep snapshots (keep <= 0 means DefaultKeep).
func Write(ctx context.Context, store *media.Store, prefix string, now time.Time, keep int) (Meta, error) {
	b := store.Bucket()
	m := Meta{Key: Key(prefix, now), TakenAt: now.UTC()}
	prev, err := loadPrevious(ctx, b, prefix)
	if err != nil {
		return m, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	var compact bytes.Buffer
	err = store.EachNewest(ctx, func(v statestore.Version) error {
		line := prev.find(v.ID, v.Seq)
		if line != nil {
			m.Reused++
		} else {
			raw, read, err := store.ReadNewestRaw(ctx, v)
			if errors.Is(err, statestore.ErrNotFound) {
				return nil // deleted since the listing
			}
			if err != nil {
				return err
			}
			v = read
			compact.Reset()
			if err := json.Compact(&compact, raw); err != nil {
				return fmt.Errorf("state %s is not JSON: %w", v.Key, err)
			}
			if line, err = json.Marshal(Line{MediaID: v.ID, Version: v.Seq, State: compact.Bytes()}); err != nil {
				return err
			}
			m.Read++
		}
		if _, err := zw.Write(append(line, '\n')); err != nil {
			return err
		}
		m.Count++
		m.MaxVersion = max(m.MaxVersion, v.Seq)
		if v.LastModified.After(m.NewestWrite) {
			m.NewestWrite = v.LastModified.UTC()
		}
		return nil
	})
	if err != nil {
		return m, fmt.Errorf("snapshot: %w", err)
	}
	if err := zw.Close(); err != nil {
		return m, err
	}
	m.Size = int64(buf.Len())
	meta := map[string]string{
		MetaFormat: Format, MetaCount: strconv.Itoa(m.Count), MetaTakenAt: m.TakenAt.Format(time.RFC3339Nano),
		MetaMaxVersion: strconv.FormatUint(m.MaxVersion, 10),
	}
	if !m.NewestWrite.IsZero() {
		meta[MetaNewestWrite] = m.NewestWrite.Format(time.RFC3339Nano)
	}
	// Keys are named by the millisecond: a snapshot already written in
	// this one makes us take the next.
	for t := now; ; t = t.Add(time.Millisecond) {
		m.Key = Key(prefix, t)
		err = b.PutObject(ctx, m.Key, buf.Bytes(), ossx.PutOptions{ForbidOverwrite: true, Meta: meta, ContentType: "application/x-ndjson"})
		if !errors.Is(err, ossx.ErrExists) || t.Sub(now) > time.Second {
			break
		}
	}
	if err != nil {
		return m, fmt.Errorf("write snapshot %s: %w", m.Key, err)
	}
	m.Pruned, err = Prune(ctx, b, prefix, keep)
	return m, err
}

// Prune deletes all but the newest keep snapshots (keep <= 0 means
// DefaultKeep) and returns how many it deleted. Keeping a few lets a reader
// that listed a snapshot just before a new one was written still GET it.
func Prune(ctx context.Context, b *ossx.Bucket, prefix string, keep int) (int, error) {
	if keep <= 0 {
		keep = DefaultKeep
	}
	var doomed []string
	seen, token := 0, ""
	for {
		page, err := b.List(ctx, ossx.ListOptions{Prefix: KeyPrefix(prefix), ContinuationToken: token})
		if err != nil {
			return 0, fmt.Errorf("list snapshots: %w", err)
		}
		for _, o := range page.Objects {
			if !strings.HasSuffix(o.Key, ".jsonl.gz") {
				continue
			}
			if seen++; seen > keep {
				doomed = append(doomed, o.Key)
			}
		}
		if page.NextToken == "" {
			break
		}
		token = page.NextToken
	}
	for len(doomed) > 0 {
		n := min(len(doomed), 1000)
		if err := b.Delete(ctx, doomed[:n]...); err != nil {
			return 0, fmt.Errorf("prune snapshots: %w", err)
		}
		doomed = doomed[n:]
	}
	return seen - min(seen, keep), nil
}
