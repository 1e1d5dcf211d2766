package fcapp

import (
	"context"
	"log/slog"

	"mediastate/shared/callback"
	"mediastate/shared/config"
	"mediastate/shared/live"
	"mediastate/shared/live/notify"
	"mediastate/shared/live/recorder"
	"mediastate/shared/pipeline"
	"mediastate/shared/statestore"
)

// LiveName is the name of the Live recording callback function.
const LiveName = "liverecord"

// NewLive builds the liverecord function (see LiveSpec).
func NewLive(getenv config.Getenv, logger *slog.Logger) (*App, error) {
	return New(LiveSpec(), getenv, logger)
}

// LiveSpec is the liverecord function: the standard pipeline with the
// Live recorder (package live/recorder) added,
//
//	Log, Recover, Budget, Recorder, DeadLetter | Verify | Ready, Claimer | decode + apply
//
// so that every trusted callback naming a Live domain is recorded with the
// answer it got (failed ones included; unsigned ones never), and verified
// ones carry their occurrence
// (receive time) to the stream state. Its core applies Live events to
// stream state (package live) and dead-letters VOD and IMS events with
// WrongFamily.
//
// Besides the variables of package config it reads LIVE_DEDUP_WINDOW (a
// duration, default 5m, at most 1h): a callback body received again within
// that time of its first reception is a retry of the same callback. The
// records' NotifyUrl is LIVE_CALLBACK_URL.
func LiveSpec() Spec {
	return Spec{
		Name:     LiveName,
		Families: []callback.Family{callback.FamilyLive},
		NewApplier: func(env *Env) (pipeline.Applier, error) {
			streams, err := live.NewStore(env.Bucket, env.Config.Prefix, statestore.Options{CacheSize: env.Config.CacheSize, CacheTTL: env.Config.CacheTTL})
			if err != nil {
				return nil, err
			}
			return live.Applier{Store: streams}, nil
		},
		Extend: func(env *Env) (outer, inner []pipeline.Middleware, err error) {
			window := env.Config.LiveDedupWindow
			records, err := notify.NewStore(env.Bucket, env.Config.Prefix, notify.Options{DedupWindow: window})
			if err != nil {
				return nil, nil, err
			}
			rec := &recorder.Recorder{Store: records, NotifyURL: env.Config.LiveCallbackURL}
			if window == 0 {
				window = notify.DefaultDedupWindow
			}
			env.Logger.Info("live recorder", "function", LiveName, "notifyUrl", rec.NotifyURL, "dedupWindow", window.String())
			if rec.NotifyURL == "" {
				env.Logger.Warn("LIVE_CALLBACK_URL is not set: notify records will have an empty NotifyUrl", "function", LiveName)
			}
			return []pipeline.Middleware{rec.Middleware()}, []pipeline.Middleware{rec.Claimer()}, nil
		},
	}
}

// SweepLive deletes old versions of every stream state, with the rules of
// Sweep (keep the newest 2; delete a version only when its successor is
// older than an hour). The sweep function should run it next to the media
// sweep.
func SweepLive(ctx context.Context, env *Env) (statestore.SweepStats, error) {
	s, err := live.NewStore(env.Bucket, env.Config.Prefix, statestore.Options{CacheSize: 1})
	if err != nil {
		return statestore.SweepStats{}, err
	}
	return s.Sweep(ctx, statestore.SweepOptions{})
}
