package fcapp

import "testing"

// TestParseControl: the control payload is read as JSON, whatever white
// space surrounds it, and nothing else is taken for one.
func TestParseControl(t *testing.T) {
	for payload, want := range map[string]bool{
		`{"mediastate":{"action":"replay-dead-letters","dryRun":true}}`:                 true,
		"\n\t {\"mediastate\" : {\"action\":\"replay-dead-letters\"}}\n":                true,
		`{"EventType":"X","mediastate":{"action":"replay-dead-letters"}}`:               false, // a callback body
		`{"mediastate":{"action":"replay-dead-letters"}`:                                false, // not JSON
		`{"body":"{\"mediastate\":{}}","requestContext":{},"headers":{},"rawPath":"/"}`: false,
		`[{"mediastate":{}}]`: false,
	} {
		c, ok := parseControl([]byte(payload))
		if ok != want || (ok && c.Action != "replay-dead-letters") {
			t.Errorf("parseControl(%q) = %+v %v, want %v", payload, c, ok, want)
		}
	}
}
