package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mediastate/shared/callback"
)

// BenchmarkDecodeApplyMarshal measures the CPU cost of one event on the
// hot path: decode the callback body, fold it into a state that already
// holds a realistic lifecycle, and encode the new document.
func BenchmarkDecodeApplyMarshal(b *testing.B) {
	files, err := filepath.Glob("../callback/testdata/*.json")
	if err != nil || len(files) == 0 {
		b.Fatalf("fixtures: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if strings.HasSuffix(name, ".golden") || strings.HasPrefix(name, "live-") {
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		e, err := callback.Decode(body)
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		base := lifecycle(b, e.ID)
		if base.Has(e.EventID) {
			base = nil // the event is part of the lifecycle: start empty
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				ev, err := callback.Decode(body)
				if err != nil {
					b.Fatal(err)
				}
				next, changed, err := Apply(base, ev)
				if err != nil || !changed {
					b.Fatalf("apply: %v changed=%v", err, changed)
				}
				if _, err := Marshal(next); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// lifecycle returns the state of a media asset after upload, registration
// and a base change, decoded from the fixtures with the id replaced.
func lifecycle(b *testing.B, id string) *Media {
	var m *Media
	for _, f := range []string{"ims-file-upload-complete", "ims-register-media-complete", "ims-media-base-change-complete"} {
		body, err := os.ReadFile(filepath.Join("../callback/testdata", f+".json"))
		if err != nil {
			b.Fatal(err)
		}
		e, err := callback.Decode(body)
		if err != nil {
			b.Fatal(err)
		}
		e.ID = id
		if m, _, err = Apply(m, e); err != nil {
			b.Fatal(err)
		}
	}
	return m
}
