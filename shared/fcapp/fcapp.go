// Package fcapp wires the shared parts into a Function Compute function:
// configuration from the environment, the OSS bucket with role
// credentials, the state store, the dead-letter store, the pipeline, and
// fc.Start. Each function's main.go is a call to Main with its Spec.
package fcapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	"mediastate/shared/config"
	"mediastate/shared/deadletter"
	"mediastate/shared/ossx"
	"mediastate/shared/pipeline"
	"mediastate/shared/signature"
)

// Env is what a Spec's constructors get to build their parts from.
type Env struct {
	Name   string
	Config *config.Config
	Bucket *ossx.Bucket
	Logger *slog.Logger
}

// Spec describes one function.
type Spec struct {
	// Name is the function's name, used in logs and dead-letter keys.
	Name string
	// Families are the event families the function is meant for.
	Families []callback.Family
	// NewApplier builds the state applier.
	NewApplier func(env *Env) (pipeline.Applier, error)
	// Extend, when set, adds middlewares to the standard pipeline
	//
	//	Log, Recover, Budget, <outer...>, DeadLetter | Verify | Ready, <inner...> | core
	//
	// outer ones see every delivery and its final result (dead letter
	// included), within the answer budget; inner ones only deliveries that
	// passed verification.
	Extend func(env *Env) (outer, inner []pipeline.Middleware, err error)
}

// App is a configured function fed callbacks.
type App struct {
	*base
	spec    Spec
	invoker *pipeline.Invoker
	dl      *deadletter.Store
}

// New builds the function. getenv reads the configuration.
func New(spec Spec, getenv config.Getenv, logger *slog.Logger) (*App, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	bs, err := bootstrap(spec.Name, cfg, getenv, logger)
	if err != nil {
		return nil, err
	}
	env := bs.env
	applier, err := spec.NewApplier(env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Name, err)
	}
	set, err := signature.NewSet(cfg.Verifiers...)
	if err != nil {
		return nil, err
	}
	core := pipeline.Apply(applier, spec.Families...)
	var extraOuter, extraInner []pipeline.Middleware
	if spec.Extend != nil {
		if extraOuter, extraInner, err = spec.Extend(env); err != nil {
			return nil, fmt.Errorf("%s: %w", spec.Name, err)
		}
	}
	dl := deadletter.New(env.Bucket, cfg.Prefix, spec.Name)
	app := &App{base: bs, spec: spec, dl: dl}
	// The answer budget is outermost but for logging, so that every HTTP
	// delivery, its dead letter and notify record included, is answered
	// within the sender's patience.
	outer := append(append([]pipeline.Middleware{pipeline.Log(logger, spec.Name), pipeline.Recover(), pipeline.Budget(cfg.AnswerBudget)},
		extraOuter...), pipeline.DeadLetter(dl, cfg.AuthOff))
	gate := []pipeline.Middleware{pipeline.Verify(set, cfg.AuthOff)}
	inner := append([]pipeline.Middleware{pipeline.Ready(app.ready.check)}, extraInner...)
	app.invoker = pipeline.NewInvoker(core, outer, gate, inner)

	schemes := []string{}
	for _, v := range cfg.Verifiers {
		schemes = append(schemes, v.Scheme.Name)
	}
	logger.Info("cold start", "function", spec.Name, "endpoint", cfg.Endpoint, "bucket", cfg.Bucket, "prefix", cfg.Prefix,
		"signatureSchemes", strings.Join(schemes, ","), "secretsSet", strings.Join(cfg.SecretsLoaded, ","))
	if cfg.AuthOff {
		logger.Warn("CALLBACK_AUTH=off: HTTP callbacks are accepted WITHOUT signature verification; anyone who can reach the HTTP trigger can write state",
			"function", spec.Name)
	}
	if app.creds.Valid() {
		// Run outside FC with static credentials: check the bucket now.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := app.ready.check(ctx); err != nil && apierr.IsPermanent(err) {
			return nil, err
		}
	}
	return app, nil
}

// Handle is the fc.Start handler: it takes the invocation's role
// credentials and runs the pipeline (or a control action, see Control).
// The bucket check runs inside the pipeline (pipeline.Ready), within each
// delivery's answer budget.
func (a *App) Handle(ctx context.Context, payload []byte) (any, error) {
	requestID := a.begin(ctx)
	if c, ok := parseControl(payload); ok {
		if err := a.ready.check(ctx); err != nil {
			return nil, err
		}
		return a.control(ctx, c, requestID)
	}
	return a.invoker.Invoke(ctx, payload, requestID)
}

// Control is an operator action sent as the invocation payload:
//
//	{"mediastate": {"action": "replay-dead-letters", "includeUnverified": false, "limit": 0, "dryRun": false}}
type Control struct {
	Action            string `json:"action"`
	IncludeUnverified bool   `json:"includeUnverified"`
	Limit             int    `json:"limit"`
	DryRun            bool   `json:"dryRun"`
}

// maxControl is the largest payload read as a Control: control payloads
// are a few dozen bytes, callback payloads are left alone.
const maxControl = 4 << 10

// parseControl reads a Control payload: a JSON object (any white space
// around it) whose only member is "mediastate", an object. Anything else
// is not a control payload.
func parseControl(payload []byte) (Control, bool) {
	if len(payload) > maxControl || !bytes.Contains(payload, []byte(`"mediastate"`)) || !json.Valid(payload) {
		return Control{}, false
	}
	var env map[string]json.RawMessage
	if json.Unmarshal(payload, &env) != nil || len(env) != 1 || env["mediastate"] == nil {
		return Control{}, false
	}
	var c Control
	if json.Unmarshal(env["mediastate"], &c) != nil {
		return Control{}, false
	}
	return c, true
}

func (a *App) control(ctx context.Context, c Control, requestID string) (any, error) {
	switch c.Action {
	case ActionReplay:
		rep, err := pipeline.Replay(ctx, a.invoker, a.dl, pipeline.ReplayOptions{IncludeUnverified: c.IncludeUnverified, Limit: c.Limit, DryRun: c.DryRun, RequestID: requestID})
		a.env.Logger.Info("replay", "function", a.spec.Name, "requestId", requestID, "seen", rep.Seen, "replayed", rep.Replayed,
			"kept", rep.Kept, "skipped", rep.Skipped)
		return rep, err
	}
	return nil, errors.New(`unknown control action: want {"mediastate":{"action":"replay-dead-letters"}}`)
}
