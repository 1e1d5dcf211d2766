package fcapp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"mediastate/shared/apierr"
	"mediastate/shared/config"
	"mediastate/shared/live/describe"
	"mediastate/shared/live/notify"
	"mediastate/shared/trigger"
)

// LiveQueryName is the name of the DescribeLiveRecordNotifyRecords function.
const LiveQueryName = "liverecordquery"

// LiveQuery is the liverecordquery function: DescribeLiveRecordNotifyRecords
// (package live/describe) behind an FC HTTP trigger.
//
// It only reads, so it is not held up by the bucket check of the
// functions that write (readiness).
type LiveQuery struct {
	*base
	handler *describe.Handler
}

// NewLiveQuery builds the query function. It needs the storage variables of
// config.LoadStorage and
//
//	QUERY_TOKEN=<secret>   callers must send "Authorization: Bearer <secret>"
//	                       (or X-Mediastate-Query-Token: <secret>)
//	QUERY_AUTH=function    behind an HTTP trigger with authType function:
//	                       FC passes nothing verifiable of its check, so the
//	                       token is still required, in X-Mediastate-Query-Token,
//	                       and so is FC's ACS3-HMAC-SHA256 Authorization header
//
// Without a token it still starts, but refuses every query with 403, so
// that a forgotten setting never leaves the records open.
func NewLiveQuery(getenv config.Getenv, logger *slog.Logger) (*LiveQuery, error) {
	cfg, err := config.LoadStorage(getenv)
	if err != nil {
		return nil, err
	}
	auth := describe.Auth{Token: cfg.QueryToken}
	auth.Platform = cfg.QueryAuth == "function"
	bs, err := bootstrap(LiveQueryName, cfg, getenv, logger)
	if err != nil {
		return nil, err
	}
	records, err := notify.NewStore(bs.env.Bucket, cfg.Prefix, notify.Options{})
	if err != nil {
		return nil, err
	}
	q := &LiveQuery{base: bs,
		handler: &describe.Handler{Records: records, Auth: auth, Logger: logger.With("function", LiveQueryName)}}
	logger.Info("cold start", "function", LiveQueryName, "endpoint", cfg.Endpoint, "bucket", cfg.Bucket, "prefix", cfg.Prefix,
		"tokenSet", auth.Token != "", "platformAuth", auth.Platform)
	if auth.Token == "" {
		logger.Warn("QUERY_TOKEN is not set: every query is refused with 403 (QUERY_AUTH=function needs the token too)", "function", LiveQueryName)
	}
	return q, nil
}

// Handle is the fc.Start handler: it answers HTTP trigger requests; any
// other invocation is an error.
func (q *LiveQuery) Handle(ctx context.Context, payload []byte) (any, error) {
	_ = q.begin(ctx)
	batch, err := trigger.Unwrap(payload)
	if err != nil {
		return nil, err
	}
	if batch.Kind != trigger.KindHTTP {
		return nil, apierr.New(apierr.UnsupportedEnvelope, "%s answers HTTP trigger requests only, got a %s invocation", LiveQueryName, batch.Kind)
	}
	it := batch.Items[0]
	d := it.Delivery
	body := d.Body
	if it.Err != nil {
		var e *apierr.Error
		if !errors.As(it.Err, &e) || e.Code != apierr.MissingField || e.Field != "body" {
			// A body marked base64 that is not: the request is unusable.
			return trigger.JSONResponse(http.StatusBadRequest, describe.ErrorResponse{Code: describe.CodeInvalidParams,
				Message: "Invalid body: " + apierr.MessageOf(it.Err) + ", please check and try again later.", RequestId: describe.NewRequestID()}), nil
		}
		body = nil // an empty body: a GET
	}
	return q.handler.Serve(ctx, d.HTTP, d.Headers, body), nil
}
