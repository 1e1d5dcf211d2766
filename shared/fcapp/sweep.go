package fcapp

import (
	"context"
	"time"

	"mediastate/shared/media"
	"mediastate/shared/statestore"
)

// SweepReport is the sweep function's answer.
type SweepReport struct {
	Media      statestore.SweepStats `json:"media"`
	Jobs       statestore.SweepStats `json:"jobs"`
	Live       statestore.SweepStats `json:"live"`
	DurationMs int64                 `json:"durationMs"`
}

// Sweep deletes old versions of every media state and every Live stream
// state (statestore.Sweep with its defaults: keep the newest 2, delete only
// versions whose successor is older than an hour).
func Sweep(ctx context.Context, env *Env) (any, error) {
	start := time.Now()
	s, err := media.NewStore(env.Bucket, env.Config.Prefix, statestore.Options{CacheSize: 1})
	if err != nil {
		return nil, err
	}
	j, err := media.NewJobStore(env.Bucket, env.Config.Prefix, statestore.Options{CacheSize: 1})
	if err != nil {
		return nil, err
	}
	var rep SweepReport
	rep.Media, err = s.Sweep(ctx, statestore.SweepOptions{})
	if err == nil {
		rep.Jobs, err = j.Sweep(ctx, statestore.SweepOptions{})
	}
	if err == nil {
		rep.Live, err = SweepLive(ctx, env)
	}
	rep.DurationMs = time.Since(start).Milliseconds()
	env.Logger.Info("sweep", "function", env.Name, "ids", rep.Media.IDs+rep.Jobs.IDs+rep.Live.IDs, "versions", rep.Media.Versions+rep.Jobs.Versions+rep.Live.Versions,
		"deleted", rep.Media.Deleted+rep.Jobs.Deleted+rep.Live.Deleted, "durationMs", rep.DurationMs, "error", errString(err))
	return rep, err
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
