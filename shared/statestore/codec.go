package statestore

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Codec converts documents to bytes and back.
type Codec[T any] struct {
	Marshal   func(*T) ([]byte, error)
	Unmarshal func([]byte) (*T, error)
}

// JSONCodec returns the codec of the JSON documents of type T, named name
// in errors. Marshal encodes canonically (encoding/json: struct fields in
// declaration order, map keys sorted, no insignificant white space), so
// equal documents give equal bytes. Unmarshal refuses unknown fields, then
// runs check, which refuses schema versions this code does not know and
// may normalise the document: together they keep an older binary from
// rewriting a newer document with fields dropped.
func JSONCodec[T any](name string, check func(*T) error) Codec[T] {
	return Codec[T]{
		Marshal: func(doc *T) ([]byte, error) {
			if doc == nil {
				return nil, fmt.Errorf("marshal %s: nil", name)
			}
			return json.Marshal(doc)
		},
		Unmarshal: func(b []byte) (*T, error) {
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			var doc T
			if err := dec.Decode(&doc); err != nil {
				return nil, fmt.Errorf("unmarshal %s: %w", name, err)
			}
			if err := check(&doc); err != nil {
				return nil, fmt.Errorf("unmarshal %s: %w", name, err)
			}
			return &doc, nil
		},
	}
}

// CheckSchemaVersion is the error of a document whose schema version is
// not the one this code knows.
func CheckSchemaVersion(got, known int) error {
	if got != known {
		return fmt.Errorf("schemaVersion %d, this code knows %d", got, known)
	}
	return nil
}
