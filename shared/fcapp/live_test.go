package fcapp

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/config"
	"mediastate/shared/live"
	"mediastate/shared/statestore"
	"mediastate/shared/trigger"
	tt "mediastate/shared/trigger/triggertest"
	"mediastate/test/osstest"
)

func liveEnv(env *osstest.Env, extra map[string]string) func(string) string {
	m := map[string]string{
		"OSS_ENDPOINT": env.Endpoint, "OSS_BUCKET": osstest.Bucket, "STATE_PREFIX": "p/",
		"OSS_ACCESS_KEY_ID": osstest.AccessKeyID, "OSS_ACCESS_KEY_SECRET": osstest.AccessKeySecret,
		"LIVE_CALLBACK_URL": "https://cb.example.com/liverecord", "LIVE_CALLBACK_KEYS": "k1",
	}
	for k, v := range extra {
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestNewLiveConfig(t *testing.T) {
	env := osstest.Start(t)
	if _, err := NewLive(liveEnv(env, nil), quiet); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"0s", "-1m", "2h", "soon"} {
		if _, err := NewLive(liveEnv(env, map[string]string{"LIVE_DEDUP_WINDOW": bad}), quiet); !apierr.Is(err, apierr.InvalidConfig) {
			t.Errorf("LIVE_DEDUP_WINDOW=%s: %v, want InvalidConfig", bad, err)
		}
	}
	// A versioned bucket is refused (create-only writes would not be).
	venv := osstest.Start(t)
	if err := venv.Server.SetVersioning(osstest.Bucket, "Enabled"); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLive(liveEnv(venv, nil), quiet); !apierr.Is(err, apierr.InvalidConfig) {
		t.Errorf("versioned bucket: %v, want InvalidConfig", err)
	}
	// Like every callback function it refuses to run without a key.
	if _, err := NewLive(liveEnv(env, map[string]string{"LIVE_CALLBACK_KEYS": ""}), quiet); !apierr.Is(err, apierr.InvalidConfig) {
		t.Errorf("no key: %v", err)
	}
}

// TestLiveHandle runs one MNS-shaped delivery through the assembled
// function: applied to stream state and recorded.
func TestLiveHandle(t *testing.T) {
	env := osstest.Start(t)
	app, err := NewLive(liveEnv(env, nil), quiet)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"domain":"d.com","app":"a","stream":"s","event":"record_started"}`
	payload := tt.RawData(tt.Plain, []byte(body))
	out, err := app.Handle(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	if !strings.Contains(string(b), `"outcome":"applied"`) {
		t.Fatalf("answer %s", b)
	}
	rd, _ := live.NewReader(env.Bucket(t), "p/")
	st, _, err := rd.Get(context.Background(), "d.com", "a", "s")
	if err != nil || st.State != live.StateRecording {
		t.Fatalf("state %+v %v", st, err)
	}
	app2, _ := NewLiveQuery(liveEnv(env, map[string]string{"QUERY_TOKEN": "tok"}), quiet)
	now := time.Now().UTC()
	ev := tt.ExampleHTTPEvent("", false, map[string]string{"Authorization": "Bearer tok"}, "q1")
	ev.RequestContext.HTTP.Method = "GET"
	ev.QueryParameters = map[string]string{"DomainName": "d.com", "StartTime": now.Add(-time.Hour).Format("2006-01-02T15:04:05Z"), "EndTime": now.Add(time.Hour).Format("2006-01-02T15:04:05Z")}
	p := tt.JSON(ev)
	res, err := app2.Handle(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	resp := res.(trigger.HTTPResponse)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"TotalNum":1`) || !strings.Contains(resp.Body, `"NotifyType":"record_started"`) {
		t.Fatalf("query answer %d %s", resp.StatusCode, resp.Body)
	}
}

func TestNewLiveQuery(t *testing.T) {
	env := osstest.Start(t)
	if _, err := NewLiveQuery(liveEnv(env, map[string]string{"QUERY_AUTH": "open"}), quiet); !apierr.Is(err, apierr.InvalidConfig) {
		t.Fatalf("QUERY_AUTH=open: %v", err)
	}
	// Without a token it starts (so a stack of every function starts) but
	// refuses every query.
	q, err := NewLiveQuery(liveEnv(env, nil), quiet)
	if err != nil {
		t.Fatal(err)
	}
	ev := `{"version":"v1","rawPath":"/q","body":"","headers":{},"queryParameters":{"DomainName":"d.com"},"requestContext":{"requestId":"q1","http":{"method":"GET"}}}`
	res, err := q.Handle(context.Background(), []byte(ev))
	if err != nil {
		t.Fatal(err)
	}
	if r := res.(trigger.HTTPResponse); r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, `"Code":"Forbidden"`) {
		t.Fatalf("no token configured: %d %s", r.StatusCode, r.Body)
	}
	// Anything but an HTTP request is refused.
	if _, err := q.Handle(context.Background(), []byte(`{"domain":"d.com","app":"a","stream":"s","event":"record_started"}`)); !apierr.Is(err, apierr.UnsupportedEnvelope) {
		t.Fatalf("bare body: %v", err)
	}
	// A body marked base64 that is not is a 400.
	ev = `{"version":"v1","rawPath":"/q","body":"%%%","isBase64Encoded":true,"headers":{},"requestContext":{"requestId":"q1","http":{"method":"POST"}}}`
	res, err = q.Handle(context.Background(), []byte(ev))
	if r := res.(trigger.HTTPResponse); err != nil || r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `"Code":"InvalidParams"`) {
		t.Fatalf("bad base64: %v %+v", err, res)
	}
}

func TestSweepLive(t *testing.T) {
	env := osstest.Start(t)
	b := env.Bucket(t)
	s, err := live.NewStore(b, "p/", statestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		if _, err := s.Update(ctx, "d.com~a~s", func(cur *live.Stream) (*live.Stream, bool, error) {
			n := live.New("d.com", "a", "s")
			if cur != nil {
				c := *cur
				n = &c
			}
			n.Files = append(n.Files, live.File{URI: string(rune('a' + i)), StopTime: time.Unix(int64(i), 0).UTC(), EventID: "e1-00000000000000000000000000000000"})
			return n, true, nil
		}, statestore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := SweepLive(ctx, &Env{Bucket: b, Config: mustStorageConfig(t, env)})
	if err != nil || st.IDs != 1 || st.Versions != 4 || st.Deleted != 0 {
		t.Fatalf("sweep: %+v %v", st, err)
	}
}

func mustStorageConfig(t *testing.T, env *osstest.Env) *config.Config {
	t.Helper()
	cfg, err := config.LoadStorage(liveEnv(env, nil))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
