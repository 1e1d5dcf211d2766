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
	DurationMs int64                 `json:"durationMs"`
}

// Sweep deletes old versions of every media state (statestore.Sweep with
// its defaults: keep the newest 2, delete only versions whose successor is
// older than an hour).
func Sweep(ctx context.Context, env *Env) (any, error) {
	start := time.Now()
	s, err := media.NewStore(env.Bucket, env.Config.Prefix, statestore.Options{CacheSize: 1})
	if err != nil {
		return nil, err
	}
	st, err := s.Sweep(ctx, statestore.SweepOptions{})
	rep := SweepReport{Media: st, DurationMs: time.Since(start).Milliseconds()}
	env.Logger.Info("sweep", "function", env.Name, "ids", st.IDs, "versions", st.Versions, "deleted", st.Deleted,
		"durationMs", rep.DurationMs, "error", errString(err))
	return rep, err
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
