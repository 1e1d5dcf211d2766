package callback

import (
	"slices"
	"testing"

	"mediastate/test/corpus"
)

// TestCorpusManifest checks that every body under testdata/corpus is in
// the manifest exactly once, with its source URL, and the reverse.
func TestCorpusManifest(t *testing.T) {
	m := corpus.MustLoad(t)
	root, err := corpus.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	files, err := corpus.Files(root)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, f := range m.Fixtures {
		listed = append(listed, f.File)
		if f.URL == "" || f.DocTitle == "" || f.Example == "" || (f.Source != "vod" && f.Source != "ims" && f.Source != "live") {
			t.Errorf("%s: incomplete manifest entry %+v", f.File, f)
		}
		if f.DocDate == "" && f.Note == "" {
			t.Errorf("%s: no doc date and no note saying why", f.File)
		}
	}
	slices.Sort(listed)
	slices.Sort(files)
	if !slices.Equal(listed, slices.Compact(slices.Clone(listed))) || !slices.Equal(listed, files) {
		t.Fatalf("manifest lists %v\nfiles on disk %v", listed, files)
	}
	if len(m.Fixtures) < 30 {
		t.Fatalf("corpus has %d fixtures, expected at least 30", len(m.Fixtures))
	}
}

// TestCorpusDecode decodes every documented example: none may fail, each
// has the documented event type and source, every field is interpreted,
// and the Event is its golden <name>.event.golden.json.
func TestCorpusDecode(t *testing.T) {
	m := corpus.MustLoad(t)
	for _, f := range m.Fixtures {
		t.Run(f.Name(), func(t *testing.T) {
			ev, err := Decode(f.Body)
			if err != nil {
				t.Fatalf("documented example refused: %v", err)
			}
			if ev.Type != f.EventType || string(ev.Source) != f.Source || ev.ID == "" || ev.EventID == "" {
				t.Fatalf("decoded %s from %s about %q, manifest says %s from %s", ev.Type, ev.Source, ev.ID, f.EventType, f.Source)
			}
			if len(ev.Uninterpreted) > 0 {
				t.Errorf("documented fields left uninterpreted: %+v", ev.Uninterpreted)
			}
			corpus.CheckGolden(t, f.GoldenPath("event"), corpus.Indent(t, ev), *update)
		})
	}
}
