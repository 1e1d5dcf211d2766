package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/deadletter"
	"mediastate/shared/live/describe"
	"mediastate/shared/localdefaults"
	"mediastate/shared/pipeline"
	"mediastate/shared/snapshot"
	"mediastate/shared/trigger"
	"mediastate/test/localstack"
)

// stack is the local stack the tests run the CLI against, on its own
// ports; stackEnv points the CLI at its embedded OSS server.
var (
	stack    *localstack.Stack
	stackEnv map[string]string
	root     string
)

func TestMain(m *testing.M) {
	var err error
	if root, err = localstack.FindRoot("."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	stack, err = localstack.Start(ctx, localstack.Options{Root: root, Addr: "127.0.0.1:0", OSSAddr: "127.0.0.1:0",
		Functions: []string{"upload", "liverecord", "sweep"}})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the local stack:", err)
		os.Exit(1)
	}
	stackEnv = map[string]string{"OSS_ENDPOINT": stack.OSSEndpoint, "OSS_BUCKET": stack.Bucket,
		"OSS_ACCESS_KEY_ID": localstack.LocalAccessKeyID, "OSS_ACCESS_KEY_SECRET": localstack.LocalAccessKeySecret}
	code := m.Run()
	stack.Close()
	os.Exit(code)
}

// result is one CLI run.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the CLI with args against the test stack.
func cli(t *testing.T, args ...string) result {
	t.Helper()
	return cliEnv(t, stackEnv, args...)
}

func cliEnv(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(t.Context(), args, func(k string) string { return env[k] }, &out, &errb)
	return result{code, out.String(), errb.String()}
}

// mustJSON runs the CLI, requires success and decodes stdout into v.
func mustJSON(t *testing.T, v any, args ...string) result {
	t.Helper()
	r := cli(t, args...)
	if r.code != 0 {
		t.Fatalf("mediastate %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("mediastate %s: stdout is not the JSON expected (%v):\n%s", strings.Join(args, " "), err, r.stdout)
	}
	return r
}

// seed returns a callback fixture with its MediaId replaced.
func seed(t *testing.T, name, oldID, newID string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "shared", "callback", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(oldID)) {
		t.Fatalf("%s does not contain %s", name, oldID)
	}
	return bytes.ReplaceAll(b, []byte(oldID), []byte(newID))
}

// invoke sends a raw event to a function of the stack.
func invoke(t *testing.T, fn string, payload []byte) []byte {
	t.Helper()
	res, err := http.Post(stack.URL+"/"+fn+"/invoke", "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || res.Header.Get("X-Fc-Error-Type") != "" {
		t.Fatalf("invoke %s: %d %s", fn, res.StatusCode, b)
	}
	return b
}

var idSeq int

// newID returns a MediaId unique to this run, starting with prefix.
func newID(prefix string) string {
	idSeq++
	return fmt.Sprintf("%s%d%d", prefix, time.Now().UnixNano()%1e9, idSeq)
}

const (
	uploadSeed    = "ims-file-upload-complete.json"
	uploadSeedID  = "c321b3a0041a71eda1590674a2ce****"
	transcodeSeed = "vod-transcode-complete.json"
	transcodeID   = "43q9fjsh73f****"
)

func TestConnDefaultsToLocalStack(t *testing.T) {
	c, err := connFrom(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := conn{Endpoint: "http://" + localdefaults.OSSAddr, Bucket: localdefaults.Bucket, Prefix: localdefaults.Prefix, Local: true}
	want.Key.AccessKeyID, want.Key.AccessKeySecret = localdefaults.AccessKeyID, localdefaults.AccessKeySecret
	if c != want {
		t.Errorf("no configuration gives %+v, want the local stack %+v", c, want)
	}
	if localstack.LocalBucket != c.Bucket || localstack.LocalAccessKeyID != c.Key.AccessKeyID {
		t.Error("the CLI's defaults are not the local stack's")
	}
	for _, bad := range []map[string]string{
		{"OSS_ENDPOINT": "https://oss-cn-shanghai.aliyuncs.com"},
		{"OSS_BUCKET": "b"},
		{"OSS_ENDPOINT": "https://x", "OSS_BUCKET": "b", "OSS_ACCESS_KEY_ID": "a", "OSS_ACCESS_KEY_SECRET": "s", "STATE_PREFIX": "noslash"},
	} {
		if _, err := connFrom(func(k string) string { return bad[k] }); err == nil {
			t.Errorf("configuration %v accepted", bad)
		}
	}
	if c, _ := connFrom(func(k string) string { return map[string]string{"MEDIASTATE_OSS_ADDR": "127.0.0.1:9100"}[k] }); c.Endpoint != "http://127.0.0.1:9100" || !c.Local {
		t.Errorf("MEDIASTATE_OSS_ADDR: endpoint %s", c.Endpoint)
	}
	r := cliEnv(t, map[string]string{"OSS_ENDPOINT": "https://x"}, "get", "m1")
	if r.code != 1 || !strings.Contains(r.stderr, "OSS_BUCKET") {
		t.Errorf("incomplete configuration: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "commands:"},
		{[]string{"nope"}, 2, "unknown command"},
		{[]string{"get"}, 2, "usage: mediastate get <MediaId>"},
		{[]string{"get", "-h"}, 0, "-o string"},
		{[]string{"deadletters"}, 2, "replay"},
		{[]string{"deadletters", "frob"}, 2, "unknown subcommand"},
		{[]string{"live", "query", "-h"}, 0, "-domain"},
		{[]string{"list", "-o", "yaml"}, 1, "want json or table"},
	} {
		r := cli(t, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("mediastate %v: exit %d (want %d), stderr lacks %q:\n%s", c.args, r.code, c.code, c.want, r.stderr)
		}
	}
}

func TestGetHistoryList(t *testing.T) {
	prefix := newID("cli")
	id1, id2 := prefix+"a", prefix+"b"
	invoke(t, "upload", seed(t, uploadSeed, uploadSeedID, id1))
	invoke(t, "upload", seed(t, transcodeSeed, transcodeID, id1))
	invoke(t, "upload", seed(t, uploadSeed, uploadSeedID, id2))

	var sv StateView
	mustJSON(t, &sv, "get", id1)
	if sv.MediaID != id1 || sv.Version != 2 || sv.State == nil || len(sv.State.Events) != 2 || sv.State.Transcode == nil {
		t.Errorf("get %s: %+v", id1, sv)
	}
	if r := cli(t, "get", id1, "-o", "table"); r.code != 0 || !strings.Contains(r.stdout, "version") || !strings.Contains(r.stdout, "TranscodeComplete") {
		t.Errorf("get -o table: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := cli(t, "get", prefix+"missing"); r.code != 1 || !strings.Contains(r.stderr, "no state") {
		t.Errorf("get of a missing id: %d %s", r.code, r.stderr)
	}
	if r := cli(t, "get", "../etc"); r.code != 1 || !strings.Contains(r.stderr, "MediaId") {
		t.Errorf("get of an unsafe id: %d %s", r.code, r.stderr)
	}

	var hist []VersionView
	mustJSON(t, &hist, "history", id1)
	if len(hist) != 2 || hist[0].Version != 2 || hist[1].Version != 1 || !hist[1].Oldest || hist[0].Oldest ||
		len(hist[0].EventsAdded) != 1 || hist[0].EventsAdded[0].Type != "TranscodeComplete" ||
		len(hist[1].EventsAdded) != 1 || hist[1].EventsAdded[0].Type != "FileUploadComplete" || hist[0].WrittenAt.IsZero() {
		t.Errorf("history %s: %+v", id1, hist)
	}
	if r := cli(t, "history", id1, "-o", "table"); r.code != 0 || !strings.Contains(r.stdout, "oldest retained") {
		t.Errorf("history -o table: %s", r.stdout)
	}

	var items []ListItem
	mustJSON(t, &items, "list", "-prefix", prefix)
	if len(items) != 2 || items[0].MediaID != id1 || items[0].Version != 2 || items[0].LastEvent == "" || items[1].MediaID != id2 {
		t.Errorf("list -prefix %s: %+v", prefix, items)
	}
	mustJSON(t, &items, "list", "-prefix", prefix, "-limit", "1")
	if len(items) != 1 {
		t.Errorf("list -limit 1 gave %d items", len(items))
	}
	mustJSON(t, &items, "list", "-prefix", prefix, "-since", "1h")
	if len(items) != 2 {
		t.Errorf("list -since 1h gave %d items", len(items))
	}
	mustJSON(t, &items, "list", "-prefix", prefix, "-until", "2000-01-01T00:00:00Z")
	if len(items) != 0 {
		t.Errorf("list -until 2000 gave %d items", len(items))
	}
	if r := cli(t, "list", "-prefix", prefix, "-o", "table"); r.code != 0 || strings.Count(r.stdout, prefix) != 2 || !strings.Contains(r.stdout, "MEDIAID") {
		t.Errorf("list -o table:\n%s", r.stdout)
	}
}

func TestDeadLetters(t *testing.T) {
	ctx := t.Context()
	// The letters of a function of their own, so that other tests' letters
	// do not interfere.
	dl := deadletter.New(stack.Client, stack.Prefix, "editing")
	id := newID("dl")
	good := seed(t, uploadSeed, uploadSeedID, id)
	kGood, err := dl.Put(ctx, &trigger.Delivery{Kind: trigger.KindEventBridgeMNS, Body: good, DeliveryID: "m1"}, "r1", true,
		apierr.New(apierr.StorageUnavailable, "simulated outage"))
	if err != nil {
		t.Fatal(err)
	}
	kBad, err := dl.Put(ctx, &trigger.Delivery{Kind: trigger.KindBare, Body: []byte(`{"EventType":"FileUploadComplete","VideoId":"x"}`)}, "r2", true,
		apierr.New(apierr.MissingField, "EventTime is missing"))
	if err != nil {
		t.Fatal(err)
	}

	var letters []LetterItem
	mustJSON(t, &letters, "deadletters", "list", "-function", "editing")
	byKey := map[string]LetterItem{}
	for _, l := range letters {
		byKey[l.Key] = l
	}
	if len(letters) != 2 || byKey[kGood].Code != "StorageUnavailable" || byKey[kBad].Code != "MissingField" ||
		byKey[kGood].Function != "editing" || !byKey[kGood].Verified || byKey[kGood].ReceivedAt.IsZero() {
		t.Errorf("deadletters list: %+v", letters)
	}
	mustJSON(t, &letters, "deadletters", "list")
	var all int
	for _, l := range letters {
		if l.Function == "editing" {
			all++
		}
	}
	if all != 2 {
		t.Errorf("deadletters list (every function) has %d letters of editing, want 2", all)
	}

	short := strings.TrimSuffix(strings.TrimPrefix(kGood, stack.Prefix+"deadletter/"), ".json")
	hash, _, _ := strings.Cut(short, ".")
	for _, arg := range []string{short, hash, kGood} {
		var letter deadletter.Letter
		mustJSON(t, &letter, "deadletters", "show", arg)
		if !bytes.Equal(letter.Raw(), good) || letter.Code != "StorageUnavailable" {
			t.Errorf("deadletters show %s: %+v", arg, letter)
		}
	}
	for _, bad := range []string{"editing/../../x", "editing/" + strings.Repeat("0", 32)} {
		if r := cli(t, "deadletters", "show", bad); r.code != 1 {
			t.Errorf("show of %s: exit %d", bad, r.code)
		}
	}

	var rep pipeline.ReplayReport
	mustJSON(t, &rep, "deadletters", "replay", "-function", "editing", "-dry-run")
	if rep.Seen != 2 || rep.Replayed != 0 || len(rep.Letters) != 2 || rep.Letters[0].Action != "would-replay" {
		t.Errorf("replay -dry-run: %+v", rep)
	}
	if r := cli(t, "get", id); r.code != 1 {
		t.Errorf("a dry run applied the letter")
	}
	mustJSON(t, &rep, "deadletters", "replay", "-function", "editing", "-limit", "1", "-dry-run")
	if rep.Seen != 1 {
		t.Errorf("replay -limit 1: seen %d", rep.Seen)
	}
	mustJSON(t, &rep, "deadletters", "replay", "-function", "editing")
	if rep.Seen != 2 || rep.Replayed != 1 || rep.Kept != 1 {
		t.Errorf("replay: %+v", rep)
	}
	var sv StateView
	mustJSON(t, &sv, "get", id)
	if sv.Version != 1 {
		t.Errorf("replayed letter's state: %+v", sv)
	}
	mustJSON(t, &letters, "deadletters", "list", "-function", "editing")
	if len(letters) != 1 || letters[0].Key != kBad {
		t.Errorf("after replay the letters are %+v, want only the bad one", letters)
	}
	if r := cli(t, "deadletters", "replay", "-function", "nope"); r.code != 1 || !strings.Contains(r.stderr, "upload") {
		t.Errorf("replay of an unknown function: %d %s", r.code, r.stderr)
	}
}

func TestLiveQuery(t *testing.T) {
	domain := newID("live") + ".example.com"
	stop := time.Now().Unix()
	body := fmt.Sprintf(`{"domain":%q,"app":"app1","stream":"s1","uri":"record/app1/s1/x.m3u8","duration":60.5,"start_time":%d,"stop_time":%d}`,
		domain, stop-60, stop)
	invoke(t, "liverecord", []byte(body))

	var out describe.Response
	mustJSON(t, &out, "live", "query", "-domain", domain)
	if out.TotalNum != 1 || len(out.CallbackList) != 1 || out.CallbackList[0].StreamName != "s1" || out.CallbackList[0].NotifyResult != "success" {
		t.Errorf("live query: %+v", out)
	}
	mustJSON(t, &out, "live", "query", "-domain", domain, "-status", "failed")
	if out.TotalNum != 0 {
		t.Errorf("live query -status failed: %+v", out)
	}
	if r := cli(t, "live", "query", "-domain", domain, "-o", "table"); r.code != 0 || !strings.Contains(r.stdout, "total 1") {
		t.Errorf("live query -o table: %s %s", r.stdout, r.stderr)
	}
	if r := cli(t, "live", "query"); r.code != 1 || !strings.Contains(r.stderr, "DomainName") {
		t.Errorf("live query without a domain: %d %s", r.code, r.stderr)
	}
}

func TestSweepAndSnapshot(t *testing.T) {
	id := newID("sw")
	invoke(t, "upload", seed(t, uploadSeed, uploadSeedID, id))
	invoke(t, "upload", seed(t, transcodeSeed, transcodeID, id))

	var p SweepPreview
	mustJSON(t, &p, "sweep", "-dry-run")
	if !p.DryRun || p.Media.IDs < 1 || p.Media.Versions < 2 || p.Media.Deleted != 0 {
		t.Errorf("sweep -dry-run: %+v", p)
	}
	if r := cli(t, "sweep"); r.code != 1 || !strings.Contains(r.stderr, "-dry-run") {
		t.Errorf("sweep without -dry-run: %d %s", r.code, r.stderr)
	}

	invoke(t, "sweep", localstack.TimerEvent("hourly", time.Now()))
	var meta snapshot.Meta
	mustJSON(t, &meta, "snapshot")
	if meta.Count < 1 || meta.Key == "" || meta.MaxVersion < 2 {
		t.Errorf("snapshot: %+v", meta)
	}
	r := cli(t, "snapshot", "-lines")
	found := false
	for _, ln := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var l snapshot.Line
		if err := json.Unmarshal([]byte(ln), &l); err != nil {
			t.Fatalf("snapshot -lines: %q is not a line: %v", ln, err)
		}
		if l.MediaID == id && l.Version == 2 {
			found = true
		}
	}
	if !found {
		t.Errorf("snapshot -lines lacks %s at version 2:\n%s", id, r.stdout)
	}
}
