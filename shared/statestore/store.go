// Package statestore keeps one JSON document per id in OSS and updates it
// safely under any number of concurrent writers, using only what OSS
// offers: create-only PutObject (x-oss-forbid-overwrite), never If-Match.
//
// # Key layout
//
// Every update writes a new, immutable version of the document:
//
//	<prefix><id>/<16 hex digits of ^seq>.json
//
// seq counts from 1; the key holds its bitwise complement, so the NEWEST
// version sorts FIRST. Writing version seq+1 create-only is the
// compare-and-swap: of all writers that read version seq, exactly one
// creates seq+1; the others get 409 FileAlreadyExists, read the newest
// version, re-apply their change and try the next number. The object body
// is the document alone; bookkeeping travels in metadata headers:
// x-oss-meta-seq, x-oss-meta-writer (a UUID per write attempt, used to
// resolve a write whose response was lost) and x-oss-meta-written-at.
//
// Readers: LIST prefix "<prefix><id>/" with max-keys 1 gives the newest
// key; one GET reads it: two requests. Enumerating every id is one listing
// of "<prefix>" (1000 keys per request; within an id the first key is the
// newest) plus one GET per id.
//
// # Requests per update
//
// An instance caches the newest version it knows of each id (an LRU). With
// the cache warm, an update is one PUT; an event already in the cached
// document costs nothing. A cold update is LIST + GET + PUT, or PUT + LIST
// for an id that does not exist yet when the caller says so
// (UpdateOptions.CreateFirst: the LIST confirms the guess). A lost race
// costs one more LIST + GET + PUT.
//
// # Old versions, and the one rule that makes deleting them safe
//
// Sweep deletes all but the newest Keep versions of each id, but only a
// version whose successor is older than MinAge. Deleting frees keys, so a
// writer must never create version n+1 from a belief "n is the newest"
// that OSS did not confirm recently. Whatever an update knows of an id
// carries a trust time (see known): the moment before the LIST that found
// the version newest, or before our own create-only PUT of it. Nothing
// else sets it, and a write is sent only while it is younger than
// CacheTTL, checked before every attempt. Every version above n was
// created after n's trust time, and one is swept only once its successor
// is MinAge old, so while MinAge exceeds CacheTTL plus one request's time,
// n+1 is either free because it never existed or taken (409). A
// create-first guess has no trust time: a successful one is confirmed by a
// LIST before anyone is told, and undone when it filled a swept hole.
package statestore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	smithytime "github.com/aws/smithy-go/time"

	"mediastate/shared/apierr"
	"mediastate/shared/ossx"
	"mediastate/shared/retry"
)

// Metadata header names (without the x-oss-meta- prefix).
const (
	MetaSeq       = "seq"
	MetaWriter    = ossx.MetaWriter
	MetaWrittenAt = "written-at"
)

// Options configure a Store.
type Options struct {
	// Prefix is prepended to every key, e.g. "mediastate/media/". It must
	// end with "/" or be empty.
	Prefix string
	// CacheSize bounds the number of cached documents; default 4096.
	CacheSize int
	// CacheTTL bounds how long a cached version is trusted; default 5 min.
	CacheTTL time.Duration
	// Retry is the policy for transient write failures; zero = retry.Default.
	Retry retry.Policy
	// Conflict is the backoff between lost races; zero = 2 ms base, 100 ms
	// cap, limited only by the context's deadline.
	Conflict retry.Policy
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Store is a versioned document store. It is safe for concurrent use.
type Store[T any] struct {
	b        *ossx.Bucket
	codec    Codec[T]
	prefix   string
	cache    *lru[T]
	locks    keyedMutex
	ttl      time.Duration
	retry    retry.Policy
	conflict retry.Policy
	now      func() time.Time
}

// New returns a Store on bucket b.
func New[T any](b *ossx.Bucket, codec Codec[T], o Options) (*Store[T], error) {
	if o.Prefix != "" && !strings.HasSuffix(o.Prefix, "/") {
		return nil, apierr.New(apierr.InvalidConfig, "state key prefix %q must end with /", o.Prefix)
	}
	if codec.Marshal == nil || codec.Unmarshal == nil {
		return nil, apierr.New(apierr.InvalidConfig, "statestore: codec is incomplete")
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 4096
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = 5 * time.Minute
	}
	if o.Retry == (retry.Policy{}) {
		o.Retry = retry.Default
	}
	if o.Conflict == (retry.Policy{}) {
		o.Conflict = retry.Policy{Base: 2 * time.Millisecond, Max: 100 * time.Millisecond, Reserve: o.Retry.Reserve}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Store[T]{b: b, codec: codec, prefix: o.Prefix, cache: newLRU[T](o.CacheSize), ttl: o.CacheTTL,
		retry: o.Retry, conflict: o.Conflict, now: o.Now}, nil
}

// Prefix returns the key prefix.
func (s *Store[T]) Prefix() string { return s.prefix }

// Bucket returns the underlying bucket.
func (s *Store[T]) Bucket() *ossx.Bucket { return s.b }

// VersionKey returns the key of version seq of id.
func (s *Store[T]) VersionKey(id string, seq uint64) string {
	return s.prefix + id + "/" + fmt.Sprintf("%016x", ^seq) + ".json"
}

// parseKey splits a version key into id and seq.
func (s *Store[T]) parseKey(key string) (id string, seq uint64, ok bool) {
	rest, ok := strings.CutPrefix(key, s.prefix)
	if !ok {
		return "", 0, false
	}
	id, name, ok := strings.Cut(rest, "/")
	if !ok || id == "" || len(name) != 21 || !strings.HasSuffix(name, ".json") {
		return "", 0, false
	}
	inv, err := strconv.ParseUint(name[:16], 16, 64)
	if err != nil || inv == ^uint64(0) {
		return "", 0, false
	}
	return id, ^inv, true
}

// Mutation computes the next document from the current one (nil when the
// id has no document yet). It must not modify cur, and may be called
// several times (once per lost race). changed=false means nothing to write.
type Mutation[T any] func(cur *T) (next *T, changed bool, err error)

// UpdateOptions qualify one Update.
type UpdateOptions struct {
	// CreateFirst says the id is probably new: when it is not cached, try
	// to create version 1 before reading anything. A right guess costs PUT
	// + LIST (the LIST confirms it: the sweep may have removed version 1 of
	// an id that exists); a wrong one a failed PUT more than a cold update.
	CreateFirst bool
}

// Result reports what an Update did.
type Result struct {
	// Version is the document's version after the update (0: none exists).
	Version uint64
	// Written is true when this call created a new version.
	Written bool
	// CacheHit is true when the update started from the cache.
	CacheHit bool
	// Conflicts counts writes lost to another writer (a wrong CreateFirst
	// guess included).
	Conflicts int
	// Retries counts transient write failures retried.
	Retries int
	// Resolved counts ambiguous writes (response lost) found to have landed.
	Resolved int
}

// known is what an update knows of an id: a version, its document (nil
// for version 0, no document), and its trust time. The trust time is a
// moment at which OSS showed that no version above ver existed: the moment
// before the LIST that found ver newest, or before the create-only PUT
// that wrote ver. It is the one fact the sweep's age rule needs (see the
// package documentation), so it is set in exactly those two places and
// only carried otherwise: a document served from memory, read directly by
// key, or found unchanged by a mutation keeps the trust time it came with.
// A write may start from known only while trust is younger than CacheTTL.
type known[T any] struct {
	doc   *T
	ver   uint64
	trust time.Time
}

// Update applies mut to the newest version of id and writes the result as
// the next version, retrying lost races until it succeeds or the context's
// deadline (less the retry reserve) comes. Errors are apierr errors:
// permanent ones come from mut; transient ones (StorageUnavailable,
// Conflict) mean the caller should have the event delivered again.
func (s *Store[T]) Update(ctx context.Context, id string, mut Mutation[T], o UpdateOptions) (Result, error) {
	var res Result
	// Updates of one id in this process take turns: they would only race
	// each other for the same version, and the next in line starts from the
	// version the previous one wrote (a warm cache: one PUT, or none for a
	// duplicate). Other processes are still kept apart by the create-only
	// PUT.
	unlock, err := s.locks.lock(ctx, id)
	if err != nil {
		return res, apierr.Transient(apierr.Conflict, err, "state of %s: waiting for this instance's other updates", id)
	}
	defer unlock()
	cur, fresh := s.cached(id)
	// guess is true while cur is the unconfirmed guess "id has no version";
	// landed, once our guessed version 1 turned out to be built on.
	guess, landed := false, false
	switch {
	case fresh:
		res.CacheHit = true
	case o.CreateFirst:
		guess = true
	default:
		if cur, err = s.load(ctx, id); err != nil {
			return res, err
		}
	}
	for lost := 0; ; {
		next, changed, err := mut(cur.doc)
		if err != nil {
			return res, err
		}
		if !changed {
			if cur.doc != nil && !guess {
				s.cache.put(id, cur)
			}
			res.Version, res.Written = cur.ver, landed
			return res, nil
		}
		body, err := s.codec.Marshal(next)
		if err != nil {
			return res, apierr.Wrap(apierr.Internal, err, "marshal state of %s", id)
		}
		key := s.VersionKey(id, cur.ver+1)
		started := s.now()
		// A guess has no trust time (zero): it is confirmed below instead.
		err = s.create(ctx, key, body, cur.ver+1, cur.trust, &res)
		if err == nil && guess {
			// Version 1 did not exist, but the id may: the sweep deletes old
			// versions, version 1 first. Confirm that ours is the newest
			// before anyone is told it is applied.
			guess = false
			listed := s.now()
			_, newest, lerr := s.newestKey(ctx, id)
			if lerr != nil {
				return res, lerr
			}
			if newest != 1 {
				// Either others built on our version 1 already, or ours filled a
				// hole below the newest version, where no reader looks. A hole
				// is removed, so that the retained versions stay a chain (the
				// sweep would remove it too). Either way the change is applied
				// to the newest version (a no-op when it is there).
				res.Conflicts++
				hole, herr := s.filledHole(ctx, id)
				if herr != nil {
					return res, herr
				}
				if hole {
					_ = s.b.Delete(ctx, key)
				} else {
					landed = true // others built on ours: our change is in
				}
				if cur, err = s.load(ctx, id); err != nil {
					return res, err
				}
				continue
			}
			started = listed // the LIST vouches for version 1, later than the PUT
		}
		if err == nil {
			s.cache.put(id, known[T]{doc: next, ver: cur.ver + 1, trust: started})
			res.Version, res.Written = cur.ver+1, true
			return res, nil
		}
		s.cache.drop(id)
		if errors.Is(err, errStale) {
			// Too long since OSS last vouched for cur (a slow run, or a long
			// run of lost races): only a new LIST may renew the trust.
			if cur, err = s.load(ctx, id); err != nil {
				return res, err
			}
			continue
		}
		if !errors.Is(err, ossx.ErrExists) {
			return res, err
		}
		res.Conflicts++
		lost++
		// The first loss may only mean a stale cache or a wrong CreateFirst
		// guess; back off from the second on, when writers really contend.
		if lost > 1 && !s.conflict.Wait(ctx, lost-1) {
			return res, apierr.Transient(apierr.Conflict, err, "state of %s: lost %d races for the next version within the time budget", id, lost)
		}
		if lost == 1 && res.CacheHit {
			// A stale cache is usually one version behind: read the version
			// that beat us directly (its key is known) instead of listing.
			// It carries the trust time of the cached version: no version
			// above the cached one existed then, so none above this one.
			if doc, derr := s.read(ctx, key); derr == nil {
				cur = known[T]{doc: doc, ver: cur.ver + 1, trust: cur.trust}
				continue
			}
		}
		guess = false
		if cur, err = s.load(ctx, id); err != nil {
			return res, err
		}
	}
}

// read GETs and decodes one version.
func (s *Store[T]) read(ctx context.Context, key string) (*T, error) {
	body, _, err := s.b.GetObject(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", key, err)
	}
	doc, err := s.codec.Unmarshal(body)
	if err != nil {
		return nil, apierr.Transient(apierr.Internal, err, "state object %s is not a valid document", key)
	}
	return doc, nil
}

// filledHole reports whether the version 1 we just created filled a hole
// the sweep left: version 2 is then older than it (the sweep removed
// version 1 only once version 2 was MinAge old), while a version 2 built
// on ours is not. Both times are OSS's. A version 1 or 2 gone already was
// swept, which only happens below old versions: a hole too.
func (s *Store[T]) filledHole(ctx context.Context, id string) (bool, error) {
	ours, err := s.b.HeadObject(ctx, s.VersionKey(id, 1))
	if errors.Is(err, ossx.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("check the version 1 of %s just written: %w", id, err)
	}
	next, err := s.b.HeadObject(ctx, s.VersionKey(id, 2))
	if errors.Is(err, ossx.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("check the version 2 of %s: %w", id, err)
	}
	return next.LastModified.Before(ours.LastModified), nil
}

// errStale stops a write whose trust ran out before it could be sent.
var errStale = errors.New("statestore: the version written from is no longer trusted")

// create writes version seq create-only (ossx.Bucket.Create). With a trust
// time, every attempt is sent only while that trust is younger than
// CacheTTL (errStale otherwise): the sweep's age rule covers the writes
// made within that bound, and no other.
func (s *Store[T]) create(ctx context.Context, key string, body []byte, seq uint64, trust time.Time, res *Result) error {
	o := ossx.CreateOptions{Retry: s.retry, Meta: map[string]string{
		MetaSeq:       strconv.FormatUint(seq, 10),
		MetaWrittenAt: smithytime.FormatDateTime(s.now()),
	}}
	if !trust.IsZero() {
		o.Valid = func() error {
			if s.now().Sub(trust) >= s.ttl {
				return errStale
			}
			return nil
		}
	}
	cr, err := s.b.Create(ctx, key, body, o)
	res.Retries += cr.Retries
	if cr.Resolved {
		res.Resolved++
	}
	return err
}

// cached returns what the cache knows of id if its trust is still young
// enough to write from.
func (s *Store[T]) cached(id string) (known[T], bool) {
	e, ok := s.cache.get(id)
	if !ok || s.now().Sub(e.trust) >= s.ttl {
		return known[T]{}, false
	}
	return e.known, true
}

// load reads the newest version of id: LIST (max-keys 1) then GET, trusted
// from the moment before the LIST. Version 0 (no document) means id has no
// version: the sweep always keeps the newest ones.
func (s *Store[T]) load(ctx context.Context, id string) (known[T], error) {
	for attempt := 0; ; attempt++ {
		trust := s.now()
		key, seq, err := s.newestKey(ctx, id)
		if err != nil || key == "" {
			return known[T]{trust: trust}, err
		}
		doc, err := s.read(ctx, key)
		if errors.Is(err, ossx.ErrNotFound) && attempt < 3 {
			continue // swept between LIST and GET: a newer version exists
		}
		if err != nil {
			return known[T]{}, err
		}
		return known[T]{doc: doc, ver: seq, trust: trust}, nil
	}
}

// newestKey returns the key and seq of the newest version of id, or "".
func (s *Store[T]) newestKey(ctx context.Context, id string) (string, uint64, error) {
	page, err := s.b.List(ctx, ossx.ListOptions{Prefix: s.prefix + id + "/", MaxKeys: 1})
	if err != nil {
		return "", 0, fmt.Errorf("find newest state of %s: %w", id, err)
	}
	if len(page.Objects) == 0 {
		return "", 0, nil
	}
	key := page.Objects[0].Key
	kid, seq, ok := s.parseKey(key)
	if !ok || kid != id {
		return "", 0, apierr.Transient(apierr.Internal, nil, "unexpected object %q under the state prefix of %s", key, id)
	}
	return key, seq, nil
}
