package fcapp

import (
	"context"
	"log/slog"
	"os"

	"github.com/aliyun/fc-runtime-go-sdk/fc"

	"mediastate/shared/apierr"
	"mediastate/shared/config"
	"mediastate/shared/ossx"
)

// Task is a function that is not fed callbacks, such as the sweep of old
// state versions run by a timer trigger.
type Task struct {
	env   *Env
	creds *ossx.Credentials
	run   func(ctx context.Context, env *Env) (any, error)
}

// MainTask configures a task function from the environment and hands it
// to fc.Start.
func MainTask(name string, run func(ctx context.Context, env *Env) (any, error)) {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	t, err := NewTask(name, os.Getenv, logger, run)
	if err != nil {
		logger.Error("start-up failed", "function", name, "code", string(apierr.CodeOf(err)), "error", err.Error())
		os.Exit(1)
	}
	fc.Start(t.Handle)
}

// NewTask builds a task function.
func NewTask(name string, getenv config.Getenv, logger *slog.Logger, run func(context.Context, *Env) (any, error)) (*Task, error) {
	cfg, err := config.LoadStorage(getenv)
	if err != nil {
		return nil, err
	}
	b, creds, err := openBucket(cfg, getenv)
	if err != nil {
		return nil, err
	}
	return &Task{env: &Env{Name: name, Config: cfg, Bucket: b, Logger: logger}, creds: creds, run: run}, nil
}

// Handle is the fc.Start handler; the payload (a timer event) is ignored.
func (t *Task) Handle(ctx context.Context, _ []byte) (any, error) {
	ctx = fromInvocation(ctx, t.creds)
	if err := t.env.Bucket.CheckUnversioned(ctx); err != nil {
		return nil, err
	}
	return t.run(ctx, t.env)
}
