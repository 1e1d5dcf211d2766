package callback

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mediastate/test/corpus"
)

// readme returns the repository's README.md.
func readme(t *testing.T) string {
	t.Helper()
	root, err := corpus.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readmeLine returns the rest of the README line that starts with prefix.
func readmeLine(t *testing.T, text, prefix string) string {
	t.Helper()
	for _, ln := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(ln, prefix); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("README.md has no line starting with %q", prefix)
	return ""
}

// TestREADMEIdentityVector checks that the event-id definition in
// README.md reproduces our ids: its test vector's canonical form is ours,
// its id is Identity's, and SHA-256 over "v1\n" and the canonical form,
// computed here independently of Identity, gives the same id.
func TestREADMEIdentityVector(t *testing.T) {
	text := readme(t)
	body := readmeLine(t, text, "body:")
	canonical := readmeLine(t, text, "canonical:")
	id := readmeLine(t, text, "eventId:")
	got, err := Identity([]byte(body))
	if err != nil || got != id {
		t.Fatalf("Identity(README body) = %q, %v; README says %q", got, err, id)
	}
	c, err := Canonical([]byte(body))
	if err != nil || string(c) != canonical {
		t.Fatalf("Canonical(README body) = %s, %v; README says %s", c, err, canonical)
	}
	sum := sha256.Sum256([]byte("v1\n" + canonical))
	if want := "e1-" + hex.EncodeToString(sum[:])[:32]; want != id {
		t.Fatalf("README's definition gives %s, README's vector says %s", want, id)
	}
	ev, err := Decode([]byte(body))
	if err != nil || ev.EventID != id {
		t.Fatalf("Decode(README body).EventID = %v, %v", ev, err)
	}
}

// TestREADMEEventTable checks that README.md lists every catalogued event
// type with its family, id field and state effect: the table EventTable
// renders, verbatim.
func TestREADMEEventTable(t *testing.T) {
	if !strings.Contains(readme(t), EventTable()) {
		t.Fatalf("README.md does not hold the event table; paste this in section Event types:\n%s", EventTable())
	}
}
