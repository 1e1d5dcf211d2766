package media

import (
	"context"

	"mediastate/shared/callback"
	"mediastate/shared/ossx"
	"mediastate/shared/state"
	"mediastate/shared/statestore"
)

// Reader reads media states for downstream jobs. It keeps no cache: every
// Get reads the newest version (one LIST and one GET).
type Reader struct {
	store *Store
	jobs  *Store
}

// NewReader returns a Reader on bucket b under the project prefix (the
// functions' STATE_PREFIX, default "mediastate/").
func NewReader(b *ossx.Bucket, prefix string) (*Reader, error) {
	s, err := NewStore(b, prefix, statestore.Options{CacheSize: 1})
	if err != nil {
		return nil, err
	}
	j, err := NewJobStore(b, prefix, statestore.Options{CacheSize: 1})
	if err != nil {
		return nil, err
	}
	return &Reader{store: s, jobs: j}, nil
}

// GetJob returns the current state of a URL pull job (UploadMediaByURL,
// UploadStreamByURL) and its version: its events, whether or not they
// name the media, and the media it produced (MediaID) once one did. The
// error wraps statestore.ErrNotFound when no event was ever applied for it.
func (r *Reader) GetJob(ctx context.Context, jobID string) (*state.Media, uint64, error) {
	if err := callback.ValidateID("jobId", jobID); err != nil {
		return nil, 0, err
	}
	return r.jobs.Get(ctx, jobID)
}

// Get returns the current state of a media asset and its version. The
// error wraps statestore.ErrNotFound when no event was ever applied for it.
func (r *Reader) Get(ctx context.Context, mediaID string) (*state.Media, uint64, error) {
	if err := callback.ValidateID("mediaId", mediaID); err != nil {
		return nil, 0, err
	}
	return r.store.Get(ctx, mediaID)
}

// Each calls fn with the current state of every media asset, in MediaId
// order: one LIST per 1000 stored versions plus one GET per asset.
func (r *Reader) Each(ctx context.Context, fn func(m *state.Media, version uint64) error) error {
	return r.store.EachDocument(ctx, func(v statestore.Version, m *state.Media) error { return fn(m, v.Seq) })
}
