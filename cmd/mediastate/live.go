package main

import (
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"mediastate/shared/live/describe"
	"mediastate/shared/live/notify"
	"mediastate/shared/trigger"
)

func liveQueryCommand() command {
	return command{name: "query", args: "-domain D [-app A] [-stream S] [-status success|failed] [-start T] [-end T] [-page-size N] [-page N]",
		summary: "DescribeLiveRecordNotifyRecords over the recorded Live callbacks, read from OSS (same parameters and answer as liverecordquery)",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			domain := fs.String("domain", "", "DomainName (required)")
			app := fs.String("app", "", "AppName")
			stream := fs.String("stream", "", "StreamName")
			status := fs.String("status", "", "Status: success or failed")
			var start, end timeFlag
			fs.Var(&start, "start", "StartTime, RFC 3339 UTC or a duration back from now (default 1h; at most 7 days back)")
			fs.Var(&end, "end", "EndTime (default now)")
			size := fs.Int("page-size", describe.DefaultPageSize, "PageSize, 1..500")
			page := fs.Int("page", 1, "PageNumber")
			return func(e *env, args []string) error {
				now := time.Now().UTC().Truncate(time.Second)
				if start.t.IsZero() {
					start.t = now.Add(-time.Hour)
				}
				if end.t.IsZero() {
					end.t = now.Add(time.Second)
				}
				q := url.Values{"DomainName": {*domain}, "StartTime": {start.t.UTC().Format(notify.TimeLayout)},
					"EndTime": {end.t.UTC().Format(notify.TimeLayout)}, "PageSize": {strconv.Itoa(*size)}, "PageNumber": {strconv.Itoa(*page)}}
				for k, v := range map[string]string{"AppName": *app, "StreamName": *stream, "Status": *status} {
					if v != "" {
						q.Set(k, v)
					}
				}
				records, err := notify.NewStore(e.b, e.conn.Prefix, notify.Options{})
				if err != nil {
					return err
				}
				// The query function's own handler. The CLI holds OSS
				// credentials that read the records directly, so it is
				// authorised already; the handler always wants a token, so
				// this process makes one up and presents it.
				token := rand.Text()
				h := &describe.Handler{Records: records, Auth: describe.Auth{Token: token}}
				res := h.Serve(e.ctx, &trigger.HTTPRequest{Method: http.MethodGet, Query: q},
					http.Header{"Authorization": {"Bearer " + token}}, nil)
				if res.StatusCode != http.StatusOK {
					var er describe.ErrorResponse
					if json.Unmarshal([]byte(res.Body), &er) == nil && er.Code != "" {
						return fmt.Errorf("%s: %s", er.Code, er.Message)
					}
					return fmt.Errorf("query failed: %d %s", res.StatusCode, res.Body)
				}
				var out describe.Response
				if err := json.Unmarshal([]byte(res.Body), &out); err != nil {
					return err
				}
				return e.emit(out, func(w io.Writer) {
					fmt.Fprintf(w, "total %d, page %d of %d\n\n", out.TotalNum, out.PageNum, out.TotalPage)
					fmt.Fprintln(w, "NOTIFY TIME\tRESULT\tTYPE\tAPP\tSTREAM\tDESCRIPTION")
					for _, r := range out.CallbackList {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.NotifyTime, r.NotifyResult, r.NotifyType, r.AppName, r.StreamName, orDash(r.Description))
					}
				})
			}
		}}
}
