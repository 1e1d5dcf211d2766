package live

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
)

// Schema is the JSON Schema (draft 2020-12) of the Stream document.
//
//go:embed schema/live-stream-state.schema.json
var Schema []byte

// Marshal encodes s canonically: fields in declaration order, no
// insignificant white space. Equal states give equal bytes.
func Marshal(s *Stream) ([]byte, error) {
	if s == nil {
		return nil, fmt.Errorf("marshal stream state: nil")
	}
	return json.Marshal(s)
}

// Unmarshal decodes a Stream document, refusing unknown fields and schema
// versions this code does not know, so that an older binary never rewrites
// a newer document with fields dropped.
func Unmarshal(b []byte) (*Stream, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s Stream
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("unmarshal stream state: %w", err)
	}
	if s.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("unmarshal stream state: schemaVersion %d, this code knows %d", s.SchemaVersion, SchemaVersion)
	}
	if s.Files == nil {
		s.Files = []File{}
	}
	return &s, nil
}
