package state

import (
	"strings"
	"testing"

	"mediastate/test/schemacheck"
)

func TestSchemaRejectsInvalidDocuments(t *testing.T) {
	valid := `{"schemaVersion":1,"mediaId":"m1","deleted":false,"events":[]}`
	schemacheck.Check(t, Schema, []byte(valid))
	for name, doc := range map[string]string{
		"wrong version":   strings.Replace(valid, `"schemaVersion":1`, `"schemaVersion":2`, 1),
		"unsafe id":       strings.Replace(valid, `"m1"`, `"../x"`, 1),
		"unknown field":   strings.Replace(valid, `"deleted":false`, `"deleted":false,"extra":1`, 1),
		"bad status":      `{"schemaVersion":1,"mediaId":"m1","deleted":false,"events":[{"id":"e","type":"T","source":"vod","status":"Success"}]}`,
		"bad time":        `{"schemaVersion":1,"mediaId":"m1","deleted":false,"events":[{"id":"e","type":"T","source":"vod","time":"yesterday"}]}`,
		"outcome missing": `{"schemaVersion":1,"mediaId":"m1","deleted":false,"events":[],"upload":{"fileUrl":"x"}}`,
		"missing events":  `{"schemaVersion":1,"mediaId":"m1","deleted":false}`,
	} {
		if err := schemacheck.Validate(Schema, []byte(doc)); err == nil {
			t.Errorf("%s: schema accepted %s", name, doc)
		}
	}
}

func TestUnmarshalRefusesUnknown(t *testing.T) {
	for _, doc := range []string{
		`{"schemaVersion":2,"mediaId":"m1","deleted":false,"events":[]}`,
		`{"schemaVersion":1,"mediaId":"m1","deleted":false,"events":[],"future":true}`,
		`not json`,
	} {
		if _, err := Unmarshal([]byte(doc)); err == nil {
			t.Errorf("Unmarshal accepted %s", doc)
		}
	}
}
