package state

import (
	_ "embed"

	"mediastate/shared/statestore"
)

// Schema is the JSON Schema (draft 2020-12) of the Media document.
//
//go:embed schema/media-state.schema.json
var Schema []byte

// Codec encodes Media documents canonically and decodes them strictly
// (statestore.JSONCodec): unknown fields and schema versions this code does
// not know are refused.
var Codec = statestore.JSONCodec("media state", func(m *Media) error {
	if m.Events == nil {
		m.Events = []AppliedEvent{}
	}
	return statestore.CheckSchemaVersion(m.SchemaVersion, SchemaVersion)
})

// Marshal encodes m canonically: equal states give equal bytes.
func Marshal(m *Media) ([]byte, error) { return Codec.Marshal(m) }

// Unmarshal decodes a Media document strictly (see Codec).
func Unmarshal(b []byte) (*Media, error) { return Codec.Unmarshal(b) }
