// Package media stores the per-MediaId state documents (package state) in
// OSS with the versioned create-only store (package statestore), and gives
// the pipeline the Applier that folds events into them.
//
// Keys: <prefix>media/<MediaId>/<16 hex digits of ^version>.json, and for
// the job states of URL pulls <prefix>jobs/<JobId>/<16 hex digits>.json.
// See README.md (OSS layout) and package statestore.
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

// KeyPrefix returns the key prefix of media states under the project prefix.
func KeyPrefix(prefix string) string { return prefix + "media/" }

// JobKeyPrefix returns the key prefix of job states under the project
// prefix.
func JobKeyPrefix(prefix string) string { return prefix + "jobs/" }

// Store is the media state store.
type Store = statestore.Store[state.Media]

// NewStore returns the media state store under the project prefix.
func NewStore(b *ossx.Bucket, prefix string, o statestore.Options) (*Store, error) {
	o.Prefix = KeyPrefix(prefix)
	return statestore.New(b, state.Codec, o)
}

// NewJobStore returns the job state store under the project prefix.
func NewJobStore(b *ossx.Bucket, prefix string, o statestore.Options) (*Store, error) {
	o.Prefix = JobKeyPrefix(prefix)
	return statestore.New(b, state.Codec, o)
}

// Applier applies VOD and IMS events to media state, and the events of
// job-keyed types (callback.TypeSpec.JobKeyed) to job state.
type Applier struct {
	Store *Store
	// Jobs is the job state store; nil refuses job-keyed events.
	Jobs *Store
}

// Apply folds e into the state of e.ID. Live recording events have no media
// state: they are refused with WrongFamily (permanent). Upload events
// usually come first for a media asset, so their update tries to create the
// first version straight away. An event keyed by a JobId (a failed URL
// pull) goes to the job state only; an event of a job-keyed type that names
// both goes to the media state and then to the job state, which links the
// job to the media. The result is the media state's (its Written decides
// applied or duplicate), or the job state's for an event keyed by a JobId;
// the job state's conflicts and retries are added.
func (a Applier) Apply(ctx context.Context, _ *trigger.Delivery, e *callback.Event) (statestore.Result, error) {
	if e.Family == callback.FamilyLive {
		return statestore.Result{}, apierr.New(apierr.WrongFamily,
			"%s is a Live recording event: send Live recording callbacks to the liverecord function", e.Type).WithEventType(e.Type)
	}
	if err := callback.ValidateID(e.IDField, e.ID); err != nil {
		return statestore.Result{}, err
	}
	mediaID, jobID := state.Subjects(e)
	if mediaID == "" {
		return a.applyJob(ctx, e)
	}
	res, err := a.Store.Update(ctx, mediaID, func(cur *state.Media) (*state.Media, bool, error) {
		return state.Apply(cur, e)
	}, statestore.UpdateOptions{CreateFirst: e.Family == callback.FamilyUpload})
	if err != nil || jobID == "" {
		return res, err
	}
	// The media state is the event's primary document: whether the event
	// counts as applied (once, whatever the copies) is its answer alone; the
	// job state follows it (a copy that finds the media state done still
	// completes a job state a crash left behind).
	jr, err := a.applyJob(ctx, e)
	res.Conflicts += jr.Conflicts
	res.Retries += jr.Retries
	res.Resolved += jr.Resolved
	return res, err
}

// applyJob folds e into the job state of e.JobID.
func (a Applier) applyJob(ctx context.Context, e *callback.Event) (statestore.Result, error) {
	if a.Jobs == nil {
		return statestore.Result{}, apierr.New(apierr.Internal, "media: no job store for job-keyed event %s", e.EventID).WithEventType(e.Type)
	}
	if err := callback.ValidateID("JobId", e.JobID); err != nil {
		return statestore.Result{}, err
	}
	return a.Jobs.Update(ctx, e.JobID, func(cur *state.Media) (*state.Media, bool, error) {
		return state.ApplyJob(cur, e)
	}, statestore.UpdateOptions{CreateFirst: true})
}
