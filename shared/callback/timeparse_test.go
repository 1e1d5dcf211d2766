package callback

import (
	"testing"
	"time"
)

// eventTimes are the textual event times the decoder accepts, in the
// forms VOD and IMS send, and their UTC value.
var eventTimes = []struct {
	in   string
	want time.Time
}{
	{"2022-07-15T08:48:14Z", time.Date(2022, 7, 15, 8, 48, 14, 0, time.UTC)},
	{"2024-04-10T01:37:14:627Z", time.Date(2024, 4, 10, 1, 37, 14, 627e6, time.UTC)},
	{"2024-04-10T01:37:14:6Z", time.Date(2024, 4, 10, 1, 37, 14, 6e8, time.UTC)},
	{"2024-04-10T01:37:14.627Z", time.Date(2024, 4, 10, 1, 37, 14, 627e6, time.UTC)},
	{"2024-04-10T01:37:14.123456789Z", time.Date(2024, 4, 10, 1, 37, 14, 123456789, time.UTC)},
	{"2024-04-10T01:37:14,5Z", time.Date(2024, 4, 10, 1, 37, 14, 5e8, time.UTC)},
	{"2024-04-10T09:37:14+08:00", time.Date(2024, 4, 10, 1, 37, 14, 0, time.UTC)},
	{"2024-04-10T09:37:14:627+08:00", time.Date(2024, 4, 10, 1, 37, 14, 627e6, time.UTC)},
	{"2024-04-10T01:37:14:627", time.Date(2024, 4, 10, 1, 37, 14, 627e6, time.UTC)},
	{"2024-04-10 01:37:14", time.Date(2024, 4, 10, 1, 37, 14, 0, time.UTC)},
	{"2024-04-10 09:37:14+08:00", time.Date(2024, 4, 10, 1, 37, 14, 0, time.UTC)},
	{"2024-04-10T01:37:14", time.Date(2024, 4, 10, 1, 37, 14, 0, time.UTC)},
	{"2024-04-10T01:37:14z", time.Date(2024, 4, 10, 1, 37, 14, 0, time.UTC)},
	{"0000-01-01T00:00:00Z", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
	{"9999-12-31T23:59:59Z", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
	{"2024-04-09T20:37:14.5-05:00", time.Date(2024, 4, 10, 1, 37, 14, 5e8, time.UTC)},
	{"2024-04-10 01:37:14Z", time.Date(2024, 4, 10, 1, 37, 14, 0, time.UTC)},
	{"2024-04-10 01:37:14.250", time.Date(2024, 4, 10, 1, 37, 14, 25e7, time.UTC)},
	{" 2022-07-15T08:48:14Z ", time.Date(2022, 7, 15, 8, 48, 14, 0, time.UTC)},
	{"2022-07-15t08:48:14z", time.Date(2022, 7, 15, 8, 48, 14, 0, time.UTC)},
}

func TestParseEventTime(t *testing.T) {
	for _, tc := range eventTimes {
		got, err := parseEventTime(tc.in)
		if err != nil || !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("parseEventTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{
		"", "now", "2024-04-10", "2024-04-10T01:37", "20240410T013714Z", "2024-04-10T01:37:14:Z",
		"2024-04-10T01:37:14 Z", "2024-02-30T00:00:00Z", "2024-04-10T24:00:00Z", "2024-04-10T01:37:14+0800",
		"0000-01-01T00:00:00+01:00", "2024-04-10T01:37:14.Z", "1712713034",
	} {
		if got, err := parseEventTime(bad); err == nil {
			t.Errorf("parseEventTime(%q) = %v, want an error", bad, got)
		}
	}
}

func TestParseUnixTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"1488985840", time.Unix(1488985840, 0)},
		{" 1488985840 ", time.Unix(1488985840, 0)},
		{"1488985840.25", time.Unix(1488985840, 25e7)},
		{"1488985840.000000001", time.Unix(1488985840, 1)},
		{"1.48898584e9", time.Unix(1488985840, 0)},
		{"0", time.Unix(0, 0)},
		{"-1.5", time.Unix(-1, -5e8)},
	}
	for _, tc := range tests {
		got, err := parseUnixTime(tc.in)
		if err != nil || !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("parseUnixTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "soon", "1.", "1.2.3", "1.0000000001", "1e20", "NaN", "Inf", "1488985840000000", "9223372036854775807", "0x10"} {
		if got, err := parseUnixTime(bad); err == nil {
			t.Errorf("parseUnixTime(%q) = %v, want an error", bad, got)
		}
	}
}
