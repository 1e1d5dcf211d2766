// Package media stores the per-MediaId state documents (package state) in
// OSS with the versioned create-only store (package statestore), and gives
// the pipeline the Applier that folds events into them.
//
// Keys: <prefix>media/<MediaId>/<16 hex digits of ^version>.json. See
// README.md (OSS layout) and package statestore.
package media

import (
	"context"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	"mediastate/shared/ossx"
	"mediastate/shared/state"
	"mediastate/shared/statestore"
	"mediastate/shared/trigger"
)

// Codec is the statestore codec of media state documents.
var Codec = statestore.Codec[state.Media]{Marshal: state.Marshal, Unmarshal: state.Unmarshal}

// KeyPrefix returns the key prefix of media states under the project prefix.
func KeyPrefix(prefix string) string { return prefix + "media/" }

// Store is the media state store.
type Store = statestore.Store[state.Media]

// NewStore returns the media state store under the project prefix.
func NewStore(b *ossx.Bucket, prefix string, o statestore.Options) (*Store, error) {
	o.Prefix = KeyPrefix(prefix)
	return statestore.New(b, Codec, o)
}

// Applier applies VOD and IMS events to media state.
type Applier struct {
	Store *Store
}

// Apply folds e into the state of e.ID. Live recording events have no media
// state: they are refused with WrongFamily (permanent). Upload events
// usually come first for a media asset, so their update tries to create the
// first version straight away.
func (a Applier) Apply(ctx context.Context, _ *trigger.Delivery, e *callback.Event) (statestore.Result, error) {
	if e.Family == callback.FamilyLive {
		return statestore.Result{}, apierr.New(apierr.WrongFamily,
			"%s is a Live recording event: send Live recording callbacks to the liverecord function", e.Type).WithEventType(e.Type)
	}
	if err := callback.ValidateID(e.IDField, e.ID); err != nil {
		return statestore.Result{}, err
	}
	return a.Store.Update(ctx, e.ID, func(cur *state.Media) (*state.Media, bool, error) {
		return state.Apply(cur, e)
	}, statestore.UpdateOptions{CreateFirst: e.Family == callback.FamilyUpload})
}
