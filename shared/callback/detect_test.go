package callback

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"mediastate/shared/apierr"
)

// TestDetectLive: one rule tells a Live body, and Decode follows it: a
// body DetectLive accepts never fails for want of an EventType, and one
// without EventType that it refuses always does.
func TestDetectLive(t *testing.T) {
	cases := []struct {
		name string
		body string
		live bool
		want LiveTarget
	}{
		{"status event", `{"domain":"live.example.com","app":"app1","stream":"s1","event":"record_paused"}`, true,
			LiveTarget{"live.example.com", "app1", "s1", "record_paused"}},
		{"file event", `{"domain":"d.com","app":"a","stream":"s","uri":"x.m3u8","stop_time":1}`, true, LiveTarget{"d.com", "a", "s", "file_created"}},
		{"domain and event only", `{"domain":"d.com","event":"record_started"}`, true, LiveTarget{"d.com", "", "", "record_started"}},
		{"event only", `{"event":"record_started"}`, true, LiveTarget{"", "", "", "record_started"}},
		{"uri only", `{"uri":"x.m3u8"}`, true, LiveTarget{"", "", "", "file_created"}},
		{"keys in any case, numbers and booleans as text", ` {"Domain":"D.COM","APP":"a b","stream":7,"event":true}`, true, LiveTarget{"d.com", "a b", "7", "true"}},
		{"object values are empty", `{"domain":"d.com","event":{"x":1}}`, true, LiveTarget{"d.com", "", "", ""}},
		{"empty strings are present", `{"domain":""}`, true, LiveTarget{}},
		{"null Live fields", `{"domain":null,"uri":null}`, false, LiveTarget{}},
		{"EventType makes it VOD or IMS", `{"EventType":"FileUploadComplete","domain":"d.com"}`, false, LiveTarget{}},
		{"EventType in another case", `{"eventtype":"X","domain":"d.com"}`, false, LiveTarget{}},
		{"null EventType", `{"EventType":null,"domain":"d.com"}`, true, LiveTarget{"d.com", "", "", ""}},
		{"no Live field", `{"Status":"success"}`, false, LiveTarget{}},
		{"empty object", `{}`, false, LiveTarget{}},
		{"array", `["d.com"]`, false, LiveTarget{}},
		{"not JSON", `not json`, false, LiveTarget{}},
		{"cut short", `{"domain":"d.com"`, false, LiveTarget{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, live := DetectLive([]byte(c.body))
			if live != c.live || got != c.want {
				t.Fatalf("DetectLive = %+v %v, want %+v %v", got, live, c.want, c.live)
			}
			if strings.Contains(strings.ToLower(c.body), `"eventtype":"`) || kindOf([]byte(c.body)) != kindObject || !json.Valid([]byte(c.body)) {
				return // VOD, IMS, or no object: Decode never looks for Live
			}
			_, err := Decode([]byte(c.body))
			var e *apierr.Error
			notLive := errors.As(err, &e) && e.Code == apierr.MissingField && e.Field == "EventType"
			if notLive == c.live {
				t.Fatalf("Decode disagrees with DetectLive (live %v): %v", c.live, err)
			}
		})
	}
}
