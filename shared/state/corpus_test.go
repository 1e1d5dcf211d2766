package state

import (
	"encoding/json"
	"flag"
	"testing"

	"mediastate/shared/callback"
	"mediastate/test/corpus"
	"mediastate/test/schemacheck"
)

var update = flag.Bool("update", false, "rewrite the corpus's *.state.golden.json from the fold")

// Written is what applying one event alone writes: its media state and,
// for the events of job-keyed types, the job state of its JobId. It is the
// shape of the corpus's <name>.state.golden.json for VOD and IMS examples.
type Written struct {
	Media json.RawMessage `json:"media,omitempty"`
	Job   json.RawMessage `json:"job,omitempty"`
}

// ApplyAlone applies e to empty states as the media functions do and
// returns what they write.
func ApplyAlone(t testing.TB, e *callback.Event) Written {
	t.Helper()
	write := func(name string, apply func(*Media, *callback.Event) (*Media, bool, error)) json.RawMessage {
		m, _, err := apply(nil, e)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, err := Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	var w Written
	mediaID, jobID := Subjects(e)
	if mediaID != "" {
		w.Media = write("Apply", Apply)
	}
	if jobID != "" {
		w.Job = write("ApplyJob", ApplyJob)
	}
	return w
}

// TestCorpusState applies every documented VOD and IMS example alone and
// compares what is written with its golden <name>.state.golden.json; every
// document written must satisfy the schema.
func TestCorpusState(t *testing.T) {
	corpus.MustLoad(t).Run(t, func(f *corpus.Fixture) bool { return f.Source != "live" }, func(t *testing.T, f *corpus.Fixture) {
		e, err := callback.Decode(f.Body)
		if err != nil {
			t.Fatal(err)
		}
		w := ApplyAlone(t, e)
		if w.Media == nil && w.Job == nil {
			t.Fatal("the example writes no state")
		}
		for _, doc := range []json.RawMessage{w.Media, w.Job} {
			if doc != nil {
				schemacheck.Check(t, Schema, doc)
			}
		}
		corpus.CheckGolden(t, f.GoldenPath("state"), corpus.Indent(t, w), *update)
	})
}
