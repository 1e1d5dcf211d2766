package state

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
)

// Schema is the JSON Schema (draft 2020-12) of the Media document.
//
//go:embed schema/media-state.schema.json
var Schema []byte

// Marshal encodes m canonically: struct fields in declaration order, map
// keys sorted, no insignificant white space. Equal states give equal bytes.
func Marshal(m *Media) ([]byte, error) {
	if m == nil {
		return nil, fmt.Errorf("marshal media state: nil")
	}
	return json.Marshal(m)
}

// Unmarshal decodes a Media document, refusing unknown fields and schema
// versions this code does not know, so that an older binary never rewrites
// a newer document with fields dropped.
func Unmarshal(b []byte) (*Media, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Media
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("unmarshal media state: %w", err)
	}
	if m.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("unmarshal media state: schemaVersion %d, this code knows %d", m.SchemaVersion, SchemaVersion)
	}
	if m.Events == nil {
		m.Events = []AppliedEvent{}
	}
	return &m, nil
}
