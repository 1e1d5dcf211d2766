package fcapp

import (
	"context"
	"log/slog"

	"mediastate/shared/config"
)

// Task is a function that is not fed callbacks, such as the sweep of old
// state versions run by a timer trigger.
type Task struct {
	*base
	run func(ctx context.Context, env *Env) (any, error)
}

// NewTask builds a task function.
func NewTask(name string, getenv config.Getenv, logger *slog.Logger, run func(context.Context, *Env) (any, error)) (*Task, error) {
	cfg, err := config.LoadStorage(getenv)
	if err != nil {
		return nil, err
	}
	bs, err := bootstrap(name, cfg, getenv, logger)
	if err != nil {
		return nil, err
	}
	return &Task{base: bs, run: run}, nil
}

// Handle is the fc.Start handler; the payload (a timer event) is ignored.
// The task runs once the bucket is found fit (readiness), like the
// deliveries of an App.
func (t *Task) Handle(ctx context.Context, _ []byte) (any, error) {
	_ = t.begin(ctx)
	if err := t.ready.check(ctx); err != nil {
		return nil, err
	}
	return t.run(ctx, t.env)
}
