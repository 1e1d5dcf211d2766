package pipeline

import (
	"context"
	"log/slog"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/ossx"
	"mediastate/shared/trigger"
)

// Log writes one structured line per delivery: request id, function,
// trigger, delivery id, event type, id, event id, outcome, error code and
// message, OSS requests made by operation, conflicts, retries, duration.
// It never logs headers or bodies, so no secret can reach the log.
func Log(logger *slog.Logger, function string) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, d *trigger.Delivery) *Result {
			start := time.Now()
			counter := ossx.NewCounter()
			ctx = ossx.WithCounter(ctx, counter)
			r := next(ctx, d)
			attrs := []slog.Attr{
				slog.String("requestId", d.RequestID),
				slog.String("function", function),
				slog.String("trigger", string(d.Kind)),
				slog.Int("index", d.Index),
				slog.String("outcome", string(r.Outcome)),
				slog.Int("status", r.StatusCode()),
				slog.Any("oss", counter.Snapshot()),
				slog.Int64("ossRequests", counter.Total()),
				slog.Int("conflicts", r.Store.Conflicts),
				slog.Int("retries", r.Store.Retries),
				slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000),
			}
			if d.DeliveryID != "" {
				attrs = append(attrs, slog.String("deliveryId", d.DeliveryID))
			}
			if e := r.Event; e != nil {
				attrs = append(attrs, slog.String("source", string(e.Source)), slog.String("eventType", e.Type),
					slog.String("id", e.ID), slog.String("eventId", e.EventID))
			}
			if r.Store.Version > 0 {
				attrs = append(attrs, slog.Uint64("version", r.Store.Version))
			}
			if r.Foreign {
				attrs = append(attrs, slog.Bool("foreignFamily", true))
			}
			if r.Outcome == Refused {
				attrs = append(attrs, slog.Int64("refusedTotal", RefusedTotal()))
			}
			if r.DeadLetter != "" {
				attrs = append(attrs, slog.String("deadLetter", r.DeadLetter))
			}
			level := slog.LevelInfo
			if r.Err != nil {
				attrs = append(attrs, slog.String("code", string(apierr.CodeOf(r.Err))), slog.String("error", r.Err.Error()))
				level = slog.LevelWarn
				if r.Outcome == Retry {
					level = slog.LevelError
				}
			}
			logger.LogAttrs(ctx, level, "delivery", attrs...)
			return r
		}
	}
}
