package live

import (
	_ "embed"

	"mediastate/shared/statestore"
)

// Schema is the JSON Schema (draft 2020-12) of the Stream document.
//
//go:embed schema/live-stream-state.schema.json
var Schema []byte

// Codec encodes Stream documents canonically and decodes them strictly
// (statestore.JSONCodec): unknown fields and schema versions this code does
// not know are refused.
var Codec = statestore.JSONCodec("stream state", func(s *Stream) error {
	if s.Files == nil {
		s.Files = []File{}
	}
	return statestore.CheckSchemaVersion(s.SchemaVersion, SchemaVersion)
})

// Marshal encodes s canonically: equal states give equal bytes.
func Marshal(s *Stream) ([]byte, error) { return Codec.Marshal(s) }

// Unmarshal decodes a Stream document strictly (see Codec).
func Unmarshal(b []byte) (*Stream, error) { return Codec.Unmarshal(b) }
