package live

import (
	"context"
	"strings"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	"mediastate/shared/ossx"
	"mediastate/shared/statestore"
	"mediastate/shared/trigger"
)

// KeyPrefix returns the key prefix of stream states under the project
// prefix: <prefix>live/streams/<StoreID>/<16 hex digits of ^version>.json.
func KeyPrefix(prefix string) string { return prefix + "live/streams/" }

// Store is the stream state store.
type Store = statestore.Store[Stream]

// NewStore returns the stream state store under the project prefix.
func NewStore(b *ossx.Bucket, prefix string, o statestore.Options) (*Store, error) {
	o.Prefix = KeyPrefix(prefix)
	return statestore.New(b, Codec, o)
}

// StoreID returns the statestore id of a stream: domain, app and stream
// joined with '~', each with its '~' written as "%7E". A valid name (see
// callback.ValidateID) never contains '%' or '/', so the encoding is
// unambiguous, and all streams of a domain share the id prefix
// StoreID(domain)+"~". Names must be valid ids.
func StoreID(domain, app, stream string) (string, error) {
	for _, p := range []struct{ field, v string }{{"domain", domain}, {"app", app}, {"stream", stream}} {
		if err := callback.ValidateID(p.field, p.v); err != nil {
			return "", err
		}
	}
	esc := func(s string) string { return strings.ReplaceAll(s, "~", "%7E") }
	return esc(domain) + "~" + esc(app) + "~" + esc(stream), nil
}

// Applier applies Live recording events to stream state (a
// pipeline.Applier). Status events without a time need the delivery's
// occurrence (trigger.Delivery.Occurrence): the Live recorder sets it
// there.
type Applier struct {
	Store *Store
}

// Apply folds e into the state of its stream. VOD and IMS events are
// refused with WrongFamily (permanent: dead-lettered).
func (a Applier) Apply(ctx context.Context, d *trigger.Delivery, e *callback.Event) (statestore.Result, error) {
	if e.Family != callback.FamilyLive || (e.LiveFile == nil && e.LiveStatus == nil) {
		return statestore.Result{}, apierr.New(apierr.WrongFamily,
			"%s is not a Live recording event: send VOD and IMS callbacks to the upload, media, transcode or editing function", e.Type).WithEventType(e.Type)
	}
	domain, app, stream := names(e)
	id, err := StoreID(domain, app, stream)
	if err != nil {
		return statestore.Result{}, err
	}
	var occ Occurrence
	if d != nil && d.Occurrence != nil {
		occ = Occurrence{Domain: domain, EventID: e.EventID, Seq: d.Occurrence.Seq, ReceivedAt: d.Occurrence.ReceivedAt}
	}
	return a.Store.Update(ctx, id, func(cur *Stream) (*Stream, bool, error) {
		return Apply(cur, e, occ)
	}, statestore.UpdateOptions{CreateFirst: e.Type == "record_started"})
}

// Reader reads stream states. It keeps no cache: every Get reads the newest
// version (one LIST and one GET).
type Reader struct {
	store *Store
}

// NewReader returns a Reader on bucket b under the project prefix.
func NewReader(b *ossx.Bucket, prefix string) (*Reader, error) {
	s, err := NewStore(b, prefix, statestore.Options{CacheSize: 1})
	if err != nil {
		return nil, err
	}
	return &Reader{store: s}, nil
}

// Get returns the current state of a stream and its version. The error
// wraps statestore.ErrNotFound when no event was applied for it.
func (r *Reader) Get(ctx context.Context, domain, app, stream string) (*Stream, uint64, error) {
	id, err := StoreID(domain, app, stream)
	if err != nil {
		return nil, 0, err
	}
	return r.store.Get(ctx, id)
}
