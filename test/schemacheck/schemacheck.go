// Package schemacheck validates JSON documents against the project's JSON
// Schemas in tests.
package schemacheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"mediastate/shared/statestore"
)

var (
	mu       sync.Mutex
	compiled = map[string]*jsonschema.Schema{}
)

// Compile compiles a schema once per process, keyed by its text.
func Compile(schema []byte) (*jsonschema.Schema, error) {
	mu.Lock()
	defer mu.Unlock()
	if s, ok := compiled[string(schema)]; ok {
		return s, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("schema.json", doc); err != nil {
		return nil, fmt.Errorf("add schema: %w", err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		return nil, fmt.Errorf("compile schema: %w", err)
	}
	compiled[string(schema)] = s
	return s, nil
}

// Validate returns an error describing every way doc violates schema.
func Validate(schema, doc []byte) error {
	s, err := Compile(schema)
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("document is not JSON: %w", err)
	}
	return s.Validate(v)
}

// Check fails the test when doc violates schema.
func Check(t testing.TB, schema, doc []byte) {
	t.Helper()
	if err := Validate(schema, doc); err != nil {
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, doc, "", "  ")
		t.Fatalf("document violates the schema: %v\n%s", err, pretty.String())
	}
}

// RoundTrip marshals doc with codec, fails the test unless the bytes are
// valid for schema and decode and encode back to the same bytes, and
// returns them.
func RoundTrip[T any](t testing.TB, schema []byte, codec statestore.Codec[T], doc *T) []byte {
	t.Helper()
	out, err := codec.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	Check(t, schema, out)
	back, err := codec.Unmarshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := codec.Marshal(back); !bytes.Equal(again, out) {
		t.Fatalf("round trip changed the document:\n%s\n%s", out, again)
	}
	return out
}
