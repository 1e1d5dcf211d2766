// Package live keeps the state of ApsaraVideo Live recording streams: one
// JSON document per stream (domain/app/stream) with its current recording
// status and the files recorded, stored with the versioned create-only
// store (package statestore), and folded from Live recording callbacks in
// an order-independent way, as package state does for media.
//
// # Order and identity of Live events
//
// A recording file event carries its own times (start_time, stop_time) and
// a unique content, so it is identified by its content (callback.Identity)
// and ordered by stop_time.
//
// A status event ({"domain","app","stream","event":"record_paused"}) carries
// no time and no id: the same body is sent every time the stream is paused.
// Two deliveries of one body are therefore either a retry of one callback or
// two real events, and only the time they arrive can tell. This package
// orders and identifies them by an Occurrence: the content id plus the time
// the callback was FIRST received. The notify record store (package
// live/notify) assigns occurrences durably and create-only: a delivery of a
// body whose newest occurrence was first received less than a dedup window
// ago (default 5 minutes) joins that occurrence (it is a retry); a later one
// starts a new occurrence with its own receive time. The occurrence, once
// written, never changes, so every retry, duplicate or replay of a callback
// maps to the same (content, receive time) pair.
//
// The stream document is then a pure function of the SET of occurrences
// applied: any order and any number of duplicates give byte-identical JSON.
// What receive-time ordering cannot give is independence from the order in
// which the SENDER's distinct status callbacks reach us: if record_paused
// and record_resumed arrive swapped, the status says paused. That is the
// price of status events without a time; a status event that does carry a
// time (start_time or stop_time) is ordered by that time instead (TimeSource
// "event"), and then arrival order does not matter at all. A second
// consequence: a real repeat of the same status (paused, resumed, paused)
// whose repeat arrives within the dedup window is taken for a retry.
package live

import (
	_ "embed"

	"mediastate/shared/statestore"

	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
)

// SchemaVersion is the version of the stream document layout written by
// this code; schema/live-stream-state.schema.json describes it.
const SchemaVersion = 1

// MaxFiles bounds the files a stream document lists: the newest MaxFiles by
// stop time are kept and FilesDropped says that older ones were dropped.
const MaxFiles = 1000

// The recording states derived from the latest status event.
const (
	StateUnknown   = "unknown"   // no status event yet
	StateRecording = "recording" // record_started, record_resumed
	StatePaused    = "paused"    // record_paused
	StateError     = "error"     // record_error, record_force_transcode_fail, transformat_error
	StateOther     = "other"     // any other status value
)

// The time sources of a status event.
const (
	TimeFromEvent    = "event"    // the event carried start_time or stop_time
	TimeFromReceived = "received" // the time the callback was first received
)

// Stream is the state of one recording stream.
type Stream struct {
	// SchemaVersion is the document layout version.
	SchemaVersion int `json:"schemaVersion"`
	// ID is "domain/app/stream".
	ID     string `json:"id"`
	Domain string `json:"domain"`
	App    string `json:"app"`
	Stream string `json:"stream"`
	// State is derived from Status: unknown, recording, paused, error or other.
	State string `json:"state"`
	// Status is the status event with the greatest key (time, event id,
	// occurrence), whatever its type.
	Status *StatusEvent `json:"status,omitempty"`
	// LastError is the greatest status event of an error type
	// (record_error, record_force_transcode_fail, transformat_error).
	LastError *StatusEvent `json:"lastError,omitempty"`
	// Files are the recorded files, one per uri (the version with the
	// greatest (stop time, event id)), sorted by (stop time, uri, event id),
	// at most MaxFiles.
	Files []File `json:"files"`
	// FilesDropped is true when more than MaxFiles distinct files were
	// recorded and the oldest were dropped.
	FilesDropped bool `json:"filesDropped,omitempty"`
}

// StatusEvent is one status callback as applied.
type StatusEvent struct {
	// NotifyType is the event value, e.g. record_paused.
	NotifyType string `json:"notifyType"`
	// Time orders status events: the event's own time when it has one,
	// otherwise the time it was first received (see TimeSource).
	Time       time.Time `json:"time"`
	TimeSource string    `json:"timeSource"`
	// EventID is the content id of the callback body.
	EventID string `json:"eventId"`
	// Occurrence numbers the receptions of this body that were more than the
	// dedup window apart, from 1.
	Occurrence uint64 `json:"occurrence"`
	// Description is the sender's description, when it gives one.
	Description string `json:"description,omitempty"`
}

// File is one recorded file.
type File struct {
	URI string `json:"uri"`
	// Duration is the recorded length in seconds.
	Duration  float64   `json:"duration"`
	StartTime time.Time `json:"startTime,omitzero"`
	StopTime  time.Time `json:"stopTime"`
	// PushArgs are the ingest URL's callback_ parameters as sent: the
	// documented object, or a string (canonical JSON).
	PushArgs json.RawMessage `json:"pushArgs,omitempty"`
	// EventID is the content id of the file callback.
	EventID string `json:"eventId"`
}

// Occurrence identifies one reception of a callback body (see the package
// documentation): its content id, its sequence number among the receptions
// of that body, and when it was first received.
type Occurrence struct {
	// Domain is the Live domain the callback is about.
	Domain string
	// EventID is the content id (callback.Identity) of the body.
	EventID string
	// Seq counts the occurrences of EventID from 1.
	Seq uint64
	// ReceivedAt is when the occurrence was first received, in UTC,
	// truncated to the millisecond.
	ReceivedAt time.Time
}

// IsZero reports whether o is unset.
func (o Occurrence) IsZero() bool { return o.EventID == "" }

// errorTypes are the status values that report a failure.
var errorTypes = []string{"record_error", "record_force_transcode_fail", "transformat_error"}

// IsErrorType reports whether a status value reports a failure.
func IsErrorType(t string) bool { return slices.Contains(errorTypes, t) }

// New returns the empty state of a stream.
func New(domain, app, stream string) *Stream {
	return &Stream{SchemaVersion: SchemaVersion, ID: domain + "/" + app + "/" + stream, Domain: domain, App: app,
		Stream: stream, State: StateUnknown, Files: []File{}}
}

// Schema is the JSON Schema (draft 2020-12) of the Stream document.
//
//go:embed schema/live-stream-state.schema.json
var Schema []byte

// Codec encodes Stream documents canonically and decodes them strictly
// (statestore.JSONCodec), filling in an absent file list.
var Codec = statestore.JSONCodec("stream state", func(s *Stream) error {
	if s.Files == nil {
		s.Files = []File{}
	}
	return statestore.CheckSchemaVersion(s.SchemaVersion, SchemaVersion)
})

// statusKey orders status events.
func statusKey(a, b *StatusEvent) int {
	return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.EventID, b.EventID), cmp.Compare(a.Occurrence, b.Occurrence))
}

// fileOrder orders files in the list: (stop time, uri, event id). For two
// versions of one uri it agrees with fileVersion, which is what makes the
// bounded list a pure function of the set of events.
func fileOrder(a, b *File) int {
	return cmp.Or(a.StopTime.Compare(b.StopTime), strings.Compare(a.URI, b.URI), strings.Compare(a.EventID, b.EventID))
}

// fileVersion orders two versions of one uri.
func fileVersion(a, b *File) int {
	return cmp.Or(a.StopTime.Compare(b.StopTime), strings.Compare(a.EventID, b.EventID))
}

// Apply folds e, received as occurrence occ, into s and returns the new
// state and whether anything changed. s is not modified; a nil s is the
// empty state of e's stream. A file event needs no occurrence; a status
// event without its own time needs one (its receive time orders it).
func Apply(s *Stream, e *callback.Event, occ Occurrence) (*Stream, bool, error) {
	return apply(s, e, occ, MaxFiles)
}

func apply(s *Stream, e *callback.Event, occ Occurrence, maxFiles int) (*Stream, bool, error) {
	if e == nil {
		return s, false, apierr.New(apierr.Internal, "live: nil event")
	}
	if e.Family != callback.FamilyLive || (e.LiveFile == nil && e.LiveStatus == nil) {
		return s, false, apierr.New(apierr.WrongFamily,
			"%s is not a Live recording event: send VOD and IMS callbacks to the media functions", e.Type).WithEventType(e.Type)
	}
	if e.EventID == "" {
		return s, false, apierr.New(apierr.Internal, "live: event without content id").WithEventType(e.Type)
	}
	domain, app, stream := names(e)
	if s == nil {
		s = New(domain, app, stream)
	}
	if s.Domain != domain || s.App != app || s.Stream != stream {
		return s, false, apierr.New(apierr.Internal, "live: event for %s/%s/%s applied to the state of %s", domain, app, stream, s.ID)
	}
	if f := e.LiveFile; f != nil {
		n, changed := addFile(s, File{URI: f.URI, Duration: f.Duration, StartTime: f.StartTime, StopTime: f.StopTime,
			PushArgs: f.PushArgs, EventID: e.EventID}, maxFiles)
		return n, changed, nil
	}
	st := &StatusEvent{NotifyType: e.LiveStatus.Event, Time: e.Time.UTC(), TimeSource: TimeFromEvent, EventID: e.EventID,
		Occurrence: max(occ.Seq, 1), Description: e.LiveStatus.Description}
	if e.Time.IsZero() {
		if occ.IsZero() || occ.ReceivedAt.IsZero() {
			return s, false, apierr.Transient(apierr.Internal, nil, "live: status event %s without a time and without a receive time", e.EventID).WithEventType(e.Type)
		}
		st.Time, st.TimeSource = occ.ReceivedAt.UTC(), TimeFromReceived
	}
	if !occ.IsZero() && occ.EventID != e.EventID {
		return s, false, apierr.New(apierr.Internal, "live: occurrence of %s applied with event %s", occ.EventID, e.EventID)
	}
	n := *s
	changed := false
	if n.Status == nil || statusKey(st, n.Status) > 0 {
		n.Status, changed = st, true
	}
	if IsErrorType(st.NotifyType) && (n.LastError == nil || statusKey(st, n.LastError) > 0) {
		n.LastError, changed = st, true
	}
	if !changed {
		return s, false, nil
	}
	n.State = stateOf(n.Status)
	return &n, true, nil
}

// names returns the domain, app and stream of a Live event.
func names(e *callback.Event) (string, string, string) {
	if f := e.LiveFile; f != nil {
		return f.Domain, f.App, f.Stream
	}
	return e.LiveStatus.Domain, e.LiveStatus.App, e.LiveStatus.Stream
}

// addFile adds f to the file list: the newer version of its uri wins, and
// only the greatest maxFiles files by fileOrder are kept.
func addFile(s *Stream, f File, maxFiles int) (*Stream, bool) {
	if i := slices.IndexFunc(s.Files, func(g File) bool { return g.URI == f.URI }); i >= 0 {
		if fileVersion(&f, &s.Files[i]) <= 0 {
			return s, false
		}
		n := *s
		n.Files = slices.Delete(slices.Clone(s.Files), i, i+1)
		n.Files = insertFile(n.Files, f)
		return &n, true
	}
	n := *s
	if len(s.Files) >= maxFiles {
		if fileOrder(&f, &s.Files[0]) < 0 {
			if s.FilesDropped {
				return s, false
			}
			n.FilesDropped = true
			return &n, true
		}
		n.Files = insertFile(slices.Clone(s.Files[1:]), f)
		n.FilesDropped = true
		return &n, true
	}
	n.Files = insertFile(slices.Clone(s.Files), f)
	return &n, true
}

func insertFile(files []File, f File) []File {
	i, _ := slices.BinarySearchFunc(files, f, func(a, b File) int { return fileOrder(&a, &b) })
	return slices.Insert(files, i, f)
}

// stateOf derives the recording state from the latest status event.
func stateOf(st *StatusEvent) string {
	if st == nil {
		return StateUnknown
	}
	switch st.NotifyType {
	case "record_started", "record_resumed":
		return StateRecording
	case "record_paused":
		return StatePaused
	}
	if IsErrorType(st.NotifyType) {
		return StateError
	}
	return StateOther
}
