// Package notify provides the storage of the notify records of Live
// recording callbacks, one per callback occurrence, and the queries of
// DescribeLiveRecordNotifyRecords over them. It is storage only: what is
// recorded, and when, is decided by the liverecord pipeline's recorder
// (package live/recorder).
//
// # What is recorded
//
// One Record per callback occurrence (see live.Occurrence), with exactly
// the fields of a CallbackList item of DescribeLiveRecordNotifyRecords.
// A delivery joins the newest occurrence of its body (callback.Identity)
// when that occurrence was first received less than the dedup window ago,
// so the same callback delivered twice, by HTTP retries, MNS redelivery or
// both, makes one record. The record of an occurrence is written once,
// create-only: the first outcome recorded is kept. Deliveries without a
// valid signature are not recorded at all; trusted deliveries that failed
// before processing (an unusable envelope or body) have their occurrences
// under RefusedID(eventId) instead, so that they cannot take over a
// processed callback's record or receive time (see package live/recorder).
// Free-text fields are capped (Record.Capped).
//
// Deliveries answered with 503 (a transient failure: the sender must
// retry) are not recorded; the attempt that is finally processed or
// dead-lettered is. Deliveries whose body names no valid domain (not JSON,
// an envelope that could not be unwrapped, VOD and IMS events) are not
// recorded: they are in the dead-letter store only.
//
// # Key layout
//
// Under <prefix>live/records/<domain>/ (all names are valid ids, see
// callback.ValidateID, so none contains '/'):
//
//	r/<eventId>/<16 hex digits of ^seq>.claim   occurrence seq of a body: its first receive time
//	r/<eventId>/<16 hex digits of ^seq>.json    the record of that occurrence (Stored)
//	                                            (eventId is RefusedID(...) for refused deliveries)
//	t/<inv>/<s|f>/<app>/<stream>/<eventId>.<seq>   empty: the domain's time index
//	s/<app>/<stream>/<inv>/<s|f>/<eventId>.<seq>   empty: the stream's time index
//
// inv is 9999999999999 minus the receive time in Unix milliseconds, 13
// digits, so that a listing returns the newest record first; s|f is the
// NotifyResult (success, failed). An app or stream that is not a valid id
// (a malformed callback) is an empty segment in the domain index, and the
// record has no stream index entry: no query filter can name it.
//
// A query lists one index over exactly its time window (ListObjectsV2 with
// start-after = the window's end, stopping at the window's start): the
// stream index when AppName and StreamName are both given, the domain
// index otherwise. Status, AppName and StreamName are filtered on the key
// names, so counting TotalNum costs one LIST per 1000 index entries in the
// window and nothing else; only the records of the requested page are read,
// one GET each (in parallel). Nothing outside the window is ever listed,
// whatever is stored. Records are ordered by the key: receive time (newest
// first, to the millisecond), then result, app, stream, event id and
// occurrence, which is deterministic and the same in both indexes.
package notify

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// The caps on a record's fields, in bytes. A Live recording callback is a
// few hundred bytes and its headers about as much; what is longer is cut
// (and says so), so that a record, and a page of PageSize records, stays
// small whatever was sent.
const (
	MaxNotifyContent  = 8 << 10
	MaxNotifyHeader   = 2 << 10
	MaxNotifyResponse = 1 << 10
	MaxDescription    = 1 << 10
)

// Capped returns r with its free-text fields cut to their caps.
func (r Record) Capped() Record {
	r.NotifyContent = Cut(r.NotifyContent, MaxNotifyContent)
	r.NotifyHeader = Cut(r.NotifyHeader, MaxNotifyHeader)
	r.NotifyResponse = Cut(r.NotifyResponse, MaxNotifyResponse)
	r.Description = Cut(r.Description, MaxDescription)
	return r
}

// Cut returns s when it is at most n bytes; otherwise its start, cut at a
// character boundary, and a note of the size it had, n bytes at most in
// all.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	note := fmt.Sprintf("...[truncated: %d bytes]", len(s))
	end := max(n-len(note), 0)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + note
}

// The NotifyResult values.
const (
	ResultSuccess = "success"
	ResultFailed  = "failed"
)

// TimeLayout is the layout of NotifyTime, StartTime and EndTime.
const TimeLayout = "2006-01-02T15:04:05Z"

// Record is one callback record: exactly the fields of a CallbackList item
// of DescribeLiveRecordNotifyRecords, in its order.
type Record struct {
	AppName string `json:"AppName"`
	// Description is "success", or the error code and message.
	Description string `json:"Description"`
	DomainName  string `json:"DomainName"`
	// NotifyContent is the callback body as received.
	NotifyContent string `json:"NotifyContent"`
	// NotifyResult is success (the callback was applied, or found applied
	// already) or failed (it was refused and dead-lettered).
	NotifyResult string `json:"NotifyResult"`
	// NotifyTime is when the callback was first received, UTC, TimeLayout.
	NotifyTime string `json:"NotifyTime"`
	// NotifyType is file_created for a file event, otherwise the status
	// event's value (record_started, ...); "" when it cannot be told.
	NotifyType string `json:"NotifyType"`
	// NotifyUrl is the callback URL configured for the function.
	NotifyUrl string `json:"NotifyUrl"`
	// NotifyHeader is the request headers, secrets redacted, as an indented
	// JSON object of arrays; "{}" for MNS deliveries.
	NotifyHeader string `json:"NotifyHeader"`
	StreamName   string `json:"StreamName"`
	// NotifyResponse is the JSON body answered.
	NotifyResponse string `json:"NotifyResponse"`
}

// StoredVersion is the layout version of Stored.
const StoredVersion = 1

// Stored is the object a record is kept in.
type Stored struct {
	Version int    `json:"version"`
	EventID string `json:"eventId"`
	Seq     uint64 `json:"seq"`
	// ReceivedAtMs is the occurrence's first receive time, Unix ms.
	ReceivedAtMs int64  `json:"receivedAtMs"`
	Record       Record `json:"record"`
}

// ReceivedAt returns the receive time.
func (s *Stored) ReceivedAt() time.Time { return time.UnixMilli(s.ReceivedAtMs).UTC() }

// FormatTime formats t as NotifyTime.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }
