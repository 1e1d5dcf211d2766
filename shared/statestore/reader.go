package statestore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/ossx"
)

// ErrNotFound: the id has no document.
var ErrNotFound = errors.New("statestore: no document")

// Get reads the newest version of id without using the cache: one LIST and
// one GET. It returns ErrNotFound when id has no document.
func (s *Store[T]) Get(ctx context.Context, id string) (*T, uint64, error) {
	k, err := s.load(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	if k.doc == nil {
		return nil, 0, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	return k.doc, k.ver, nil
}

// EachVersion calls fn with every retained version of id and its
// document, newest first (Versions, then one GET each). Versions swept
// between the LIST and the GET are passed over.
func (s *Store[T]) EachVersion(ctx context.Context, id string, fn func(v Version, doc *T) error) error {
	vs, err := s.Versions(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, v := range vs {
		doc, err := s.read(ctx, v.Key)
		if errors.Is(err, ossx.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := fn(v, doc); err != nil {
			return err
		}
	}
	return nil
}

// Version describes one stored version.
type Version struct {
	ID           string
	Seq          uint64
	Key          string
	Size         int64
	LastModified time.Time
}

// EachNewest calls fn with the newest version of every id, in key order,
// listing 1000 keys per request. fn may return an error to stop.
func (s *Store[T]) EachNewest(ctx context.Context, fn func(Version) error) error {
	return s.eachID(ctx, func(versions []Version) error { return fn(versions[0]) })
}

// EachDocument calls fn with the newest document of every id: EachNewest
// plus one GET per id.
func (s *Store[T]) EachDocument(ctx context.Context, fn func(v Version, doc *T) error) error {
	return s.EachNewest(ctx, func(v Version) error {
		body, _, err := s.b.GetObject(ctx, v.Key)
		if errors.Is(err, ossx.ErrNotFound) {
			// Superseded and swept since the listing: read the newest again.
			k, err := s.load(ctx, v.ID)
			if err != nil || k.doc == nil {
				return err
			}
			v.Seq, v.Key = k.ver, s.VersionKey(v.ID, k.ver)
			return fn(v, k.doc)
		}
		if err != nil {
			return err
		}
		doc, err := s.codec.Unmarshal(body)
		if err != nil {
			return apierr.Transient(apierr.Internal, err, "state object %s is not a valid document", v.Key)
		}
		return fn(v, doc)
	})
}

// eachID lists every version under the prefix and calls fn once per id
// with its versions, newest first.
func (s *Store[T]) eachID(ctx context.Context, fn func([]Version) error) error {
	return s.eachIDUnder(ctx, "", fn)
}

// eachIDUnder is eachID for the ids that start with idPrefix.
func (s *Store[T]) eachIDUnder(ctx context.Context, idPrefix string, fn func([]Version) error) error {
	var group []Version
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		err := fn(group)
		group = nil
		return err
	}
	token := ""
	for {
		page, err := s.b.List(ctx, ossx.ListOptions{Prefix: s.prefix + idPrefix, ContinuationToken: token})
		if err != nil {
			return fmt.Errorf("list states: %w", err)
		}
		for _, o := range page.Objects {
			id, seq, ok := s.parseKey(o.Key)
			if !ok {
				continue // not a version key: left alone
			}
			if len(group) > 0 && group[0].ID != id {
				if err := flush(); err != nil {
					return err
				}
			}
			group = append(group, Version{ID: id, Seq: seq, Key: o.Key, Size: o.Size, LastModified: o.LastModified})
		}
		if page.NextToken == "" {
			return flush()
		}
		token = page.NextToken
	}
}

// SweepOptions configure Sweep.
type SweepOptions struct {
	// Keep is how many newest versions of each id to keep; at least 1,
	// default 2.
	Keep int
	// MinAge: a version is deleted only when its successor is older than
	// MinAge. It must exceed the writers' CacheTTL plus the longest function
	// run; default 1 hour, at least 15 minutes.
	MinAge time.Duration
	// DryRun lists what would be deleted without deleting it.
	DryRun bool
}

// SweepStats reports what Sweep did.
type SweepStats struct {
	IDs, Versions, Deleted int
}

// MinSweepAge is the smallest SweepOptions.MinAge accepted.
const MinSweepAge = 15 * time.Minute

// Sweep deletes old versions (see the package documentation for why the
// age rule makes this safe against writers with cached versions).
func (s *Store[T]) Sweep(ctx context.Context, o SweepOptions) (SweepStats, error) {
	var st SweepStats
	if o.Keep <= 0 {
		o.Keep = 2
	}
	if o.MinAge == 0 {
		o.MinAge = time.Hour
	}
	if o.MinAge < MinSweepAge {
		return st, apierr.New(apierr.InvalidConfig, "sweep min age %v is below %v: writers with cached versions could fill a deleted version", o.MinAge, MinSweepAge)
	}
	cutoff := s.now().Add(-o.MinAge)
	var doomed []string
	err := s.eachID(ctx, func(vs []Version) error {
		st.IDs++
		st.Versions += len(vs)
		for i := o.Keep; i < len(vs); i++ {
			if vs[i-1].LastModified.Before(cutoff) {
				doomed = append(doomed, vs[i].Key)
			}
		}
		if len(doomed) >= 1000 {
			return s.deleteKeys(ctx, &doomed, &st, o.DryRun)
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	return st, s.deleteKeys(ctx, &doomed, &st, o.DryRun)
}

func (s *Store[T]) deleteKeys(ctx context.Context, keys *[]string, st *SweepStats, dry bool) error {
	if len(*keys) == 0 {
		return nil
	}
	if !dry {
		if err := s.b.Delete(ctx, *keys...); err != nil {
			return fmt.Errorf("sweep: %w", err)
		}
	}
	st.Deleted += len(*keys)
	*keys = (*keys)[:0]
	return nil
}
