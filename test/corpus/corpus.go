// Package corpus loads the corpus of callback bodies copied from the public
// Alibaba Cloud documentation (shared/callback/testdata/corpus): one
// fixture per documented example, listed in manifest.json with its source
// URL, the page's date and any repair made to it, and each with a golden
// decoded event (<name>.event.golden.json) and a golden state
// (<name>.state.golden.json).
//
// It reads files only; the tests of the decoder, the state folds and the
// end-to-end suite use it, so it imports none of them.
package corpus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mediastate/test/fcemu"
)

// Dir is the corpus directory relative to the repository root.
const Dir = "shared/callback/testdata/corpus"

// Fixture is one documented example.
type Fixture struct {
	// File is the body's path relative to the corpus directory, e.g.
	// "vod/file-upload-complete.json".
	File string `json:"file"`
	// Source is the sender: vod, ims or live.
	Source string `json:"source"`
	// EventType is the documented event type (for Live, the NotifyType).
	EventType string `json:"eventType"`
	// URL is the page the example was copied from.
	URL string `json:"url"`
	// DocTitle names the page (and where the same example appears in full
	// when the page's stored copy cuts it).
	DocTitle string `json:"docTitle"`
	// DocDate is the page's "last updated" date, YYYY-MM-DD; empty when the
	// page shows none.
	DocDate string `json:"docDate"`
	// Example says which example of the page it is.
	Example string `json:"example"`
	// Repairs lists every change made to the documented text to make it
	// JSON; empty when the body is byte for byte the documentation's.
	Repairs []string `json:"repairs"`
	// Note is any further remark.
	Note string `json:"note,omitempty"`

	// Body is the callback body.
	Body []byte `json:"-"`
	// Path is the body's absolute path.
	Path string `json:"-"`
}

// Name returns the fixture's name: File without ".json".
func (f *Fixture) Name() string { return strings.TrimSuffix(f.File, ".json") }

// GoldenPath returns the path of the fixture's golden file of the given
// kind ("event" or "state").
func (f *Fixture) GoldenPath(kind string) string {
	return strings.TrimSuffix(f.Path, ".json") + "." + kind + ".golden.json"
}

// Manifest is manifest.json.
type Manifest struct {
	Description string    `json:"description"`
	Retrieved   string    `json:"retrieved"`
	Fixtures    []Fixture `json:"fixtures"`
}

// Load reads the manifest and every fixture body under root, the
// repository root. It fails when a listed body is missing or is not JSON.
func Load(root string) (*Manifest, error) {
	dir := filepath.Join(root, Dir)
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("corpus: manifest.json: %w", err)
	}
	for i := range m.Fixtures {
		f := &m.Fixtures[i]
		f.Path = filepath.Join(dir, filepath.FromSlash(f.File))
		if f.Body, err = os.ReadFile(f.Path); err != nil {
			return nil, fmt.Errorf("corpus: %w", err)
		}
		if !json.Valid(f.Body) {
			return nil, fmt.Errorf("corpus: %s is not JSON", f.File)
		}
	}
	return &m, nil
}

// Files returns the body files present under the corpus directory
// (goldens and the manifest excluded), relative to it, with '/'.
func Files(root string) ([]string, error) {
	dir := filepath.Join(root, Dir)
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(rel, ".json") && !strings.HasSuffix(rel, ".golden.json") && rel != "manifest.json" {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out, err
}

// Root returns the repository root above dir (the directory holding
// go.mod).
func Root(dir string) (string, error) { return fcemu.ModuleRoot(dir) }

// CheckGolden compares got with the golden file at path; with update set
// it rewrites the file instead. got is compared as written (the callers
// marshal with two-space indentation and a final newline).
func CheckGolden(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it, then review it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", filepath.Base(path), got, want)
	}
}

// Indent marshals v with two-space indentation and a final newline.
func Indent(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// MustLoad loads the corpus of the repository holding the working
// directory, failing t on any error.
func MustLoad(t testing.TB) *Manifest {
	t.Helper()
	root, err := Root(".")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Run runs fn as a subtest, named after the fixture, for every fixture
// that keep accepts, and fails t when none does.
func (m *Manifest) Run(t *testing.T, keep func(*Fixture) bool, fn func(t *testing.T, f *Fixture)) {
	t.Helper()
	n := 0
	for i := range m.Fixtures {
		f := &m.Fixtures[i]
		if !keep(f) {
			continue
		}
		n++
		t.Run(f.Name(), func(t *testing.T) { fn(t, f) })
	}
	if n == 0 {
		t.Fatal("no fixture of the corpus is selected")
	}
}
