package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"mediastate/shared/callback"
)

// mediaFunctions are the functions that keep media state, and the family
// each is meant for (as in functions/<name>/main.go).
var mediaFunctions = []string{"upload", "media", "transcode", "editing"}

var familyOfFunction = map[string]callback.Family{
	"upload": callback.FamilyUpload, "media": callback.FamilyMedia,
	"transcode": callback.FamilyTranscode, "editing": callback.FamilyEditing,
}

// fixtureNames are the seed bodies the workload is built from.
var fixtureNames = []string{
	"ims-file-upload-complete", "vod-file-upload-complete", "ims-register-media-complete",
	"ims-create-audit-complete", "vod-stream-transcode-complete", "vod-transcode-complete",
	"ims-media-base-change-complete", "vod-produce-media-complete", "vod-snapshot-complete",
	"vod-delete-media-complete", "live-record-file",
}

// Fixtures holds the seed callback bodies and the id each one carries.
type Fixtures struct {
	body map[string][]byte
	id   map[string]string
}

// LoadFixtures reads the seed bodies from shared/callback/testdata under
// the module root.
func LoadFixtures(root string) (*Fixtures, error) {
	f := &Fixtures{body: map[string][]byte{}, id: map[string]string{}}
	for _, n := range fixtureNames {
		b, err := os.ReadFile(filepath.Join(root, "shared", "callback", "testdata", n+".json"))
		if err != nil {
			return nil, err
		}
		e, err := callback.Decode(b)
		if err != nil {
			return nil, fmt.Errorf("fixture %s: %w", n, err)
		}
		f.body[n], f.id[n] = b, e.ID
	}
	return f, nil
}

var eventTimeRE = regexp.MustCompile(`"EventTime"\s*:\s*"[^"]*"`)

// setString replaces the value of the first "key": "..." in body.
func setString(body []byte, key, value string) []byte {
	re := regexp.MustCompile(`"` + regexp.QuoteMeta(key) + `"\s*:\s*"[^"]*"`)
	done := false
	return re.ReplaceAllFunc(body, func(m []byte) []byte {
		if done {
			return m
		}
		done = true
		return []byte(`"` + key + `": "` + value + `"`)
	})
}

// Body returns fixture name with its id replaced by id, its EventTime by t
// and each pair of subst (old, new) replaced.
func (f *Fixtures) Body(name, id string, t time.Time, subst ...string) []byte {
	b, ok := f.body[name]
	if !ok {
		panic("harness: no fixture " + name)
	}
	b = bytes.ReplaceAll(b, []byte(f.id[name]), []byte(id))
	b = eventTimeRE.ReplaceAll(b, []byte(`"EventTime": "`+t.UTC().Format("2006-01-02T15:04:05Z")+`"`))
	for i := 0; i+1 < len(subst); i += 2 {
		b = bytes.ReplaceAll(b, []byte(subst[i]), []byte(subst[i+1]))
	}
	return b
}

// Event is one distinct callback of the workload.
type Event struct {
	MediaID string
	Seq     int // position in its media's sequence (time order)
	Type    string
	Family  callback.Family
	Source  callback.Source
	EventID string
	Body    []byte
}

func newEvent(id string, seq int, body []byte) (*Event, error) {
	e, err := callback.Decode(body)
	if err != nil {
		return nil, fmt.Errorf("generated %s body: %w\n%s", id, err, body)
	}
	if e.ID != id {
		return nil, fmt.Errorf("generated body decodes to id %q, want %q", e.ID, id)
	}
	return &Event{MediaID: id, Seq: seq, Type: e.Type, Family: e.Family, Source: e.Source, EventID: e.EventID, Body: body}, nil
}

// mediaID returns a valid, unique MediaId: a two-letter scenario tag, the
// run tag and the index, 32 characters like real ids.
func mediaID(tag string, run uint32, i int) string {
	return fmt.Sprintf("%s%06x%024x", tag, run&0xffffff, i)
}

var definitions = []string{"LD", "SD", "HD", "FHD", "2K", "4K"}

// Lifecycle returns the realistic events of one media asset in time order:
// an upload (IMS or VOD form), registration, usually a review, one or two
// stream transcodes and a full transcode (2 streams), one or two basic
// information changes, and sometimes editing, a snapshot (an event type of
// no known family) and a final deletion.
func (f *Fixtures) Lifecycle(rng *rand.Rand, id string, t0 time.Time) ([]*Event, error) {
	t := t0
	next := func() time.Time { t = t.Add(time.Duration(5+rng.IntN(55)) * time.Second); return t }
	var bodies [][]byte
	if rng.IntN(2) == 0 {
		bodies = append(bodies, f.Body("ims-file-upload-complete", id, t))
	} else {
		bodies = append(bodies, f.Body("vod-file-upload-complete", id, t))
	}
	bodies = append(bodies, f.Body("ims-register-media-complete", id, next()))
	if rng.Float64() < 0.7 {
		bodies = append(bodies, f.Body("ims-create-audit-complete", id, next()))
	}
	job := id[len(id)-12:]
	for i, n := 0, 1+rng.IntN(2); i < n; i++ {
		b := f.Body("vod-stream-transcode-complete", id, next(), "b0d1c2e3f4a5b6c7d8e9f0a1b2c3****", "st"+job+definitions[i])
		bodies = append(bodies, setString(b, "Definition", definitions[i]))
	}
	bodies = append(bodies, f.Body("vod-transcode-complete", id, next(), "ffffffffff", "ld"+job, "ddddddddddd", "sd"+job))
	for i, n := 0, 1+rng.IntN(2); i < n; i++ {
		bodies = append(bodies, f.Body("ims-media-base-change-complete", id, next(),
			"http://cdn.com/ee.png", fmt.Sprintf("http://cdn.example.com/%s/cover-%d.png", id, i)))
	}
	if rng.Float64() < 0.2 {
		bodies = append(bodies, f.Body("vod-produce-media-complete", id, next()))
	}
	if rng.Float64() < 0.1 {
		bodies = append(bodies, f.Body("vod-snapshot-complete", id, next()))
	}
	if rng.Float64() < 0.1 {
		bodies = append(bodies, f.Body("vod-delete-media-complete", id, next()))
	}
	evs := make([]*Event, len(bodies))
	for i, b := range bodies {
		e, err := newEvent(id, i, b)
		if err != nil {
			return nil, err
		}
		evs[i] = e
	}
	return evs, nil
}

// HotKey returns n distinct events of one media asset: every event type of
// the lifecycle in turn, one second apart.
func (f *Fixtures) HotKey(id string, n int, t0 time.Time) ([]*Event, error) {
	evs := make([]*Event, 0, n)
	for k := 0; k < n; k++ {
		t := t0.Add(time.Duration(k) * time.Second)
		var b []byte
		switch k % 9 {
		case 0:
			b = f.Body("ims-file-upload-complete", id, t)
		case 1:
			b = f.Body("ims-register-media-complete", id, t)
		case 2:
			b = f.Body("ims-create-audit-complete", id, t)
		case 3, 4:
			d := definitions[k%len(definitions)]
			b = setString(f.Body("vod-stream-transcode-complete", id, t, "b0d1c2e3f4a5b6c7d8e9f0a1b2c3****", fmt.Sprintf("hot%d", k)), "Definition", d)
		case 5:
			b = f.Body("vod-transcode-complete", id, t, "ffffffffff", fmt.Sprintf("ld%d", k), "ddddddddddd", fmt.Sprintf("sd%d", k))
		case 6:
			b = f.Body("ims-media-base-change-complete", id, t, "http://cdn.com/ee.png", fmt.Sprintf("http://cdn.example.com/%s/cover-%d.png", id, k))
		case 7:
			b = f.Body("vod-produce-media-complete", id, t)
		case 8:
			b = f.Body("vod-file-upload-complete", id, t)
		}
		e, err := newEvent(id, k, b)
		if err != nil {
			return nil, err
		}
		evs = append(evs, e)
	}
	return evs, nil
}

// Router says which function receives an event.
type Router func(e *Event) string

// FamilyRouter sends each event to its family's function; events of no
// known family go to media.
func FamilyRouter(e *Event) string {
	switch e.Family {
	case callback.FamilyUpload:
		return "upload"
	case callback.FamilyTranscode:
		return "transcode"
	case callback.FamilyEditing:
		return "editing"
	}
	return "media"
}

// SingleRouter sends everything to one function.
func SingleRouter(fn string) Router { return func(*Event) string { return fn } }

// Bad input kinds: each must end up dead-lettered with its code, but for
// bad signatures, which are refused and leave nothing.
const (
	BadMalformedJSON = "malformed-json" // batch item whose body is not JSON
	BadMissingField  = "missing-field"  // batch item without MediaId
	BadWrongFamily   = "wrong-family"   // Live event in a media function's batch
	BadEnvelope      = "bad-envelope"   // a whole invocation payload that is no envelope
	BadSignature     = "bad-signature"  // HTTP delivery signed with a wrong key
	BadInvalidID     = "invalid-id"     // signed HTTP delivery whose MediaId has a '/'
)

var badKinds = []string{BadMalformedJSON, BadMissingField, BadWrongFamily, BadEnvelope, BadSignature, BadInvalidID}

// BadInput is one injected delivery (or batch item) that must be
// dead-lettered.
type BadInput struct {
	Kind  string
	Nonce string
	Fn    string
	Code  string // expected dead-letter reason code
	Body  []byte // the item body, or the whole payload for BadEnvelope
	// MediaID is a MediaId the body mentions that must never get state.
	MediaID string
	// Refused is set for an HTTP delivery without a valid signature: it
	// must be answered with Code as outcome refused and leave no letter.
	Refused bool
}

func (f *Fixtures) badInput(kind, nonce, fn string, t time.Time) *BadInput {
	b := &BadInput{Kind: kind, Nonce: nonce, Fn: fn}
	switch kind {
	case BadMalformedJSON:
		b.Code = "MalformedJSON"
		b.Body = []byte(`{"EventType": "FileUploadComplete", "Nonce": "` + nonce + `", "MessageBody": {`)
	case BadMissingField:
		b.Code = "MissingField"
		body := f.Body("ims-register-media-complete", nonce, t)
		b.Body = bytes.Replace(body, []byte(`"MediaId": "`+nonce+`"`), []byte(`"Nonce": "`+nonce+`"`), 1)
	case BadWrongFamily:
		b.Code = "WrongFamily"
		b.Body = bytes.ReplaceAll(f.body["live-record-file"], []byte("liveStream****"), []byte(nonce))
	case BadEnvelope:
		b.Code = "MalformedJSON"
		b.Body = []byte(`{"requestContext": {"nonce": "` + nonce + `"}, "body": `)
	case BadSignature:
		b.Code = "SignatureMismatch"
		b.MediaID, b.Refused = nonce, true
		b.Body = f.Body("ims-register-media-complete", nonce, t)
	case BadInvalidID:
		b.Code = "InvalidId"
		b.Body = f.Body("ims-register-media-complete", "bad/"+nonce, t)
	default:
		panic("harness: unknown bad input kind " + kind)
	}
	return b
}

// Item is one message of a delivery: an event or an injected bad input.
type Item struct {
	Event *Event
	Bad   *BadInput
	Dup   bool // a repeat of an event delivered before
	// Base64 sends an EventBridge messageBody base64-encoded.
	Base64 bool
}

// Delivery is one invocation: an EventBridge batch of 1..N messages or one
// signed HTTP callback (or, for BadEnvelope, a payload that is neither).
type Delivery struct {
	ID    int
	Fn    string
	HTTP  bool
	Raw   bool // Items[0].Bad.Body is the whole payload
	Items []*Item
}

// Plan is the workload of one scenario.
type Plan struct {
	Name string
	// Media maps each MediaId to its distinct events in time order.
	Media      map[string][]*Event
	MediaOrder []string
	Deliveries []*Delivery
	Bad        []*BadInput
	// Distinct counts distinct events; Items counts event messages sent
	// (duplicates included, bad inputs excluded).
	Distinct, Items, Dups int
}

// PlanOptions shape a plan.
type PlanOptions struct {
	Name     string
	Tag      string // two letters starting every MediaId
	Run      uint32
	Seed     uint64
	Media    int
	HotKey   int // >0: one MediaId with this many events instead of Media lifecycles
	Window   int // media in flight at once in time order
	Shuffle  bool
	DupRate  float64
	BatchMax int
	HTTP     float64 // share of event messages sent as signed HTTP
	Base64   float64 // share of EventBridge messages base64-encoded
	Bad      int
	Route    Router
	// Functions are the functions running (bad inputs go to one of them);
	// default mediaFunctions.
	Functions []string
}

// unit is one message placed on the delivery timeline.
type unit struct {
	pos  float64
	fn   string
	item *Item
	http bool
	raw  bool
}

// BuildPlan generates the events and cuts them into deliveries.
func (f *Fixtures) BuildPlan(o PlanOptions) (*Plan, error) {
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5bd1e995))
	if o.BatchMax < 1 {
		o.BatchMax = 1
	}
	if o.Window < 1 {
		o.Window = 1
	}
	if o.Route == nil {
		o.Route = FamilyRouter
	}
	p := &Plan{Name: o.Name, Media: map[string][]*Event{}}
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var units []*unit
	addEvent := func(e *Event, pos float64) {
		units = append(units, &unit{pos: pos, fn: o.Route(e), item: &Item{Event: e}})
	}
	if o.HotKey > 0 {
		id := mediaID(o.Tag, o.Run, 0)
		evs, err := f.HotKey(id, o.HotKey, base)
		if err != nil {
			return nil, err
		}
		p.Media[id], p.MediaOrder = evs, []string{id}
		for k, e := range evs {
			addEvent(e, float64(k))
		}
	} else {
		for i := 0; i < o.Media; i++ {
			id := mediaID(o.Tag, o.Run, i)
			evs, err := f.Lifecycle(rng, id, base.Add(time.Duration(i)*17*time.Second))
			if err != nil {
				return nil, err
			}
			p.Media[id] = evs
			p.MediaOrder = append(p.MediaOrder, id)
			for k, e := range evs {
				// Media i starts at i; its events are Window positions
				// apart, so about Window media are in flight at once.
				addEvent(e, float64(i+k*o.Window)+rng.Float64()*0.5)
			}
		}
	}
	for _, evs := range p.Media {
		p.Distinct += len(evs)
	}
	maxPos := 0.0
	for _, u := range units {
		maxPos = max(maxPos, u.pos)
	}
	if o.Shuffle {
		for _, u := range units {
			u.pos = rng.Float64() * maxPos
		}
	}
	if o.DupRate > 0 {
		n := len(units)
		for _, u := range units[:n] {
			if rng.Float64() < o.DupRate {
				// A redelivery: later, by up to two windows.
				d := &unit{pos: u.pos + 1 + rng.Float64()*float64(2*o.Window), fn: u.fn,
					item: &Item{Event: u.item.Event, Dup: true}}
				units = append(units, d)
				p.Dups++
			}
		}
	}
	for _, u := range units {
		u.http = rng.Float64() < o.HTTP
		u.item.Base64 = !u.http && rng.Float64() < o.Base64
	}
	p.Items = len(units)
	for i := 0; i < o.Bad; i++ {
		kind := badKinds[i%len(badKinds)]
		nonce := fmt.Sprintf("%sbad%06x%04d%s", o.Tag, o.Run&0xffffff, i, strings.ReplaceAll(kind, "-", ""))
		fns := o.Functions
		if len(fns) == 0 {
			fns = mediaFunctions
		}
		fn := fns[rng.IntN(len(fns))]
		b := f.badInput(kind, nonce, fn, base)
		p.Bad = append(p.Bad, b)
		u := &unit{pos: rng.Float64() * maxPos, fn: fn, item: &Item{Bad: b}}
		switch kind {
		case BadSignature, BadInvalidID:
			u.http = true
		case BadEnvelope:
			u.raw = true
		}
		units = append(units, u)
	}
	sort.SliceStable(units, func(i, j int) bool { return units[i].pos < units[j].pos })

	// Cut into deliveries: HTTP and raw messages alone; EventBridge
	// messages batched per function, each batch 1..BatchMax long, sent
	// when full.
	open := map[string]*Delivery{}
	want := map[string]int{}
	emit := func(d *Delivery) {
		d.ID = len(p.Deliveries)
		p.Deliveries = append(p.Deliveries, d)
	}
	for _, u := range units {
		if u.http || u.raw {
			emit(&Delivery{Fn: u.fn, HTTP: u.http, Raw: u.raw, Items: []*Item{u.item}})
			continue
		}
		d := open[u.fn]
		if d == nil {
			d = &Delivery{Fn: u.fn}
			open[u.fn], want[u.fn] = d, 1+rng.IntN(o.BatchMax)
		}
		d.Items = append(d.Items, u.item)
		if len(d.Items) >= want[u.fn] {
			emit(d)
			delete(open, u.fn)
		}
	}
	rest := make([]string, 0, len(open))
	for fn := range open {
		rest = append(rest, fn)
	}
	sort.Strings(rest)
	for _, fn := range rest {
		emit(open[fn])
	}
	return p, nil
}

// Events returns every distinct event of the plan.
func (p *Plan) Events() []*Event {
	var out []*Event
	for _, id := range p.MediaOrder {
		out = append(out, p.Media[id]...)
	}
	return out
}
