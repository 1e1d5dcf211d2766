// Package callback decodes the callback events sent by ApsaraVideo VOD,
// Intelligent Media Services (IMS) and ApsaraVideo Live into typed Go values.
//
// Every callback body, whatever its envelope, decodes into one Event: its
// source, type, family, the id it is about, its time and normalised status,
// its content identity (EventID), and exactly one typed payload for the
// event types we know. Event types we do not know decode into family
// FamilyUnknown with the raw body kept: nothing is dropped.
package callback

import (
	"encoding/json"
	"strings"
	"time"
)

// Source says which service sent a callback.
type Source string

// The callback sources.
const (
	SourceVOD  Source = "vod"
	SourceIMS  Source = "ims"
	SourceLive Source = "live"
)

// Family groups event types by the function that handles them.
type Family string

// The event families.
const (
	FamilyUpload    Family = "upload"
	FamilyMedia     Family = "media"
	FamilyTranscode Family = "transcode"
	FamilyEditing   Family = "editing"
	FamilyLive      Family = "live"
	// FamilyOther is a documented type with no typed payload: its body is
	// kept as is in the state.
	FamilyOther Family = "other"
	// FamilyUnknown is a type outside the catalogue (types.go), kept like
	// FamilyOther.
	FamilyUnknown Family = "unknown"
)

// IDKind says what an Event's ID names.
type IDKind string

// The id kinds. IDKindMedia covers the MediaId, VideoId, ImageId and
// AttachedMediaId of VOD and IMS events; IDKindJob a JobId, for the events
// of JobKeyed types that name no media (a failed URL pull); IDKindStream
// the domain/app/stream of a Live event.
const (
	IDKindMedia  IDKind = "media"
	IDKindJob    IDKind = "job"
	IDKindStream IDKind = "stream"
)

// Status is a normalised outcome.
type Status string

// The normalised statuses. StatusNone means the event carries no status.
const (
	StatusSuccess Status = "success"
	StatusFail    Status = "fail"
	StatusNone    Status = ""
)

// Event is one decoded callback.
type Event struct {
	// Source is the sending service.
	Source Source `json:"source"`
	// Type is the event type: EventType for VOD and IMS; for Live the
	// NotifyType ("file_created" for a recording file event, otherwise the
	// value of the "event" field such as "record_started").
	Type string `json:"type"`
	// Family is the event family of Type.
	Family Family `json:"family"`
	// ID is what the event is about: the MediaId, VideoId, ImageId or
	// AttachedMediaId for VOD and IMS; "domain/app/stream" for Live.
	ID string `json:"id"`
	// IDField names the field ID was read from, e.g. "MessageBody.MediaId",
	// "VideoId", "JobId" or "domain/app/stream".
	IDField string `json:"idField"`
	// IDKind says what ID names; empty only for an unknown type without id.
	IDKind IDKind `json:"idKind,omitempty"`
	// JobID is the JobId of an event of a JobKeyed type (see TypeSpec),
	// whether or not it is also keyed by a media id: the job state of that
	// JobId records the event and links the job to the media.
	JobID string `json:"jobId,omitempty"`
	// Time is the event time in UTC; zero when the event carries none
	// (Live status events).
	Time time.Time `json:"time,omitzero"`
	// Status is the normalised outcome.
	Status Status `json:"status,omitempty"`
	// EventID is the content identity of the callback: see Identity.
	EventID string `json:"eventId"`
	// UserID is the IMS account id (exact, never through float64).
	UserID int64 `json:"userId,omitempty"`
	// ErrorCode and ErrorMessage are set on failed events that carry them.
	ErrorCode    string `json:"errorCode,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
	// UserData is the user data passed through the upload or job, with JSON
	// nested inside strings decoded (at any depth); a string that is not
	// JSON is kept as a JSON string.
	UserData json.RawMessage `json:"userData,omitempty"`
	// Extend is VOD's pass-through data, decoded like UserData.
	Extend json.RawMessage `json:"extend,omitempty"`

	// Uninterpreted lists the fields that were present but could not be
	// interpreted, with their raw values. They do not make the event fail:
	// only the event type, the id and the time do.
	Uninterpreted []Uninterpreted `json:"uninterpreted,omitempty"`

	// Exactly one of the following is set for a catalogued event type with a
	// payload decoder; none for FamilyOther and FamilyUnknown.
	Upload       *Upload           `json:"upload,omitempty"`
	StreamUpload *Upload           `json:"streamUpload,omitempty"`
	Audit        *Audit            `json:"audit,omitempty"`
	Registration *Registration     `json:"registration,omitempty"`
	Deletion     *Deletion         `json:"deletion,omitempty"`
	BaseChange   *BaseChange       `json:"baseChange,omitempty"`
	Transcode    *Transcode        `json:"transcode,omitempty"`
	Editing      *Editing          `json:"editing,omitempty"`
	LiveFile     *LiveRecordFile   `json:"liveFile,omitempty"`
	LiveStatus   *LiveRecordStatus `json:"liveStatus,omitempty"`

	// Raw is the callback body exactly as received.
	Raw json.RawMessage `json:"raw"`
}

// Uninterpreted is one field of a callback that was present but could not
// be interpreted.
type Uninterpreted struct {
	// Field is the field's path in the body, e.g. "MessageBody.Size".
	Field string `json:"field"`
	// Code is the problem: MalformedJSON (wrong JSON type), InvalidField
	// (unparseable value) or MissingField (an expected field is absent).
	Code string `json:"code"`
	// Reason says what was expected and what came.
	Reason string `json:"reason"`
	// Value is the raw JSON value received; absent for MissingField.
	Value json.RawMessage `json:"value,omitempty"`
}

// Upload is the payload of the upload events (FileUploadComplete,
// UploadByURLComplete, ImageUploadComplete, AttachedMediaUploadComplete,
// RegisterStreamComplete, StreamUploadComplete, UploadStreamByURLComplete),
// IMS or VOD flat form.
type Upload struct {
	MediaType string `json:"mediaType,omitempty"`
	FileURL   string `json:"fileUrl,omitempty"`
	SourceURL string `json:"sourceUrl,omitempty"`
	// Size is the file size in bytes; 0 when absent.
	Size  int64  `json:"size,omitempty"`
	JobID string `json:"jobId,omitempty"`
	AppID string `json:"appId,omitempty"`
	// FileType is "Stream" for the stream form of VOD UploadByURLComplete
	// (an UploadStreamByURL job), whose StreamFileURL is the OSS URL of the
	// uploaded stream.
	FileType      string `json:"fileType,omitempty"`
	StreamFileURL string `json:"streamFileUrl,omitempty"`
}

// IsStream reports whether u uploads a stream of an existing media rather
// than its source file.
func (u *Upload) IsStream() bool { return strings.EqualFold(u.FileType, "stream") }

// Audit is the payload of CreateAuditComplete.
type Audit struct {
	AuditStatus  string    `json:"auditStatus,omitempty"`
	Auditor      string    `json:"auditor,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Comment      string    `json:"comment,omitempty"`
	CreationTime time.Time `json:"creationTime,omitzero"`
}

// Registration is the payload of RegisterMediaComplete, which carries
// nothing beyond the common fields.
type Registration struct{}

// Deletion is the payload of DeleteMediaComplete.
type Deletion struct {
	// DeleteType is "all", "mezzanine", "stream" or "info" (lower case).
	DeleteType string `json:"deleteType"`
	MediaType  string `json:"mediaType,omitempty"`
	// JobIDs are the transcode job ids of the deleted streams (VOD,
	// DeleteType stream), split on commas.
	JobIDs []string `json:"jobIds,omitempty"`
	// FileURLs are the URLs of the deleted streams (IMS, DeleteType stream),
	// split on commas.
	FileURLs []string `json:"fileUrls,omitempty"`
}

// BaseChange is the payload of MediaBaseChangeComplete.
type BaseChange struct {
	MediaType string `json:"mediaType,omitempty"`
	// OperateMode is "create", "update" or "delete" (lower case).
	OperateMode string `json:"operateMode"`
	// Fields maps each changed field (Title, Description, CoverURL, CateId,
	// Tags, or any other name present) to its change.
	Fields map[string]FieldChange `json:"fields"`
}

// FieldChange is one field's old and new value. Numbers are kept as their
// decimal text; an absent or null value is "".
type FieldChange struct {
	OldValue string `json:"oldValue"`
	NewValue string `json:"newValue"`
}

// Transcode is the payload of TranscodeComplete (all streams) and
// StreamTranscodeComplete (one stream).
type Transcode struct {
	Streams []Stream `json:"streams"`
}

// Stream is one transcoded stream.
type Stream struct {
	Status       Status    `json:"status,omitempty"`
	Definition   string    `json:"definition,omitempty"`
	Format       string    `json:"format,omitempty"`
	FileURL      string    `json:"fileUrl,omitempty"`
	JobID        string    `json:"jobId,omitempty"`
	Bitrate      float64   `json:"bitrate,omitempty"`
	Duration     float64   `json:"duration,omitempty"`
	Fps          float64   `json:"fps,omitempty"`
	Width        int64     `json:"width,omitempty"`
	Height       int64     `json:"height,omitempty"`
	Size         int64     `json:"size,omitempty"`
	Encrypt      bool      `json:"encrypt,omitempty"`
	IsAudio      bool      `json:"isAudio,omitempty"`
	WatermarkIDs []string  `json:"watermarkIds,omitempty"`
	StartTime    time.Time `json:"startTime,omitzero"`
	FinishTime   time.Time `json:"finishTime,omitzero"`
	ErrorCode    string    `json:"errorCode,omitempty"`
	ErrorMessage string    `json:"errorMessage,omitempty"`
}

// Editing is the payload of ProduceMediaComplete.
type Editing struct {
	ProjectID string `json:"projectId"`
}

// LiveRecordFile is a Live recording file event (NotifyType file_created).
type LiveRecordFile struct {
	Domain string `json:"domain"`
	App    string `json:"app"`
	Stream string `json:"stream"`
	URI    string `json:"uri"`
	// Duration is the recorded length in seconds.
	Duration  float64   `json:"duration"`
	StartTime time.Time `json:"startTime,omitzero"`
	StopTime  time.Time `json:"stopTime,omitzero"`
	// PushArgs are the callback_ parameters of the ingest URL: the
	// documented object, or a string as received, in canonical JSON (a
	// string holding JSON decoded); nil when absent.
	PushArgs json.RawMessage `json:"pushArgs,omitempty"`
}

// LiveRecordStatus is a Live recording status event (record_started,
// record_paused, record_resumed, record_error, ...).
type LiveRecordStatus struct {
	Domain string `json:"domain"`
	App    string `json:"app"`
	Stream string `json:"stream"`
	// Event is the raw value of the "event" field.
	Event string `json:"event"`
	// Description carries an error description where the sender gives one.
	Description string `json:"description,omitempty"`
}
