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
	MediaType flexString `json:"MediaType"`
	SourceURL flexString `json:"SourceURL"`
	AppId     flexString `json:"AppId"`

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

// idFields are the id fields of VOD and IMS events, in order of
// precedence.
var idFields = [...]string{"MediaId", "VideoId", "ImageId", "AttachedMediaId"}

// primaryIDField names the id field a known VOD event type documents; it is
// the field named when no id is present.
func primaryIDField(eventType string) string {
	switch eventType {
	case "FileUploadComplete", "UploadByURLComplete", "TranscodeComplete", "StreamTranscodeComplete":
		return "VideoId"
	case "ImageUploadComplete":
		return "ImageId"
	case "AttachedMediaUploadComplete":
		return "AttachedMediaId"
	}
	return "MediaId"
}

// The allowed values of the enumerations that drive what the handlers do.
var (
	deleteTypes  = []string{"all", "mezzanine", "stream", "info"}
	operateModes = []string{"create", "update", "delete"}
)

// decodeMedia converts a VOD or IMS event. m holds the payload fields and
// prefix is the path to them in the body ("" for VOD, "MessageBody." for
// IMS).
func decodeMedia(src Source, eventType string, env *envelope, m *mediaFields, prefix string) (*Event, error) {
	c := &converter{eventType: eventType}
	ev := &Event{Source: src, Type: eventType, Family: FamilyOf(eventType)}
	known := ev.Family != FamilyUnknown

	ev.UserID = c.int("UserId", env.UserId)
	ev.Time = c.eventTime("EventTime", env.EventTime, known)
	ev.ID, ev.IDField = c.mediaID(prefix, m, known)
	ev.Status = c.status(prefix+"Status", m.Status)
	ev.ErrorCode = c.str(prefix+"ErrorCode", m.ErrorCode)
	ev.ErrorMessage = c.str(prefix+"ErrorMessage", m.ErrorMessage)
	ev.UserData = c.nested(prefix+"UserData", m.UserData)
	ev.Extend = c.nested(prefix+"Extend", m.Extend)

	switch eventType {
	case "FileUploadComplete", "UploadByURLComplete", "ImageUploadComplete",
		"AttachedMediaUploadComplete", "RegisterStreamComplete",
		"StreamUploadComplete", "UploadStreamByURLComplete":
		ev.Upload = &Upload{
			MediaType: c.str(prefix+"MediaType", m.MediaType),
			FileURL:   c.str(prefix+"FileUrl", m.FileUrl),
			SourceURL: c.str(prefix+"SourceURL", m.SourceURL),
			Size:      c.int(prefix+"Size", m.Size),
			JobID:     c.str(prefix+"JobId", m.JobId),
			AppID:     c.str(prefix+"AppId", m.AppId),
		}
	case "CreateAuditComplete":
		ev.Audit = &Audit{
			AuditStatus:  c.str(prefix+"AuditStatus", m.AuditStatus),
			Auditor:      c.str(prefix+"Auditor", m.Auditor),
			Reason:       c.str(prefix+"Reason", m.Reason),
			Comment:      c.str(prefix+"Comment", m.Comment),
			CreationTime: c.eventTime(prefix+"CreationTime", m.CreationTime, false),
		}
	case "RegisterMediaComplete":
		ev.Registration = &Registration{}
	case "DeleteMediaComplete":
		ev.Deletion = &Deletion{
			DeleteType: c.enum(prefix+"DeleteType", m.DeleteType, deleteTypes),
			MediaType:  c.str(prefix+"MediaType", m.MediaType),
			JobIDs:     c.list(prefix+"JobIds", m.JobIds),
			FileURLs:   c.list(prefix+"FileURLs", m.FileURLs),
		}
	case "MediaBaseChangeComplete":
		ev.BaseChange = &BaseChange{
			MediaType:   c.str(prefix+"MediaType", m.MediaType),
			OperateMode: c.enum(prefix+"OperateMode", m.OperateMode, operateModes),
			Fields:      c.mediaContent(prefix+"MediaContent", m.MediaContent),
		}
	case "TranscodeComplete":
		ev.Transcode = &Transcode{Streams: c.streams(prefix+"StreamInfos", m.StreamInfos)}
	case "StreamTranscodeComplete":
		ev.Transcode = &Transcode{Streams: []Stream{c.stream(prefix, &m.streamFields)}}
	case "ProduceMediaComplete":
		ev.Editing = &Editing{ProjectID: c.str(prefix+"ProjectId", m.ProjectId)}
	}
	if err := c.result(); err != nil {
		return nil, err
	}
	return ev, nil
}

// mediaID returns the id and the field it was read from, by the
// precedence of idFields; an empty string counts as absent. A known event
// type must carry one; any id found must pass ValidateID.
func (c *converter) mediaID(prefix string, m *mediaFields, required bool) (id, field string) {
	values := [...]flexString{m.MediaId, m.VideoId, m.ImageId, m.AttachedMediaId}
	for i, f := range values {
		name := prefix + idFields[i]
		if s := c.str(name, f); s != "" && id == "" {
			id, field = s, name
		}
	}
	if id == "" {
		if required {
			name := "MediaId"
			if prefix == "" {
				name = primaryIDField(c.eventType)
			}
			c.missing(prefix+name, "the id, in one of "+strings.Join(idFields[:], ", "))
		}
		return "", ""
	}
	c.id(field, id)
	return id, field
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
	c.invalid(field, want, describeText(f.s), nil)
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
		c.malformed(field, "an array of stream objects", describe(raw))
		return out
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(inner, &elems); err != nil {
		c.malformed(field, "an array of stream objects", describe(raw))
		return out
	}
	for i, e := range elems {
		path := fmt.Sprintf("%s[%d]", field, i)
		e = unstring(e)
		if kindOf(e) != kindObject {
			c.malformed(path, "a stream object", describe(e))
			continue
		}
		var s streamFields
		if err := json.Unmarshal(e, &s); err != nil {
			c.malformed(path, "a stream object", describe(e))
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
