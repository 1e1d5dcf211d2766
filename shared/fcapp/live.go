package fcapp

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fc"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	"mediastate/shared/config"
	"mediastate/shared/deadletter"
	"mediastate/shared/live"
	"mediastate/shared/live/notify"
	"mediastate/shared/ossx"
	"mediastate/shared/pipeline"
	"mediastate/shared/signature"
	"mediastate/shared/statestore"
)

// LiveName is the name of the Live recording callback function.
const LiveName = "liverecord"

// MainLive configures the liverecord function from the environment and
// hands it to fc.Start (see NewLive).
func MainLive() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	app, err := NewLive(os.Getenv, logger)
	if err != nil {
		logger.Error("start-up failed", "function", LiveName, "code", string(apierr.CodeOf(err)), "error", err.Error())
		os.Exit(1)
	}
	fc.Start(app.Handle)
}

// NewLive builds the liverecord function: the pipeline of New with the
// notify recorder (package live/notify) added,
//
//	Log, Recover, Recorder, DeadLetter | Budget, Verify, Claimer | decode + apply
//
// so that every callback naming a Live domain is recorded with the answer
// it got, refused ones included, and verified ones carry their occurrence
// (receive time) to the stream state. Its core applies Live events to
// stream state (package live) and dead-letters VOD and IMS events with
// WrongFamily.
//
// Besides the variables of package config it reads LIVE_DEDUP_WINDOW (a
// duration, default 5m, at most 1h): a callback body received again within
// that time of its first reception is a retry of the same callback. The
// records' NotifyUrl is LIVE_CALLBACK_URL.
//
// (It builds the App here instead of through Spec because a Spec cannot
// add a middleware outside the dead-letter one; a Spec.Outer field would
// let New do it.)
func NewLive(getenv config.Getenv, logger *slog.Logger) (*App, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	window := time.Duration(0)
	if v := strings.TrimSpace(getenv("LIVE_DEDUP_WINDOW")); v != "" {
		d, perr := time.ParseDuration(v)
		if perr != nil || d <= 0 || d > notify.MaxDedupWindow {
			return nil, apierr.New(apierr.InvalidConfig, "invalid configuration: LIVE_DEDUP_WINDOW: want a duration from 1s to %v, got %q", notify.MaxDedupWindow, v)
		}
		window = d
	}
	creds := ossx.NewCredentials(ossx.Key{
		AccessKeyID: getenv("OSS_ACCESS_KEY_ID"), AccessKeySecret: getenv("OSS_ACCESS_KEY_SECRET"), SecurityToken: getenv("OSS_SESSION_TOKEN"),
	})
	b, err := ossx.New(ossx.Config{Endpoint: cfg.Endpoint, Bucket: cfg.Bucket, Region: cfg.Region, Credentials: creds})
	if err != nil {
		return nil, err
	}
	env := &Env{Name: LiveName, Config: cfg, Bucket: b, Logger: logger}
	streams, err := live.NewStore(b, cfg.Prefix, statestore.Options{CacheSize: cfg.CacheSize, CacheTTL: cfg.CacheTTL})
	if err != nil {
		return nil, err
	}
	records, err := notify.NewStore(b, cfg.Prefix, notify.Options{DedupWindow: window})
	if err != nil {
		return nil, err
	}
	set, err := signature.NewSet(cfg.Verifiers...)
	if err != nil {
		return nil, err
	}
	spec := Spec{Name: LiveName, Families: []callback.Family{callback.FamilyLive},
		NewApplier: func(*Env) (pipeline.Applier, error) { return live.Applier{Store: streams}, nil }}
	core := pipeline.Apply(live.Applier{Store: streams}, spec.Families...)
	rec := &notify.Recorder{Store: records, NotifyURL: strings.TrimSpace(getenv("LIVE_CALLBACK_URL"))}
	dl := deadletter.New(b, cfg.Prefix, LiveName)
	outer := []pipeline.Middleware{pipeline.Log(logger, LiveName, RequestID), pipeline.Recover(), rec.Middleware(), pipeline.DeadLetter(dl, RequestID)}
	inner := []pipeline.Middleware{pipeline.Budget(cfg.AnswerBudget), pipeline.Verify(set, cfg.AuthOff), rec.Claimer()}
	app := &App{spec: spec, env: env, creds: creds, invoker: pipeline.NewInvoker(core, outer, inner), dl: dl}

	effective := window
	if effective == 0 {
		effective = notify.DefaultDedupWindow
	}
	schemes := []string{}
	for _, v := range cfg.Verifiers {
		schemes = append(schemes, v.Scheme.Name)
	}
	logger.Info("cold start", "function", LiveName, "endpoint", cfg.Endpoint, "bucket", cfg.Bucket, "prefix", cfg.Prefix,
		"signatureSchemes", strings.Join(schemes, ","), "secretsSet", strings.Join(cfg.SecretsLoaded, ","),
		"notifyUrl", rec.NotifyURL, "dedupWindow", effective.String())
	if cfg.AuthOff {
		logger.Warn("CALLBACK_AUTH=off: HTTP callbacks are accepted WITHOUT signature verification; anyone who can reach the HTTP trigger can write state",
			"function", LiveName)
	}
	if rec.NotifyURL == "" {
		logger.Warn("LIVE_CALLBACK_URL is not set: notify records will have an empty NotifyUrl", "function", LiveName)
	}
	if creds.Valid() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := app.checkReady(ctx); err != nil && apierr.IsPermanent(err) {
			return nil, err
		}
	}
	return app, nil
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
