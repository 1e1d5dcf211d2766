package live

import (
	"encoding/json"
	"flag"
	"testing"
	"time"

	"mediastate/shared/callback"
	"mediastate/test/corpus"
	"mediastate/test/schemacheck"
)

var update = flag.Bool("update", false, "rewrite the corpus's Live *.state.golden.json from the fold")

// CorpusReceivedAt is the reception time the Live corpus goldens assume
// for the one occurrence of each example: status callbacks carry no time,
// so the time they were first received orders them (TimeSource
// "received"). The end-to-end suite puts the real reception time in its
// place before comparing.
var CorpusReceivedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestCorpusState applies every documented Live example alone, as its
// first occurrence, and compares the stream state with its golden
// <name>.state.golden.json ({"stream": ...}).
func TestCorpusState(t *testing.T) {
	corpus.MustLoad(t).Run(t, func(f *corpus.Fixture) bool { return f.Source == "live" }, func(t *testing.T, f *corpus.Fixture) {
		e, err := callback.Decode(f.Body)
		if err != nil {
			t.Fatal(err)
		}
		domain, _, _ := names(e)
		occ := Occurrence{Domain: domain, EventID: e.EventID, Seq: 1, ReceivedAt: CorpusReceivedAt}
		s, changed, err := Apply(nil, e, occ)
		if err != nil || !changed {
			t.Fatalf("Apply: changed %v, %v", changed, err)
		}
		doc, err := Codec.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		schemacheck.Check(t, Schema, doc)
		golden := struct {
			Stream json.RawMessage `json:"stream"`
		}{doc}
		corpus.CheckGolden(t, f.GoldenPath("state"), corpus.Indent(t, golden), *update)
	})
}
