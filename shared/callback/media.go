package callback

import (
	"encoding/json"
	"fmt"
	"strings"

	"mediastate/shared/apierr"
)

// streamFields are the fields of one transcoded stream: an element of the
// StreamInfos of TranscodeComplete, or the top level of
// StreamTranscodeComplete. Status, ErrorCode, ErrorMessage, FileUrl, Size
// and JobId also serve the other event types, through mediaFields.
//
// Field names match JSON keys ignoring case, as encoding/json does, so that
// the FileURL of VOD's ImageUploadComplete fills FileUrl.
type streamFields struct {
	Status       flexString `json:"Status"`
	ErrorCode    flexString `json:"ErrorCode"`
	ErrorMessage flexString `json:"ErrorMessage"`
	FileUrl      flexString `json:"FileUrl"`
	Size         flexInt    `json:"Size"`
	JobId        flexString `json:"JobId"`
	Bitrate      flexFloat  `json:"Bitrate"`
	Definition   flexString `json:"Definition"`
	Duration     flexFloat  `json:"Duration"`
	Encrypt      flexBool   `json:"Encrypt"`
	Format       flexString `json:"Format"`
	Fps          flexFloat  `json:"Fps"`
	Height       flexInt    `json:"Height"`
	Width        flexInt    `json:"Width"`
	WatermarkId  flexList   `json:"WatermarkId"`
	IsAudio      flexBool   `json:"IsAudio"`
	StartTime    flexString `json:"StartTime"`
	FinishTime   flexString `json:"FinishTime"`
}

// mediaFields are the payload fields of the VOD and IMS event types we
// know: the top level of a VOD flat event, or the MessageBody of an IMS
// event. Which fields an event type uses is decided in decodeMedia; the
// others are decoded but ignored, and cannot fail (see flex.go).
type mediaFields struct {
	streamFields

	// The ids, in order of precedence.
	MediaId         flexString `json:"MediaId"`
	VideoId         flexString `json:"VideoId"`
	ImageId         flexString `json:"ImageId"`
	AttachedMediaId flexString `json:"AttachedMediaId"`

	// Pass-through data: JSON inside strings.
	UserData json.RawMessage `json:"UserData"`
	Extend   json.RawMessage `json:"Extend"`

	// Upload events.
	MediaType     flexString `json:"MediaType"`
	SourceURL     flexString `json:"SourceURL"`
	AppId         flexString `json:"AppId"`
	FileType      flexString `json:"FileType"`
	StreamFileURL flexString `json:"StreamFileURL"`

	// CreateAuditComplete.
	AuditStatus  flexString `json:"AuditStatus"`
	Auditor      flexString `json:"Auditor"`
	Reason       flexString `json:"Reason"`
	Comment      flexString `json:"Comment"`
	CreationTime flexString `json:"CreationTime"`

	// DeleteMediaComplete.
	DeleteType flexString `json:"DeleteType"`
	JobIds     flexList   `json:"JobIds"`
	FileURLs   flexList   `json:"FileURLs"`

	// MediaBaseChangeComplete.
	OperateMode  flexString      `json:"OperateMode"`
	MediaContent json.RawMessage `json:"MediaContent"`

	// TranscodeComplete.
	StreamInfos json.RawMessage `json:"StreamInfos"`

	// ProduceMediaComplete.
	ProjectId flexString `json:"ProjectId"`
}

// The allowed values of the enumerations that drive what the handlers do.
var (
	deleteTypes  = []string{"all", "mezzanine", "stream", "info"}
	operateModes = []string{"create", "update", "delete"}
)

// decodeMedia converts a VOD or IMS event. m holds the payload fields and
// prefix is the path to them in the body ("" for VOD, "MessageBody." for
// IMS). The event type's row in the catalogue (types.go) says where the id
// is and which payload decoder fills the payload.
func decodeMedia(src Source, eventType string, env *envelope, m *mediaFields, prefix string) (*Event, error) {
	c := &converter{eventType: eventType}
	spec := LookupType(eventType)
	ev := &Event{Source: src, Type: eventType, Family: FamilyUnknown}
	if spec != nil {
		ev.Family = spec.Family
	}
	c.essential(func() {
		ev.Time = c.eventTime("EventTime", env.EventTime, spec != nil)
		c.mediaID(prefix, m, spec, ev)
	})
	if c.err != nil {
		return nil, c.err
	}
	ev.UserID = c.int("UserId", env.UserId)
	ev.Status = c.status(prefix+"Status", m.Status)
	ev.ErrorCode = c.str(prefix+"ErrorCode", m.ErrorCode)
	ev.ErrorMessage = c.str(prefix+"ErrorMessage", m.ErrorMessage)
	ev.UserData = c.nested(prefix+"UserData", m.UserData)
	ev.Extend = c.nested(prefix+"Extend", m.Extend)
	if spec != nil && spec.Payload != nil {
		spec.Payload(c, prefix, m, ev)
	}
	if err := c.result(); err != nil {
		return nil, err
	}
	ev.Uninterpreted = c.notes
	return ev, nil
}

// idValue returns the wire value of id field name.
func (m *mediaFields) idValue(name string) flexString {
	switch name {
	case "MediaId":
		return m.MediaId
	case "VideoId":
		return m.VideoId
	case "ImageId":
		return m.ImageId
	case "AttachedMediaId":
		return m.AttachedMediaId
	case jobIDField:
		return m.JobId
	}
	return flexString{}
}

// mediaID sets the event's id, the field it was read from and its kind,
// by the precedence of the row's IDFields (mediaIDFields for a type
// outside the catalogue); an empty string counts as absent. A JobKeyed
// type without a media id is keyed by its JobId, and records its JobId in
// either case. A catalogued type must carry an id; any id found must pass
// ValidateID.
func (c *converter) mediaID(prefix string, m *mediaFields, spec *TypeSpec, ev *Event) {
	fields := mediaIDFields
	if spec != nil {
		fields = spec.IDFields
	}
	for _, name := range fields {
		if s := c.str(prefix+name, m.idValue(name)); s != "" && ev.ID == "" {
			ev.ID, ev.IDField, ev.IDKind = s, prefix+name, IDKindMedia
		}
	}
	if spec != nil && spec.JobKeyed {
		if job := c.str(prefix+jobIDField, m.JobId); job != "" {
			c.id(prefix+jobIDField, job)
			ev.JobID = job
			if ev.ID == "" {
				ev.ID, ev.IDField, ev.IDKind = job, prefix+jobIDField, IDKindJob
			}
		}
	}
	if ev.ID == "" {
		if spec != nil {
			want := "the id, in one of " + strings.Join(fields, ", ")
			if spec.JobKeyed {
				want += ", or a " + jobIDField
			}
			name := "MediaId"
			if prefix == "" {
				name = spec.Primary
			}
			c.missing(prefix+name, want)
		}
		return
	}
	c.id(ev.IDField, ev.ID)
}

// enum returns a required enumeration field in lower case, which must be
// one of allowed (compared ignoring case).
func (c *converter) enum(field string, f flexString, allowed []string) string {
	want := "one of " + strings.Join(allowed, ", ")
	if !c.check(field, want, f.flexState) {
		return ""
	}
	v := strings.ToLower(strings.TrimSpace(f.s))
	if v == "" {
		c.missing(field, want)
		return ""
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	c.invalid(field, want, describeText(f.s), nil, quote(f.s))
	return ""
}

// streams converts the StreamInfos array (possibly stringified); an
// absent array gives no streams.
func (c *converter) streams(field string, raw json.RawMessage) []Stream {
	out := []Stream{}
	inner := unstring(raw)
	switch kindOf(inner) {
	case kindAbsent:
		return out
	case kindArray:
	default:
		c.malformed(field, "an array of stream objects", describe(raw), raw)
		return out
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(inner, &elems); err != nil {
		c.malformed(field, "an array of stream objects", describe(raw), raw)
		return out
	}
	for i, e := range elems {
		path := fmt.Sprintf("%s[%d]", field, i)
		e = unstring(e)
		if kindOf(e) != kindObject {
			c.malformed(path, "a stream object", describe(e), e)
			continue
		}
		var s streamFields
		if err := json.Unmarshal(e, &s); err != nil {
			c.malformed(path, "a stream object", describe(e), e)
			continue
		}
		out = append(out, c.stream(path+".", &s))
	}
	return out
}

// stream converts one stream whose fields are at prefix.
func (c *converter) stream(prefix string, s *streamFields) Stream {
	return Stream{
		Status:       c.status(prefix+"Status", s.Status),
		Definition:   c.str(prefix+"Definition", s.Definition),
		Format:       c.str(prefix+"Format", s.Format),
		FileURL:      c.str(prefix+"FileUrl", s.FileUrl),
		JobID:        c.str(prefix+"JobId", s.JobId),
		Bitrate:      c.float(prefix+"Bitrate", s.Bitrate),
		Duration:     c.float(prefix+"Duration", s.Duration),
		Fps:          c.float(prefix+"Fps", s.Fps),
		Width:        c.int(prefix+"Width", s.Width),
		Height:       c.int(prefix+"Height", s.Height),
		Size:         c.int(prefix+"Size", s.Size),
		Encrypt:      c.bool(prefix+"Encrypt", s.Encrypt),
		IsAudio:      c.bool(prefix+"IsAudio", s.IsAudio),
		WatermarkIDs: c.list(prefix+"WatermarkId", s.WatermarkId),
		StartTime:    c.eventTime(prefix+"StartTime", s.StartTime, false),
		FinishTime:   c.eventTime(prefix+"FinishTime", s.FinishTime, false),
		ErrorCode:    c.str(prefix+"ErrorCode", s.ErrorCode),
		ErrorMessage: c.str(prefix+"ErrorMessage", s.ErrorMessage),
	}
}

// malformedField returns a MalformedJSON error about one field.
func malformedField(eventType, field, want, got string) *apierr.Error {
	return apierr.Field(apierr.MalformedJSON, eventType, field, "expected %s, got %s", want, got)
}
