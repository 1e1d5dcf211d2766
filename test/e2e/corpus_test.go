package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"mediastate/shared/callback"
	"mediastate/shared/live"
	"mediastate/shared/pipeline"
	"mediastate/shared/state"
	tt "mediastate/shared/trigger/triggertest"
	"mediastate/test/corpus"
	"mediastate/test/localstack"
)

// corpusEnvelopes are the three ways the corpus is delivered: each body
// signed over HTTP, VOD and IMS bodies in one EventBridge batch (Live
// bodies one per batch, so that the receive order of their timeless status
// events is the send order), and each body as an MNS topic notification.
var corpusEnvelopes = []struct {
	name  string
	batch bool
	send  func(s *localstack.Stack, fn string, bodies [][]byte) ([]itemResult, error)
}{
	{"http-signed", false, httpSigned},
	{"eventbridge-batch", true, ebShape("eventbridge", tt.Plain, false).send},
	{"mns-topic", false, topicShape("mns-topic", false).send},
}

// TestCorpusEndToEnd delivers every documented example of the corpus
// (shared/callback/testdata/corpus) to the real media and liverecord
// binaries, once in each envelope, each envelope on a fresh stack: every
// delivery must be applied (a test fails if one is dead-lettered), nothing
// may be dead-lettered, and every state stored must be the in-process fold
// of the examples about it; where one example alone is about a state, that
// is byte for byte its golden <name>.state.golden.json.
func TestCorpusEndToEnd(t *testing.T) {
	t.Parallel()
	m, err := corpus.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	want := corpusExpected(t, m)
	// shared lists the examples about a state that an example earlier in
	// the manifest is about too.
	shared := map[string]bool{}
	for _, w := range want {
		for _, f := range w.files[1:] {
			shared[f] = true
		}
	}
	for _, env := range corpusEnvelopes {
		t.Run(env.name, func(t *testing.T) {
			t.Parallel()
			s, _ := startStack(t, "media", "liverecord")
			var mediaBodies [][]byte
			var sent []corpus.Fixture
			deliver := func(fn string, fs []corpus.Fixture, bodies [][]byte) {
				res, err := env.send(s, fn, bodies)
				if err != nil {
					t.Fatalf("%s: %v", fs[0].File, err)
				}
				for i, r := range res {
					// An example that changes nothing in a state another
					// example already wrote (the same recording file
					// reported twice) is answered as a duplicate; any
					// other answer than applied is a failure.
					ok := r.Outcome == pipeline.Applied || (r.Outcome == pipeline.Duplicate && shared[fs[i].File])
					if !ok || r.Code != "" || (r.Status != 0 && r.Status != 200) {
						t.Errorf("%s: %+v, want applied", fs[i].File, r)
					}
				}
			}
			for _, f := range m.Fixtures {
				switch {
				case f.Source == "live":
					deliver("liverecord", []corpus.Fixture{f}, [][]byte{f.Body})
				case env.batch:
					mediaBodies = append(mediaBodies, f.Body)
					sent = append(sent, f)
				default:
					deliver("media", []corpus.Fixture{f}, [][]byte{f.Body})
				}
			}
			if len(mediaBodies) > 0 {
				deliver("media", sent, mediaBodies)
			}
			if keys := listKeys(t, s, s.Prefix+"deadletter/"); len(keys) > 0 {
				t.Fatalf("dead letters %v, want none", keys)
			}
			for key, w := range want {
				got := storedState(t, s, key)
				if !bytes.Equal(normaliseReceived(t, got), normaliseReceived(t, w.doc)) {
					t.Errorf("%s (from %v):\nstored %s\nwant   %s", key, w.files, got, w.doc)
				}
			}
		})
	}
}

// expectedState is the state a set of examples must leave.
type expectedState struct {
	doc   []byte
	files []string
}

// corpusExpected folds the corpus in process, keyed "media/<id>",
// "job/<JobId>" or "stream/<domain/app/stream>". The Live examples are
// given receive times in manifest order, the order they are sent in. A
// state that one example alone is about is checked against that example's
// golden file here, so the stack is compared with the golden.
func corpusExpected(t *testing.T, m *corpus.Manifest) map[string]*expectedState {
	t.Helper()
	medias := map[string]*state.Media{}
	streams := map[string]*live.Stream{}
	files := map[string][]string{}
	goldens := map[string]*corpus.Fixture{}
	// Any base works: the comparison blanks reception times.
	received := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range m.Fixtures {
		f := &m.Fixtures[i]
		e, err := callback.Decode(f.Body)
		if err != nil {
			t.Fatalf("%s: %v", f.File, err)
		}
		var keys []string
		if f.Source == "live" {
			key := "stream/" + e.ID
			received = received.Add(time.Second)
			st, _, err := live.Apply(streams[key], e, live.Occurrence{Domain: domainOf(e.ID), EventID: e.EventID, Seq: 1, ReceivedAt: received})
			if err != nil {
				t.Fatalf("%s: %v", f.File, err)
			}
			streams[key] = st
			keys = append(keys, key)
		} else {
			mediaID, jobID := state.Subjects(e)
			if mediaID != "" {
				key := "media/" + mediaID
				if medias[key], _, err = state.Apply(medias[key], e); err != nil {
					t.Fatalf("%s: %v", f.File, err)
				}
				keys = append(keys, key)
			}
			if jobID != "" {
				key := "job/" + jobID
				if medias[key], _, err = state.ApplyJob(medias[key], e); err != nil {
					t.Fatalf("%s: %v", f.File, err)
				}
				keys = append(keys, key)
			}
		}
		for _, k := range keys {
			files[k] = append(files[k], f.File)
			goldens[k] = f
		}
	}
	out := map[string]*expectedState{}
	for key, fs := range files {
		var doc []byte
		var err error
		if st, ok := streams[key]; ok {
			doc, err = live.Codec.Marshal(st)
		} else {
			doc, err = state.Marshal(medias[key])
		}
		if err != nil {
			t.Fatal(err)
		}
		out[key] = &expectedState{doc: doc, files: fs}
		if len(fs) == 1 {
			if g := goldenPart(t, goldens[key], key); !bytes.Equal(normaliseReceived(t, g), normaliseReceived(t, doc)) {
				t.Errorf("%s: the fold of %s is not its golden state:\n%s\n%s", key, fs[0], doc, g)
			}
		}
	}
	return out
}

// goldenPart returns, compacted, the part of f's golden state that key
// names ("media", "job" or "stream").
func goldenPart(t *testing.T, f *corpus.Fixture, key string) []byte {
	t.Helper()
	b := getFile(t, f.GoldenPath("state"))
	var parts map[string]json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil {
		t.Fatalf("%s: %v", f.GoldenPath("state"), err)
	}
	kind, _, _ := strings.Cut(key, "/")
	part := parts[kind]
	var c bytes.Buffer
	if err := json.Compact(&c, part); err != nil {
		t.Fatalf("%s: %s: %v", f.GoldenPath("state"), key, err)
	}
	return c.Bytes()
}

// storedState reads the newest version of the state key names.
func storedState(t *testing.T, s *localstack.Stack, key string) []byte {
	t.Helper()
	kind, id, _ := strings.Cut(key, "/")
	ctx := ctxT(t)
	var doc []byte
	var err error
	switch kind {
	case "media":
		var m *state.Media
		if m, _, err = s.Reader.Get(ctx, id); err == nil {
			doc, err = state.Marshal(m)
		}
	case "job":
		var m *state.Media
		if m, _, err = s.Reader.GetJob(ctx, id); err == nil {
			doc, err = state.Marshal(m)
		}
	case "stream":
		var r *live.Reader
		if r, err = live.NewReader(s.Client, s.Prefix); err == nil {
			parts := strings.SplitN(id, "/", 3)
			var st *live.Stream
			if st, _, err = r.Get(ctx, parts[0], parts[1], parts[2]); err == nil {
				doc, err = live.Codec.Marshal(st)
			}
		}
	}
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return doc
}

// domainOf returns the domain of a Live id "domain/app/stream".
func domainOf(id string) string {
	d, _, _ := strings.Cut(id, "/")
	return d
}

// getFile reads a file of the repository.
func getFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// normaliseReceived compacts a state document and blanks the times of
// status events that are ordered by their reception (timeSource
// "received"), which a test cannot know in advance.
func normaliseReceived(t *testing.T, doc []byte) []byte {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("%v: %s", err, doc)
	}
	for _, k := range []string{"status", "lastError"} {
		if st, ok := v[k].(map[string]any); ok && st["timeSource"] == live.TimeFromReceived {
			st["time"] = "received"
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
