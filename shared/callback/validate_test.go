package callback

import (
	"errors"
	"strings"
	"testing"

	"mediastate/shared/apierr"
)

func TestValidateID(t *testing.T) {
	valid := []string{
		"c321b3a0041a71eda1590674a2ce****",
		"1234343b689*****a5422dfe1e472a41",
		"43q9fjsh73f****",
		"demo.aliyundoc.com",
		"liveApp****",
		"a",
		"a.b.c",
		".hidden",
		"x-_~!$&'()*+,;=:@[]{}|^`<>\"",
		strings.Repeat("a", MaxIDLength),
	}
	for _, id := range valid {
		if err := ValidateID("VideoId", id); err != nil {
			t.Errorf("ValidateID(%q) = %v, want nil", id, err)
		}
	}
	invalid := []struct{ id, reason string }{
		{"", "empty"},
		{strings.Repeat("a", MaxIDLength+1), "129 bytes"},
		{".", `"."`},
		{"..", `".."`},
		{"a..b", `".."`},
		{"../etc", `".."`},
		{"a/b", "'/'"},
		{"a\\b", `'\\'`},
		{"a?b", "'?'"},
		{"a#b", "'#'"},
		{"a%2fb", "'%'"},
		{"a b", "0x20"},
		{"a\tb", "0x09"},
		{"a\nb", "0x0a"},
		{"a\x00b", "0x00"},
		{"a\x7fb", "0x7f"},
		{"vidéo", "0xc3"},
		{"a\u00a0b", "0xc2"},
	}
	for _, tc := range invalid {
		err := ValidateID("MessageBody.MediaId", tc.id)
		var e *apierr.Error
		if !errors.As(err, &e) || e.Code != apierr.InvalidId || e.Field != "MessageBody.MediaId" || !apierr.IsPermanent(err) {
			t.Errorf("ValidateID(%q) = %v, want an InvalidId error naming the field", tc.id, err)
			continue
		}
		if !strings.Contains(e.Message, tc.reason) || !strings.Contains(e.Message, "MessageBody.MediaId") || !strings.Contains(e.Message, "expected") {
			t.Errorf("ValidateID(%q) message %q does not give the reason %s", tc.id, e.Message, tc.reason)
		}
	}
}
