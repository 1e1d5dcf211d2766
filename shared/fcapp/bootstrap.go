package fcapp

import (
	"context"
	"log/slog"
	"sync"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"mediastate/shared/apierr"
	"mediastate/shared/config"
	"mediastate/shared/ossx"
)

// base is what every function of this package is built on (App, Task,
// LiveQuery): its Env, the credentials each invocation refreshes, and the
// bucket check.
type base struct {
	env   *Env
	creds *ossx.Credentials
	ready *readiness
}

// bootstrap opens the configured bucket with credentials from the
// environment (FC functions replace them per invocation, see begin) and
// returns the base of the function called name.
func bootstrap(name string, cfg *config.Config, getenv config.Getenv, logger *slog.Logger) (*base, error) {
	creds := ossx.CredentialsFromEnv(getenv)
	b, err := ossx.New(ossx.Config{Endpoint: cfg.Endpoint, Bucket: cfg.Bucket, Region: cfg.Region, Credentials: creds})
	if err != nil {
		return nil, err
	}
	env := &Env{Name: name, Config: cfg, Bucket: b, Logger: logger}
	return &base{env: env, creds: creds, ready: &readiness{env: env, creds: creds}}, nil
}

// begin takes the invocation's role credentials and returns its FC request
// id. It reads the FC context once per invocation: fccontext.FromContext
// writes into it, so concurrent calls for one invocation would race.
func (b *base) begin(ctx context.Context) string {
	lc, ok := fccontext.FromContext(ctx)
	if !ok {
		return ""
	}
	b.creds.Set(ossx.Key{AccessKeyID: lc.Credentials.AccessKeyId, AccessKeySecret: lc.Credentials.AccessKeySecret,
		SecurityToken: lc.Credentials.SecurityToken})
	return lc.RequestID
}

// readiness is the one bucket check of the functions that write (App,
// Task): the bucket must not be versioned, where OSS ignores
// x-oss-forbid-overwrite and create-only writes would overwrite. The
// first caller asks OSS and concurrent callers wait for its answer (or
// their own deadline). Once the bucket is found fit it stays so for the
// process; after a failure, permanent or transient, the next caller asks
// again, so that a fixed bucket is taken up without a restart and the
// error always says what OSS says now. LiveQuery only reads, and is not
// held up by it.
type readiness struct {
	env   *Env
	creds *ossx.Credentials

	mu       sync.Mutex
	ok       bool
	checking chan struct{} // closed when the check under way ends
}

// check returns nil when the bucket is fit, or why not.
func (r *readiness) check(ctx context.Context) error {
	for {
		r.mu.Lock()
		switch {
		case r.ok:
			r.mu.Unlock()
			return nil
		case !r.creds.Valid():
			r.mu.Unlock()
			return apierr.New(apierr.InvalidConfig, "no OSS credentials: none in the invocation (function role) nor in OSS_ACCESS_KEY_ID/OSS_ACCESS_KEY_SECRET")
		}
		if wait := r.checking; wait != nil {
			r.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return apierr.Transient(apierr.StorageUnavailable, ctx.Err(), "waiting for the bucket check")
			}
		}
		done := make(chan struct{})
		r.checking = done
		r.mu.Unlock()

		err := r.env.Bucket.CheckUnversioned(ctx)
		r.mu.Lock()
		r.ok = err == nil
		r.checking = nil
		r.mu.Unlock()
		close(done)
		if err != nil && apierr.IsPermanent(err) {
			r.env.Logger.Error("not ready", "function", r.env.Name, "code", string(apierr.CodeOf(err)), "error", err.Error())
		}
		return err
	}
}
