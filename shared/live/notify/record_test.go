package notify

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestRecordCaps: every free-text field of a record is cut to its cap, at
// a character boundary, saying how long it was.
func TestRecordCaps(t *testing.T) {
	long := strings.Repeat("é", MaxNotifyContent) // 2 bytes each
	r := Record{NotifyContent: long, NotifyHeader: long, NotifyResponse: long, Description: long, AppName: "a"}.Capped()
	for name, c := range map[string]struct {
		got string
		max int
	}{"NotifyContent": {r.NotifyContent, MaxNotifyContent}, "NotifyHeader": {r.NotifyHeader, MaxNotifyHeader},
		"NotifyResponse": {r.NotifyResponse, MaxNotifyResponse}, "Description": {r.Description, MaxDescription}} {
		if len(c.got) > c.max || !utf8.ValidString(c.got) || !strings.HasSuffix(c.got, fmt.Sprintf("[truncated: %d bytes]", len(long))) {
			t.Errorf("%s: %d bytes (cap %d): %.40q", name, len(c.got), c.max, c.got[max(len(c.got)-40, 0):])
		}
	}
	if r.AppName != "a" || Cut("short", 10) != "short" {
		t.Error("short fields changed")
	}
}
