// Package state defines the per-MediaId state document that downstream jobs
// read, and how callback events are folded into it.
//
// The document is a pure function of the SET of distinct events applied:
// any order and any number of duplicates give byte-identical JSON. Every
// aspect is a register that keeps the event with the greatest key
// (EventTime, then EventID, a hash of the event's content, so ties are
// broken by content and never by arrival); the applied-event and failure
// lists are sets kept sorted by the same key; deletion facts are maxima of
// the deletion events; and the derived flags (deleted, fileDeleted, which
// streams are removed) are computed from those registers alone. Bookkeeping
// such as version numbers is kept out of the document (see statestore).
package state

import (
	"encoding/json"
	"time"

	"mediastate/shared/callback"
)

// SchemaVersion is the version of the document layout written by this code.
// schema/media-state.schema.json describes it.
const SchemaVersion = 1

// Media is the state of one media asset.
type Media struct {
	// SchemaVersion is the document layout version.
	SchemaVersion int `json:"schemaVersion"`
	// MediaID is the MediaId (VideoId, ImageId, ...) the document is about.
	// In a job state (JobID set) it is the media the job produced, once an
	// event names both; empty before.
	MediaID string `json:"mediaId,omitempty"`
	// JobID is set in a job state only: the JobId of a URL pull whose
	// events are kept under <prefix>jobs/<JobId>/ (see ApplyJob).
	JobID string `json:"jobId,omitempty"`
	// Deleted is true once a successful DeleteMediaComplete with DeleteType
	// "all" or "info" has been applied. It is terminal: no event, late or
	// new, clears it.
	Deleted bool `json:"deleted"`

	// Upload is the latest upload outcome of the source file.
	Upload *Upload `json:"upload,omitempty"`
	// StreamUploads are the streams uploaded or registered for the media
	// (IMS RegisterStreamComplete, StreamUploadComplete,
	// UploadStreamByURLComplete; VOD UploadByURLComplete of FileType
	// Stream): per job id (or file URL), the latest, sorted by that key.
	StreamUploads []StreamUpload `json:"streamUploads,omitempty"`
	// Audit is the latest manual review outcome (CreateAuditComplete).
	Audit *Audit `json:"audit,omitempty"`
	// Registration is the latest RegisterMediaComplete outcome.
	Registration *Registration `json:"registration,omitempty"`
	// BasicInfo holds title, description, cover, category and tags, applied
	// field by field from successful MediaBaseChangeComplete events.
	BasicInfo *BasicInfo `json:"basicInfo,omitempty"`
	// Transcode holds the latest transcode outcome and the streams.
	Transcode *Transcode `json:"transcode,omitempty"`
	// Editing is the latest ProduceMediaComplete outcome.
	Editing *Editing `json:"editing,omitempty"`
	// Deletion holds the latest DeleteMediaComplete outcome and the
	// successful deletions that decide Deleted and Upload.FileDeleted.
	Deletion *Deletion `json:"deletion,omitempty"`
	// Other holds, per event type outside the known families (e.g.
	// SnapshotComplete), the latest such event with its body.
	Other map[string]*Other `json:"other,omitempty"`

	// Uninterpreted lists, for every applied event, the fields that were
	// present but could not be interpreted, with their raw values, sorted by
	// (time, event id), then in body order.
	Uninterpreted []UninterpretedField `json:"uninterpreted,omitempty"`

	// Events lists every distinct event applied, sorted by (time, id).
	Events []AppliedEvent `json:"events"`
	// Failures lists every applied event whose status is fail, sorted by
	// (time, id).
	Failures []Failure `json:"failures,omitempty"`
}

// Outcome is the part every aspect shares: which event decided it.
type Outcome struct {
	EventType    string    `json:"eventType"`
	EventTime    time.Time `json:"eventTime,omitzero"`
	EventID      string    `json:"eventId"`
	Source       string    `json:"source"`
	Status       string    `json:"status,omitempty"`
	ErrorCode    string    `json:"errorCode,omitempty"`
	ErrorMessage string    `json:"errorMessage,omitempty"`
}

// Upload is the upload aspect.
type Upload struct {
	Outcome
	callback.Upload
	UserData json.RawMessage `json:"userData,omitempty"`
	// FileDeleted is true when a successful deletion of the source file
	// (DeleteType "mezzanine" or "all") is later than this upload.
	FileDeleted bool `json:"fileDeleted,omitempty"`
}

// StreamUpload is one uploaded or registered stream.
type StreamUpload struct {
	Outcome
	callback.Upload
	UserData json.RawMessage `json:"userData,omitempty"`
	// Removed is true when a successful deletion of type all, or of type
	// stream naming the job or URL (or naming none), is later than it.
	Removed bool `json:"removed,omitempty"`
}

// UninterpretedField is a field of an applied event that could not be
// interpreted (see callback.Uninterpreted).
type UninterpretedField struct {
	EventID   string    `json:"eventId"`
	EventType string    `json:"eventType"`
	EventTime time.Time `json:"eventTime,omitzero"`
	callback.Uninterpreted
}

// Audit is the manual review aspect.
type Audit struct {
	Outcome
	callback.Audit
}

// Registration is the media registration aspect.
type Registration struct {
	Outcome
	UserData json.RawMessage `json:"userData,omitempty"`
}

// BasicInfo is the basic information aspect.
type BasicInfo struct {
	// Outcome is the latest MediaBaseChangeComplete, whatever its status.
	Outcome
	MediaType string `json:"mediaType,omitempty"`
	// Fields maps a field name (Title, Description, CoverURL, CateId, Tags,
	// ...) to its value from the latest successful change of that field.
	Fields map[string]Field `json:"fields,omitempty"`
}

// Field is one basic-information field.
type Field struct {
	// Value is the current value ("" when cleared).
	Value string `json:"value"`
	// Cleared is true when the latest change deleted the field.
	Cleared   bool      `json:"cleared,omitempty"`
	EventID   string    `json:"eventId"`
	EventTime time.Time `json:"eventTime,omitzero"`
}

// Transcode is the transcode aspect.
type Transcode struct {
	// Outcome is the latest TranscodeComplete or StreamTranscodeComplete.
	Outcome
	// Extend is the pass-through data of that event.
	Extend json.RawMessage `json:"extend,omitempty"`
	// Streams are the current streams, one per (definition, format), sorted
	// by definition then format.
	Streams []Stream `json:"streams,omitempty"`
	// RemovedStreams are streams covered by a successful stream deletion
	// (see Deletion), sorted like Streams.
	RemovedStreams []Stream `json:"removedStreams,omitempty"`
}

// Stream is one transcoded stream, as decoded, and the event that
// reported it.
type Stream struct {
	callback.Stream
	EventID   string    `json:"eventId"`
	EventTime time.Time `json:"eventTime,omitzero"`
}

// Editing is the online editing aspect (the media was produced by editing).
type Editing struct {
	Outcome
	ProjectID string `json:"projectId,omitempty"`
}

// Deletion is the deletion aspect.
type Deletion struct {
	// Outcome is the latest DeleteMediaComplete, whatever its type and status.
	Outcome
	DeleteType string   `json:"deleteType,omitempty"`
	MediaType  string   `json:"mediaType,omitempty"`
	JobIDs     []string `json:"jobIds,omitempty"`
	FileURLs   []string `json:"fileUrls,omitempty"`
	// Terminal is the latest successful deletion of type "all" (VOD: all
	// media information; IMS: all media information and the source file)
	// or "info" (IMS: a logical deletion, files kept).
	Terminal *EventRef `json:"terminal,omitempty"`
	// SourceFile is the latest successful deletion of type "mezzanine"
	// (the source file) or "all".
	SourceFile *EventRef `json:"sourceFile,omitempty"`
	// StreamJobIDs and StreamFileURLs are the union of the job ids and file
	// URLs named by successful stream deletions, sorted; a stream with one
	// of them is removed.
	StreamJobIDs   []string `json:"streamJobIds,omitempty"`
	StreamFileURLs []string `json:"streamFileUrls,omitempty"`
	// AllStreams is the latest successful deletion of type "all", or of
	// type "stream" naming no job id or URL: it removes every stream
	// reported before it.
	AllStreams *EventRef `json:"allStreams,omitempty"`
}

// Other is the latest event of a type outside the known families.
type Other struct {
	Outcome
	// Body is the event's JSON body in canonical form.
	Body json.RawMessage `json:"body"`
}

// EventRef names an event by id and time.
type EventRef struct {
	EventID   string    `json:"eventId"`
	EventTime time.Time `json:"eventTime,omitzero"`
}

// AppliedEvent is one entry of the applied-event set.
type AppliedEvent struct {
	ID     string    `json:"id"`
	Type   string    `json:"type"`
	Time   time.Time `json:"time,omitzero"`
	Status string    `json:"status,omitempty"`
	Source string    `json:"source"`
}

// Failure is one failed event.
type Failure struct {
	EventID      string    `json:"eventId"`
	EventType    string    `json:"eventType"`
	EventTime    time.Time `json:"eventTime,omitzero"`
	ErrorCode    string    `json:"errorCode,omitempty"`
	ErrorMessage string    `json:"errorMessage,omitempty"`
}
