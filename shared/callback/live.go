package callback

import (
	"encoding/json"
	"strings"

	"mediastate/shared/apierr"
)

// ApsaraVideo Live recording callbacks use lower-case keys and no
// EventType. A recording file event has no "event" field:
//
//	{"domain": "demo.aliyundoc.com", "app": "liveApp****", "stream": "liveStream****",
//	 "uri": "record/.../x.m3u8", "duration": 54.022,
//	 "start_time": 1488985786, "stop_time": 1488985840,
//	 "push_args": {"callback_args1": "value1"}}
//
// and decodes to Type "file_created" with LiveFile set and Time = stop_time.
// A status event names itself in "event":
//
//	{"domain": "demo.aliyundoc.com", "app": "liveApp****", "stream": "liveStream****",
//	 "event": "record_started"}
//
// and decodes to Type = the event value (record_started, record_paused,
// record_resumed, record_error, record_force_transcode_fail,
// transformat_error, file_created, or any other value) with LiveStatus set.
// Times are Unix seconds, as numbers or strings. push_args (the ingest
// URL's callback_ parameters) is documented as an object; a string or an
// absent value is accepted as well.

// liveFileCreated is the type of a recording file event.
const liveFileCreated = "file_created"

// liveIDField is the IDField of Live events.
const liveIDField = "domain/app/stream"

// liveFields are the fields of a Live recording callback.
type liveFields struct {
	Domain      flexString      `json:"domain"`
	App         flexString      `json:"app"`
	Stream      flexString      `json:"stream"`
	Event       flexString      `json:"event"`
	URI         flexString      `json:"uri"`
	Duration    flexFloat       `json:"duration"`
	StartTime   flexString      `json:"start_time"`
	StopTime    flexString      `json:"stop_time"`
	PushArgs    json.RawMessage `json:"push_args"`
	Description flexString      `json:"description"`
}

// isLive reports whether l has any field of a Live recording callback.
func (l *liveFields) isLive() bool {
	return l.Domain.present() || l.App.present() || l.Stream.present() ||
		l.Event.present() || l.URI.present()
}

// liveBody is a body read as a Live recording callback: its EventType, if
// any, and the Live fields.
type liveBody struct {
	EventType flexString `json:"EventType"`
	liveFields
}

// readLive is the one rule that tells a Live recording callback body, for
// Decode, DetectLive and so every caller of either: a JSON object with no
// EventType (absent or null) and at least one of domain, app, stream,
// event or uri that is not null. Keys match in any case. err is set only
// when body is no valid JSON object.
func readLive(body []byte) (l *liveFields, ok bool, err error) {
	if kindOf(body) != kindObject {
		return nil, false, malformedBody(body, "a JSON object")
	}
	var b liveBody
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, false, malformedBody(body, "a JSON object")
	}
	return &b.liveFields, !b.EventType.present() && b.isLive(), nil
}

// LiveTarget is what a Live recording callback body says it is about,
// read leniently so that malformed callbacks can be told apart too.
type LiveTarget struct {
	// Domain is the domain in lower case (domain names are
	// case-insensitive); App and Stream are as given. Numbers and booleans
	// are taken as their JSON text, objects and arrays as "".
	Domain, App, Stream string
	// Type is the "event" value, or file_created when there is none but a
	// uri; "" otherwise.
	Type string
}

// DetectLive reports whether body is a Live recording callback, by the
// same rule Decode uses to decode it as one (see readLive): envelopes
// (package trigger) and the Live recorder ask it, so that a body is Live
// for all of them or for none. It also returns what the body names; none
// of it is validated (Decode does that).
func DetectLive(body []byte) (LiveTarget, bool) {
	l, ok, _ := readLive(body)
	if !ok {
		return LiveTarget{}, false
	}
	tg := LiveTarget{Domain: strings.ToLower(l.Domain.text()), App: l.App.text(), Stream: l.Stream.text(), Type: l.Event.text()}
	if tg.Type == "" && l.URI.text() != "" {
		tg.Type = liveFileCreated
	}
	return tg, true
}

// decodeLive converts a Live recording callback. It returns a MissingField
// error about EventType when body is no Live callback either.
func decodeLive(body []byte) (*Event, error) {
	l, ok, err := readLive(body)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apierr.Field(apierr.MissingField, "", "EventType",
			"required: the body is neither a VOD or IMS event (no EventType) nor a Live recording callback (no domain, app, stream, event or uri)")
	}
	c := &converter{strict: true}
	typ := liveFileCreated
	if l.Event.present() {
		typ = c.str("event", l.Event)
		if l.Event.kind == kindNumber {
			c.malformed("event", "a string", "number "+shorten(l.Event.s), []byte(l.Event.s))
		}
		if c.err == nil {
			if e := validateTypeName("event", typ); e != nil {
				c.fail(e)
			}
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	c.eventType = typ
	ev := &Event{Source: SourceLive, Type: typ, Family: FamilyLive, IDField: liveIDField, IDKind: IDKindStream}
	// Domain names are case-insensitive (D.COM and d.com are one domain):
	// the lower-case form names the stream and its records.
	domain := strings.ToLower(c.liveName("domain", l.Domain))
	app := c.liveName("app", l.App)
	stream := c.liveName("stream", l.Stream)
	ev.ID = domain + "/" + app + "/" + stream
	// The event name and the stream are essential; so are the uri and the
	// stop time of a file event (its id and time). Anything else is noted
	// when unusable.
	c.strict = false

	if l.Event.present() {
		ev.LiveStatus = &LiveRecordStatus{
			Domain:      domain,
			App:         app,
			Stream:      stream,
			Event:       typ,
			Description: c.str("description", l.Description),
		}
		// Status events carry no time as documented; use one if present.
		c.essential(func() {
			ev.Time = c.unixTime("stop_time", l.StopTime, false)
			if start := c.unixTime("start_time", l.StartTime, false); ev.Time.IsZero() {
				ev.Time = start
			}
		})
	} else {
		// The uri names the file within the stream: essential, like an id.
		var uri string
		c.essential(func() {
			if uri = c.str("uri", l.URI); uri == "" {
				c.missing("uri", "the path of the recorded file")
			}
		})
		f := &LiveRecordFile{
			Domain:    domain,
			App:       app,
			Stream:    stream,
			URI:       uri,
			Duration:  c.float("duration", l.Duration),
			StartTime: c.unixTime("start_time", l.StartTime, false),
			PushArgs:  c.nested("push_args", l.PushArgs),
		}
		c.essential(func() { f.StopTime = c.unixTime("stop_time", l.StopTime, true) })
		ev.LiveFile = f
		ev.Time = f.StopTime
	}
	if err := c.result(); err != nil {
		return nil, err
	}
	ev.Uninterpreted = c.notes
	return ev, nil
}

// liveName returns domain, app or stream, which must be present and pass
// ValidateID (a domain may contain '.', but not "..").
func (c *converter) liveName(field string, f flexString) string {
	s := c.str(field, f)
	if s == "" {
		c.missing(field, "a non-empty string")
		return ""
	}
	c.id(field, s)
	return s
}
