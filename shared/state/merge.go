package state

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
)

// key orders events: by time, then by content id. It is what "latest"
// means everywhere in this package.
type key struct {
	t  time.Time
	id string
}

func (a key) cmp(b key) int {
	if c := a.t.Compare(b.t); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

func eventKey(e *callback.Event) key { return key{e.Time, e.EventID} }
func (o *Outcome) key() key          { return key{o.EventTime, o.EventID} }
func (r *EventRef) key() key         { return key{r.EventTime, r.EventID} }
func (s *Stream) key() key           { return key{s.EventTime, s.EventID} }

// newer reports whether k beats the register holding cur (nil = empty).
func newer(k key, cur *Outcome) bool { return cur == nil || k.cmp(cur.key()) > 0 }

// New returns the empty state of a media asset.
func New(mediaID string) *Media {
	return &Media{SchemaVersion: SchemaVersion, MediaID: mediaID, Events: []AppliedEvent{}}
}

// Has reports whether the event with content id eventID has been applied.
func (m *Media) Has(eventID string) bool {
	for i := range m.Events {
		if m.Events[i].ID == eventID {
			return true
		}
	}
	return false
}

// NewJob returns the empty job state of a JobId.
func NewJob(jobID string) *Media {
	return &Media{SchemaVersion: SchemaVersion, JobID: jobID, Events: []AppliedEvent{}}
}

// Apply folds e into the media state m and returns the new state and
// whether anything changed. m is not modified (states are shared values,
// e.g. in a cache); when e was applied before, Apply returns m itself and
// false. A nil m is the empty state of e.ID. Events keyed by a JobId go to
// job states (ApplyJob).
func Apply(m *Media, e *callback.Event) (*Media, bool, error) {
	if err := applicable(e); err != nil {
		return m, false, err
	}
	if e.IDKind == callback.IDKindJob {
		return m, false, apierr.New(apierr.Internal, "state: event %s is keyed by job %q: apply it to the job state", e.EventID, e.ID).WithEventType(e.Type)
	}
	if m == nil {
		m = New(e.ID)
	}
	if m.MediaID != e.ID || m.JobID != "" {
		return m, false, apierr.New(apierr.Internal, "state: event for %q applied to the state of %q", e.ID, m.MediaID)
	}
	return apply(m, e)
}

// ApplyJob folds e into the job state m of e.JobID, like Apply: the job
// state of a URL pull holds its events whether or not they name the media,
// so that a reader holding the JobId finds a failed pull (which names no
// media) as well as the media a successful one produced (MediaID: the
// greatest media id named, one in practice).
func ApplyJob(m *Media, e *callback.Event) (*Media, bool, error) {
	if err := applicable(e); err != nil {
		return m, false, err
	}
	if e.JobID == "" {
		return m, false, apierr.New(apierr.Internal, "state: event %s names no job", e.EventID).WithEventType(e.Type)
	}
	if m == nil {
		m = NewJob(e.JobID)
	}
	if m.JobID != e.JobID {
		return m, false, apierr.New(apierr.Internal, "state: event for job %q applied to the state of job %q", e.JobID, m.JobID)
	}
	n, changed, err := apply(m, e)
	if changed && e.IDKind == callback.IDKindMedia && e.ID > n.MediaID {
		n.MediaID = e.ID
	}
	return n, changed, err
}

// Subjects returns the states an event updates: the media state of
// mediaID (empty for an event keyed by a JobId) and the job state of jobID
// (empty unless the event's type keeps job states and it names a JobId).
func Subjects(e *callback.Event) (mediaID, jobID string) {
	if e.IDKind != callback.IDKindJob {
		mediaID = e.ID
	}
	return mediaID, e.JobID
}

// applicable refuses events that have no media or job state.
func applicable(e *callback.Event) error {
	if e == nil {
		return apierr.New(apierr.Internal, "state: nil event")
	}
	if e.Family == callback.FamilyLive || e.LiveFile != nil || e.LiveStatus != nil {
		return apierr.New(apierr.WrongFamily, "event %s of type %s is a Live recording event and has no media state", e.EventID, e.Type).WithEventType(e.Type)
	}
	if e.EventID == "" || e.ID == "" {
		return apierr.New(apierr.Internal, "state: event without id or content id").WithEventType(e.Type)
	}
	return nil
}

// apply folds e into m, whose subject has been checked.
func apply(m *Media, e *callback.Event) (*Media, bool, error) {
	if m.Has(e.EventID) {
		return m, false, nil
	}
	n := m.clone()
	n.addEvent(e)
	o := outcomeOf(e)
	k := eventKey(e)
	switch {
	case e.Upload != nil:
		if newer(k, outcomePtr(n.Upload)) {
			n.Upload = &Upload{Outcome: o, Upload: *e.Upload, UserData: e.UserData}
		}
	case e.StreamUpload != nil:
		n.StreamUploads = applyStreamUpload(n.StreamUploads, e, o, k)
	case e.Audit != nil:
		if newer(k, outcomePtr(n.Audit)) {
			n.Audit = &Audit{Outcome: o, Audit: *e.Audit}
		}
	case e.Registration != nil:
		if newer(k, outcomePtr(n.Registration)) {
			n.Registration = &Registration{Outcome: o, UserData: e.UserData}
		}
	case e.BaseChange != nil:
		n.BasicInfo = applyBaseChange(n.BasicInfo, e, o, k)
	case e.Transcode != nil:
		n.Transcode = applyTranscode(n.Transcode, e, o, k)
	case e.Editing != nil:
		if newer(k, outcomePtr(n.Editing)) {
			n.Editing = &Editing{Outcome: o, ProjectID: e.Editing.ProjectID}
		}
	case e.Deletion != nil:
		n.Deletion = applyDeletion(n.Deletion, e, o, k)
	default:
		cur := n.Other[e.Type]
		if cur == nil || k.cmp(cur.key()) > 0 {
			body, err := callback.Canonical(e.Raw)
			if err != nil {
				return m, false, apierr.Wrap(apierr.MalformedJSON, err, "state: body of %s event %s", e.Type, e.EventID)
			}
			n.Other = maps.Clone(n.Other)
			if n.Other == nil {
				n.Other = map[string]*Other{}
			}
			n.Other[e.Type] = &Other{Outcome: o, Body: body}
		}
	}
	n.derive()
	return n, true, nil
}

// clone copies what Apply changes in place: the top-level struct and its
// slices. Aspects are never modified once built, so they are shared.
func (m *Media) clone() *Media {
	n := *m
	n.Events = slices.Clone(m.Events)
	n.Failures = slices.Clone(m.Failures)
	n.Uninterpreted = slices.Clone(m.Uninterpreted)
	return &n
}

func (m *Media) addEvent(e *callback.Event) {
	ae := AppliedEvent{ID: e.EventID, Type: e.Type, Time: e.Time, Status: string(e.Status), Source: string(e.Source)}
	i, _ := slices.BinarySearchFunc(m.Events, eventKey(e), func(a AppliedEvent, k key) int { return key{a.Time, a.ID}.cmp(k) })
	m.Events = slices.Insert(m.Events, i, ae)
	if e.Status == callback.StatusFail {
		f := Failure{EventID: e.EventID, EventType: e.Type, EventTime: e.Time, ErrorCode: e.ErrorCode, ErrorMessage: e.ErrorMessage}
		j, _ := slices.BinarySearchFunc(m.Failures, eventKey(e), func(a Failure, k key) int { return key{a.EventTime, a.EventID}.cmp(k) })
		m.Failures = slices.Insert(m.Failures, j, f)
	}
	if len(e.Uninterpreted) > 0 {
		notes := make([]UninterpretedField, len(e.Uninterpreted))
		for i, u := range e.Uninterpreted {
			notes[i] = UninterpretedField{EventID: e.EventID, EventType: e.Type, EventTime: e.Time, Uninterpreted: u}
		}
		j, _ := slices.BinarySearchFunc(m.Uninterpreted, eventKey(e), func(a UninterpretedField, k key) int { return key{a.EventTime, a.EventID}.cmp(k) })
		m.Uninterpreted = slices.Insert(m.Uninterpreted, j, notes...)
	}
}

// slotOfUpload is the key of a stream upload: its job id, else its file
// URL, else its event id.
func slotOfUpload(s *StreamUpload) string {
	return cmp.Or(s.JobID, s.StreamFileURL, s.FileURL, s.EventID)
}

// applyStreamUpload returns ups with e's stream upload in its slot when it
// is the latest there. ups is not modified.
func applyStreamUpload(ups []StreamUpload, e *callback.Event, o Outcome, k key) []StreamUpload {
	s := StreamUpload{Outcome: o, Upload: *e.StreamUpload, UserData: e.UserData}
	slot := slotOfUpload(&s)
	i, found := slices.BinarySearchFunc(ups, slot, func(a StreamUpload, slot string) int { return strings.Compare(slotOfUpload(&a), slot) })
	if !found {
		return slices.Insert(slices.Clone(ups), i, s)
	}
	if k.cmp(ups[i].key()) <= 0 {
		return ups
	}
	out := slices.Clone(ups)
	out[i] = s
	return out
}

func outcomeOf(e *callback.Event) Outcome {
	return Outcome{EventType: e.Type, EventTime: e.Time, EventID: e.EventID, Source: string(e.Source),
		Status: string(e.Status), ErrorCode: e.ErrorCode, ErrorMessage: e.ErrorMessage}
}

// outcomePtr returns the Outcome embedded in an aspect, or nil for a nil aspect.
func outcomePtr[T any, P interface {
	*T
	outcome() *Outcome
}](p P) *Outcome {
	if p == nil {
		return nil
	}
	return p.outcome()
}

func (o *Outcome) outcome() *Outcome { return o }

func applyBaseChange(cur *BasicInfo, e *callback.Event, o Outcome, k key) *BasicInfo {
	n := &BasicInfo{}
	if cur != nil {
		*n = *cur
	}
	if cur == nil || k.cmp(cur.key()) > 0 {
		n.Outcome = o
		n.MediaType = e.BaseChange.MediaType
	}
	if e.Status != callback.StatusFail {
		fields := maps.Clone(n.Fields)
		if fields == nil {
			fields = map[string]Field{}
		}
		mode := strings.ToLower(e.BaseChange.OperateMode)
		for name, ch := range e.BaseChange.Fields {
			f := Field{Value: ch.NewValue, Cleared: mode == "delete" || ch.NewValue == "", EventID: e.EventID, EventTime: e.Time}
			if f.Cleared {
				f.Value = ""
			}
			if old, ok := fields[name]; !ok || k.cmp(key{old.EventTime, old.EventID}) > 0 {
				fields[name] = f
			}
		}
		if len(fields) > 0 {
			n.Fields = fields
		}
	}
	return n
}

func applyTranscode(cur *Transcode, e *callback.Event, o Outcome, k key) *Transcode {
	n := &Transcode{}
	if cur != nil {
		*n = *cur
	}
	if cur == nil || k.cmp(cur.key()) > 0 {
		n.Outcome = o
		n.Extend = e.Extend
	}
	slots := map[string]Stream{}
	for _, s := range slices.Concat(n.Streams, n.RemovedStreams) {
		slots[slotOf(&s)] = s
	}
	for _, cs := range e.Transcode.Streams {
		s := Stream{Stream: cs, EventID: e.EventID, EventTime: e.Time}
		slot := slotOf(&s)
		if old, ok := slots[slot]; !ok || streamCmp(&s, &old) > 0 {
			slots[slot] = s
		}
	}
	// Partitioned into Streams and RemovedStreams by derive.
	n.Streams = slices.Collect(maps.Values(slots))
	n.RemovedStreams = nil
	return n
}

// slotOf is the (definition, format) a stream occupies; a later stream for
// the same slot replaces an earlier one.
func slotOf(s *Stream) string { return s.Definition + "\x00" + strings.ToLower(s.Format) }

// streamCmp orders two candidates for one slot: by event key, then, for two
// streams of one event, by job id and URL.
func streamCmp(a, b *Stream) int {
	if c := a.key().cmp(b.key()); c != 0 {
		return c
	}
	return cmp.Or(strings.Compare(a.JobID, b.JobID), strings.Compare(a.FileURL, b.FileURL))
}

func applyDeletion(cur *Deletion, e *callback.Event, o Outcome, k key) *Deletion {
	n := &Deletion{}
	if cur != nil {
		*n = *cur
	}
	d := e.Deletion
	if cur == nil || k.cmp(cur.key()) > 0 {
		n.Outcome = o
		n.DeleteType, n.MediaType = d.DeleteType, d.MediaType
		n.JobIDs, n.FileURLs = d.JobIDs, d.FileURLs
	}
	if e.Status != callback.StatusSuccess {
		return n
	}
	ref := &EventRef{EventID: e.EventID, EventTime: e.Time}
	later := func(r *EventRef) *EventRef {
		if r == nil || k.cmp(r.key()) > 0 {
			return ref
		}
		return r
	}
	switch strings.ToLower(d.DeleteType) {
	case "all":
		n.Terminal, n.SourceFile, n.AllStreams = later(n.Terminal), later(n.SourceFile), later(n.AllStreams)
	case "info":
		n.Terminal = later(n.Terminal)
	case "mezzanine":
		n.SourceFile = later(n.SourceFile)
	case "stream":
		if len(d.JobIDs) == 0 && len(d.FileURLs) == 0 {
			n.AllStreams = later(n.AllStreams)
		} else {
			n.StreamJobIDs = union(n.StreamJobIDs, d.JobIDs)
			n.StreamFileURLs = union(n.StreamFileURLs, d.FileURLs)
		}
	}
	return n
}

// union returns the sorted union of two sets; a is not modified.
func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	out = slices.Compact(out)
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	if len(out) == 0 {
		return nil
	}
	return out
}

// derive recomputes the flags that depend on several aspects. It replaces,
// never modifies, the aspects it changes.
func (m *Media) derive() {
	d := m.Deletion
	m.Deleted = d != nil && d.Terminal != nil
	if u := m.Upload; u != nil {
		fd := d != nil && d.SourceFile != nil && d.SourceFile.key().cmp(u.key()) > 0
		if fd != u.FileDeleted {
			c := *u
			c.FileDeleted = fd
			m.Upload = &c
		}
	}
	if m.StreamUploads != nil {
		var ups []StreamUpload
		for i := range m.StreamUploads {
			s := &m.StreamUploads[i]
			if removed := d.coversUpload(s); removed != s.Removed {
				if ups == nil {
					ups = slices.Clone(m.StreamUploads)
				}
				ups[i].Removed = removed
			}
		}
		if ups != nil {
			m.StreamUploads = ups
		}
	}
	if t := m.Transcode; t != nil {
		all := slices.Concat(t.Streams, t.RemovedStreams)
		slices.SortFunc(all, func(a, b Stream) int {
			return cmp.Or(strings.Compare(a.Definition, b.Definition), strings.Compare(a.Format, b.Format), streamCmp(&a, &b))
		})
		var live, removed []Stream
		for _, s := range all {
			if d.covers(&s) {
				removed = append(removed, s)
			} else {
				live = append(live, s)
			}
		}
		if !slices.EqualFunc(live, t.Streams, streamEqual) || !slices.EqualFunc(removed, t.RemovedStreams, streamEqual) {
			c := *t
			c.Streams, c.RemovedStreams = live, removed
			m.Transcode = &c
		}
	}
}

func streamEqual(a, b Stream) bool {
	return a.EventID == b.EventID && a.Definition == b.Definition && a.Format == b.Format && a.JobID == b.JobID && a.FileURL == b.FileURL
}

// covers reports whether a successful stream deletion removed s.
func (d *Deletion) covers(s *Stream) bool {
	if d == nil {
		return false
	}
	if s.JobID != "" && slices.Contains(d.StreamJobIDs, s.JobID) {
		return true
	}
	if s.FileURL != "" && slices.Contains(d.StreamFileURLs, s.FileURL) {
		return true
	}
	return d.AllStreams != nil && d.AllStreams.key().cmp(s.key()) > 0
}

// coversUpload reports whether a successful deletion removed the stream
// upload s: one of type all or stream naming no job or URL that is later
// than it, or one of type stream naming its job id or URL.
func (d *Deletion) coversUpload(s *StreamUpload) bool {
	if d == nil {
		return false
	}
	if s.JobID != "" && slices.Contains(d.StreamJobIDs, s.JobID) {
		return true
	}
	for _, u := range []string{s.FileURL, s.StreamFileURL} {
		if u != "" && slices.Contains(d.StreamFileURLs, u) {
			return true
		}
	}
	return d.AllStreams != nil && d.AllStreams.key().cmp(s.key()) > 0
}
