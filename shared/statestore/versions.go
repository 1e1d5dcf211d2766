package statestore

import (
	"context"
	"errors"
	"fmt"

	"mediastate/shared/ossx"
)

// This file holds the read paths of operators and bulk readers (the
// mediastate CLI, snapshots): whole version histories, raw documents, and
// listings of the ids under a prefix.

// EachNewestUnder is EachNewest for the ids that start with idPrefix (all
// ids when it is empty): one LIST per 1000 stored versions under it.
func (s *Store[T]) EachNewestUnder(ctx context.Context, idPrefix string, fn func(Version) error) error {
	return s.eachIDUnder(ctx, idPrefix, func(versions []Version) error { return fn(versions[0]) })
}

// Versions returns the retained versions of id, newest first (the sweep
// deletes all but the newest two after an hour). It returns ErrNotFound
// when id has none.
func (s *Store[T]) Versions(ctx context.Context, id string) ([]Version, error) {
	var out []Version
	err := s.eachIDUnder(ctx, id+"/", func(vs []Version) error {
		out = append(out, vs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	return out, nil
}

// ReadVersion reads and decodes one listed version. The error wraps
// ossx.ErrNotFound when the version was swept since it was listed.
func (s *Store[T]) ReadVersion(ctx context.Context, v Version) (*T, error) {
	return s.read(ctx, v.Key)
}

// ReadNewestRaw returns the stored bytes of the newest version of v.ID,
// starting from the listed version v: one GET, or, when v was swept since
// it was listed (a newer version exists), LIST + GET of the newest. The
// returned Version is the one read.
func (s *Store[T]) ReadNewestRaw(ctx context.Context, v Version) ([]byte, Version, error) {
	for attempt := 0; ; attempt++ {
		body, info, err := s.b.GetObject(ctx, v.Key)
		if err == nil {
			if !info.LastModified.IsZero() {
				v.LastModified = info.LastModified
			}
			return body, v, nil
		}
		if !errors.Is(err, ossx.ErrNotFound) || attempt >= 3 {
			return nil, v, fmt.Errorf("read state %s: %w", v.Key, err)
		}
		key, seq, err := s.newestKey(ctx, v.ID)
		if err != nil {
			return nil, v, err
		}
		if key == "" {
			return nil, v, fmt.Errorf("%s: %w", v.ID, ErrNotFound)
		}
		v.Key, v.Seq = key, seq
	}
}
