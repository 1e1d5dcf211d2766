package callback

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// This file is the catalogue of the VOD and IMS event types: one row per
// type says who sends it, its family, where its id is and how its payload
// is decoded. Adding a type is one row here plus its fixtures under
// testdata/corpus; nothing else switches on event types.

// TypeSpec describes one VOD or IMS event type.
type TypeSpec struct {
	// Sources are the services documented to send the type.
	Sources []Source
	// Family is the family of the type (FamilyOther for types whose body is
	// kept as is under "other" in the state).
	Family Family
	// Primary is the id field the type documents; it is the field named in
	// the error when no id is present.
	Primary string
	// IDFields are the fields the id is read from, in order of precedence.
	IDFields []string
	// JobKeyed says that an event without any of IDFields is keyed by its
	// JobId instead (a failed URL pull carries no VideoId), and that an
	// event naming both links the job to the media.
	JobKeyed bool
	// Payload fills the typed payload of an event of the type; nil for
	// types with no typed payload.
	Payload func(c *converter, prefix string, m *mediaFields, ev *Event)
	// State says in one line what the type changes in the media state
	// (README's event table is checked against it).
	State string
}

// mediaIDFields are the id fields of VOD and IMS events, in order of
// precedence, shared by every type.
var mediaIDFields = []string{"MediaId", "VideoId", "ImageId", "AttachedMediaId"}

// jobIDField is the field a JobKeyed type is keyed by when it names no media.
const jobIDField = "JobId"

var (
	vodOnly = []Source{SourceVOD}
	imsOnly = []Source{SourceIMS}
	vodIMS  = []Source{SourceVOD, SourceIMS}
)

// row builds a TypeSpec with the shared id fields.
func row(src []Source, fam Family, primary string, payload func(*converter, string, *mediaFields, *Event), state string) *TypeSpec {
	return &TypeSpec{Sources: src, Family: fam, Primary: primary, IDFields: mediaIDFields, Payload: payload, State: state}
}

// jobKeyed marks a row JobKeyed.
func jobKeyed(t *TypeSpec) *TypeSpec {
	t.JobKeyed = true
	return t
}

// The state effects quoted in the table.
const (
	stateUpload       = "`upload` (source file: URL, size, job, user data); `fileDeleted` is recomputed"
	stateStreamUpload = "`streamUploads`: one entry per job (or file URL), the latest"
	stateOther        = "`other.<EventType>`: the latest such event's outcome and canonical body"
)

// eventTypes is the catalogue. Types not listed decode with family
// FamilyUnknown and are kept like FamilyOther types.
var eventTypes = map[string]*TypeSpec{
	// Uploads.
	"FileUploadComplete":          row(vodIMS, FamilyUpload, "VideoId", decodeUpload, stateUpload),
	"UploadByURLComplete":         jobKeyed(row(vodIMS, FamilyUpload, "VideoId", decodeUpload, stateUpload+"; the stream form (`FileType` Stream) goes to `streamUploads` instead; with a JobId, also the job state of that JobId, which alone keeps a failed pull (no VideoId)")),
	"ImageUploadComplete":         row(vodIMS, FamilyUpload, "ImageId", decodeUpload, stateUpload),
	"AttachedMediaUploadComplete": row(vodIMS, FamilyUpload, "AttachedMediaId", decodeUpload, stateUpload),
	"RegisterStreamComplete":      row(imsOnly, FamilyUpload, "MediaId", decodeStreamUpload, stateStreamUpload),
	"StreamUploadComplete":        row(imsOnly, FamilyUpload, "MediaId", decodeStreamUpload, stateStreamUpload),
	"UploadStreamByURLComplete":   jobKeyed(row(imsOnly, FamilyUpload, "MediaId", decodeStreamUpload, stateStreamUpload+"; also the job state of its JobId")),

	// Media management.
	"CreateAuditComplete":     row(vodIMS, FamilyMedia, "MediaId", decodeAudit, "`audit`: the latest review outcome"),
	"RegisterMediaComplete":   row(imsOnly, FamilyMedia, "MediaId", decodeRegistration, "`registration`: the latest outcome and user data"),
	"DeleteMediaComplete":     row(vodIMS, FamilyMedia, "MediaId", decodeDeletion, "`deletion`, and by DeleteType: `all` sets `deleted`, `upload.fileDeleted` and removes every stream; `info` sets `deleted` only; `mezzanine` sets `upload.fileDeleted`; `stream` removes the named (or all earlier) streams"),
	"MediaBaseChangeComplete": row(vodIMS, FamilyMedia, "MediaId", decodeBaseChange, "`basicInfo.fields`: each changed field from the latest successful change of it"),

	// Transcoding.
	"TranscodeComplete":       row(vodIMS, FamilyTranscode, "VideoId", decodeTranscode, "`transcode`: outcome, `extend`, and one stream per definition and format"),
	"StreamTranscodeComplete": row(vodOnly, FamilyTranscode, "VideoId", decodeStreamTranscode, "`transcode.streams`: the one stream"),

	// Editing.
	"ProduceMediaComplete": row(vodIMS, FamilyEditing, "MediaId", decodeEditing, "`editing`: outcome and `projectId`"),

	// Documented types with no typed payload: kept under "other".
	"SnapshotComplete":                row(vodOnly, FamilyOther, "VideoId", nil, stateOther),
	"DynamicImageComplete":            row(vodOnly, FamilyOther, "VideoId", nil, stateOther),
	"AddLiveRecordVideoComplete":      row(vodOnly, FamilyOther, "VideoId", nil, stateOther),
	"LiveRecordVideoComposeStart":     row(vodOnly, FamilyOther, "VideoId", nil, stateOther),
	"AIMediaAuditComplete":            row(vodOnly, FamilyOther, "MediaId", nil, stateOther),
	"AIMediaDNAComplete":              row(vodOnly, FamilyOther, "MediaId", nil, stateOther),
	"AIVideoTagComplete":              row(vodOnly, FamilyOther, "MediaId", nil, stateOther),
	"VideoAnalysisComplete":           row(vodOnly, FamilyOther, "VideoId", nil, stateOther),
	"WorkflowTaskComplete":            row(vodOnly, FamilyOther, "VideoId", nil, stateOther),
	"UpdateMediaStorageClassComplete": row(vodOnly, FamilyOther, "MediaId", nil, stateOther),
	"RestoreMediaComplete":            row(vodOnly, FamilyOther, "MediaId", nil, stateOther),
}

// LookupType returns the catalogue row of a VOD or IMS event type, or nil
// for a type we do not know.
func LookupType(eventType string) *TypeSpec { return eventTypes[eventType] }

// EventTypes returns the catalogued event types, sorted.
func EventTypes() []string { return slices.Sorted(maps.Keys(eventTypes)) }

// FamilyOf returns the family of a VOD or IMS event type; FamilyUnknown for
// types outside the catalogue.
func FamilyOf(eventType string) Family {
	if t := eventTypes[eventType]; t != nil {
		return t.Family
	}
	return FamilyUnknown
}

// The payload decoders of the rows.

func decodeUpload(c *converter, p string, m *mediaFields, ev *Event) {
	u := &Upload{
		MediaType:     c.str(p+"MediaType", m.MediaType),
		FileURL:       c.str(p+"FileUrl", m.FileUrl),
		SourceURL:     c.str(p+"SourceURL", m.SourceURL),
		Size:          c.int(p+"Size", m.Size),
		JobID:         c.str(p+"JobId", m.JobId),
		AppID:         c.str(p+"AppId", m.AppId),
		FileType:      c.str(p+"FileType", m.FileType),
		StreamFileURL: c.str(p+"StreamFileURL", m.StreamFileURL),
	}
	ev.Upload = u
	if u.IsStream() {
		ev.Upload, ev.StreamUpload = nil, u
	}
}

func decodeStreamUpload(c *converter, p string, m *mediaFields, ev *Event) {
	decodeUpload(c, p, m, ev)
	if ev.Upload != nil {
		ev.Upload, ev.StreamUpload = nil, ev.Upload
	}
}

func decodeAudit(c *converter, p string, m *mediaFields, ev *Event) {
	ev.Audit = &Audit{
		AuditStatus:  c.str(p+"AuditStatus", m.AuditStatus),
		Auditor:      c.str(p+"Auditor", m.Auditor),
		Reason:       c.str(p+"Reason", m.Reason),
		Comment:      c.str(p+"Comment", m.Comment),
		CreationTime: c.eventTime(p+"CreationTime", m.CreationTime, false),
	}
}

func decodeRegistration(_ *converter, _ string, _ *mediaFields, ev *Event) {
	ev.Registration = &Registration{}
}

func decodeDeletion(c *converter, p string, m *mediaFields, ev *Event) {
	ev.Deletion = &Deletion{
		DeleteType: c.enum(p+"DeleteType", m.DeleteType, deleteTypes),
		MediaType:  c.str(p+"MediaType", m.MediaType),
		JobIDs:     c.list(p+"JobIds", m.JobIds),
		FileURLs:   c.list(p+"FileURLs", m.FileURLs),
	}
}

func decodeBaseChange(c *converter, p string, m *mediaFields, ev *Event) {
	ev.BaseChange = &BaseChange{
		MediaType:   c.str(p+"MediaType", m.MediaType),
		OperateMode: c.enum(p+"OperateMode", m.OperateMode, operateModes),
		Fields:      c.mediaContent(p+"MediaContent", m.MediaContent),
	}
}

func decodeTranscode(c *converter, p string, m *mediaFields, ev *Event) {
	ev.Transcode = &Transcode{Streams: c.streams(p+"StreamInfos", m.StreamInfos)}
}

func decodeStreamTranscode(c *converter, p string, m *mediaFields, ev *Event) {
	ev.Transcode = &Transcode{Streams: []Stream{c.stream(p, &m.streamFields)}}
}

func decodeEditing(c *converter, p string, m *mediaFields, ev *Event) {
	ev.Editing = &Editing{ProjectID: c.str(p+"ProjectId", m.ProjectId)}
}

// EventTable renders the catalogue as the Markdown table README.md shows
// (a test checks that README.md holds it verbatim): one row per type with
// its senders, family, id field and what it changes in the media state.
func EventTable() string {
	var b strings.Builder
	b.WriteString("| event type | sent by | family | id field | what it changes in the state |\n")
	b.WriteString("| --- | --- | --- | --- | --- |\n")
	for _, typ := range EventTypes() {
		t := eventTypes[typ]
		var src []string
		for _, s := range t.Sources {
			src = append(src, strings.ToUpper(string(s)))
		}
		id := "`" + t.Primary + "`"
		if t.JobKeyed {
			id += ", else `" + jobIDField + "`"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", typ, strings.Join(src, ", "), t.Family, id, t.State)
	}
	return b.String()
}
