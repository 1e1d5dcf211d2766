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

// mediaFunctions are the functions that keep media state.
var mediaFunctions = []string{"upload", "media", "transcode", "editing"}

// fixtureNames are the seed bodies the workload is built from.
var fixtureNames = []string{
	"ims-file-upload-complete", "vod-file-upload-complete", "ims-register-media-complete",
	"ims-create-audit-complete", "vod-stream-transcode-complete", "vod-transcode-complete",
	"ims-media-base-change-complete", "vod-produce-media-complete", "vod-snapshot-complete",
	"vod-delete-media-complete", "live-record-file",
}

// Fixtures holds the seed callback bodies and the id each one carries.
type Fixtures struct{ body, id map[string]string }

// LoadFixtures reads the seed bodies from shared/callback/testdata under
// the module root.
func LoadFixtures(root string) (*Fixtures, error) {
	f := &Fixtures{body: map[string]string{}, id: map[string]string{}}
	for _, n := range fixtureNames {
		b, err := os.ReadFile(filepath.Join(root, "shared", "callback", "testdata", n+".json"))
		if err != nil {
			return nil, err
		}
		e, err := callback.Decode(b)
		if err != nil {
			return nil, fmt.Errorf("fixture %s: %w", n, err)
		}
		f.body[n], f.id[n] = string(b), e.ID
	}
	return f, nil
}

var eventTimeRE = regexp.MustCompile(`"EventTime"\s*:\s*"[^"]*"`)

// Body returns fixture name with its id replaced by id, its EventTime by t
// and each pair of subst (old, new) replaced.
func (f *Fixtures) Body(name, id string, t time.Time, subst ...string) []byte {
	s := strings.ReplaceAll(f.body[name], f.id[name], id)
	s = eventTimeRE.ReplaceAllLiteralString(s, `"EventTime": "`+t.UTC().Format(time.RFC3339)+`"`)
	return []byte(strings.NewReplacer(subst...).Replace(s))
}

var definitions = []string{"LD", "SD", "HD", "FHD", "2K", "4K"}

// step returns the k-th variant of one lifecycle step of media id at t:
// transcodes get their own job ids and definitions, base changes their
// own cover, so that no two variants are the same event.
func (f *Fixtures) step(name, id string, t time.Time, k int) []byte {
	tag := fmt.Sprintf("%s%d", id[len(id)-12:], k)
	switch name {
	case "vod-stream-transcode-complete":
		return f.Body(name, id, t, "b0d1c2e3f4a5b6c7d8e9f0a1b2c3****", "st"+tag,
			`"Definition": "LD"`, `"Definition": "`+definitions[k%len(definitions)]+`"`)
	case "vod-transcode-complete":
		return f.Body(name, id, t, "ffffffffff", "ld"+tag, "ddddddddddd", "sd"+tag)
	case "ims-media-base-change-complete":
		return f.Body(name, id, t, "http://cdn.com/ee.png", fmt.Sprintf("http://cdn.example.com/%s/cover-%d.png", id, k))
	}
	return f.Body(name, id, t)
}

// Event is one distinct callback of the workload.
type Event struct {
	MediaID string
	Seq     int // position in its media's sequence (time order)
	Family  callback.Family
	Source  callback.Source
	EventID string
	Body    []byte
}

func newEvent(id string, seq int, body []byte) (*Event, error) {
	e, err := callback.Decode(body)
	if err != nil || e.ID != id {
		return nil, fmt.Errorf("generated body of %s decodes to %v, %v:\n%s", id, e, err, body)
	}
	return &Event{MediaID: id, Seq: seq, Family: e.Family, Source: e.Source, EventID: e.EventID, Body: body}, nil
}

// mediaID returns a valid, unique MediaId: a two-letter scenario tag, the
// run tag and the index, 32 characters like real ids.
func mediaID(tag string, run uint32, i int) string {
	return fmt.Sprintf("%s%06x%024x", tag, run&0xffffff, i)
}

// Lifecycle returns the realistic events of one media asset in time order:
// an upload (IMS or VOD form), registration, usually a review, one or two
// stream transcodes and a full transcode, one or two basic information
// changes, and sometimes editing, a snapshot (an event type of no known
// family) and a final deletion.
func (f *Fixtures) Lifecycle(rng *rand.Rand, id string, t0 time.Time) ([]*Event, error) {
	type st struct {
		name string
		k    int
	}
	steps := []st{{"vod-file-upload-complete", 0}, {"ims-register-media-complete", 0}}
	if rng.IntN(2) == 0 {
		steps[0].name = "ims-file-upload-complete"
	}
	if rng.Float64() < 0.7 {
		steps = append(steps, st{"ims-create-audit-complete", 0})
	}
	for i, n := 0, 1+rng.IntN(2); i < n; i++ {
		steps = append(steps, st{"vod-stream-transcode-complete", i})
	}
	steps = append(steps, st{"vod-transcode-complete", 0})
	for i, n := 0, 1+rng.IntN(2); i < n; i++ {
		steps = append(steps, st{"ims-media-base-change-complete", i})
	}
	for _, o := range []struct {
		p    float64
		name string
	}{{0.2, "vod-produce-media-complete"}, {0.1, "vod-snapshot-complete"}, {0.1, "vod-delete-media-complete"}} {
		if rng.Float64() < o.p {
			steps = append(steps, st{o.name, 0})
		}
	}
	evs := make([]*Event, len(steps))
	t := t0
	for i, s := range steps {
		if i > 0 {
			t = t.Add(time.Duration(5+rng.IntN(55)) * time.Second)
		}
		e, err := newEvent(id, i, f.step(s.name, id, t, s.k))
		if err != nil {
			return nil, err
		}
		evs[i] = e
	}
	return evs, nil
}

// hotCycle is the order in which the hot key's event types repeat, one
// second apart.
var hotCycle = []string{"ims-file-upload-complete", "ims-register-media-complete", "ims-create-audit-complete",
	"vod-stream-transcode-complete", "vod-stream-transcode-complete", "vod-transcode-complete",
	"ims-media-base-change-complete", "vod-produce-media-complete", "vod-file-upload-complete"}

// FamilyRouter sends each event to its family's function; events of no
// known family go to media.
func FamilyRouter(e *Event) string {
	switch e.Family {
	case callback.FamilyUpload, callback.FamilyTranscode, callback.FamilyEditing:
		return string(e.Family)
	}
	return "media"
}

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
// dead-lettered, or refused when its signature is wrong.
type BadInput struct {
	Kind, Nonce, Fn string
	Code            string // expected dead-letter code
	Body            []byte // the item body, or the whole payload for BadEnvelope
	Refused         bool   // answered outcome refused, no letter

}

func (f *Fixtures) badInput(kind, nonce, fn string, t time.Time) *BadInput {
	b := &BadInput{Kind: kind, Nonce: nonce, Fn: fn}
	switch kind {
	case BadMalformedJSON:
		b.Code, b.Body = "MalformedJSON", []byte(`{"EventType": "FileUploadComplete", "Nonce": "`+nonce+`", "MessageBody": {`)
	case BadMissingField:
		b.Code = "MissingField"
		b.Body = bytes.Replace(f.Body("ims-register-media-complete", nonce, t), []byte(`"MediaId": "`+nonce+`"`), []byte(`"Nonce": "`+nonce+`"`), 1)
	case BadWrongFamily:
		b.Code, b.Body = "WrongFamily", []byte(strings.ReplaceAll(f.body["live-record-file"], "liveStream****", nonce))
	case BadEnvelope:
		b.Code, b.Body = "MalformedJSON", []byte(`{"requestContext": {"nonce": "`+nonce+`"}, "body": `)
	case BadSignature:
		b.Code, b.Refused = "SignatureMismatch", true
		b.Body = f.Body("ims-register-media-complete", nonce, t)
	case BadInvalidID:
		b.Code, b.Body = "InvalidId", f.Body("ims-register-media-complete", "bad/"+nonce, t)
	}
	return b
}

// Item is one message of a delivery: an event or an injected bad input.
type Item struct {
	Event  *Event
	Bad    *BadInput
	Dup    bool // a repeat of an event delivered before
	Base64 bool // messageBody base64-encoded
}

// body is what the message carries.
func (it *Item) body() []byte {
	if it.Bad != nil {
		return it.Bad.Body
	}
	return it.Event.Body
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
	// Single sends every message to this function instead of its family's.
	Single string
}

// unit is one message placed on the delivery timeline.
type unit struct {
	pos       float64
	fn        string
	item      *Item
	http, raw bool
}

// BuildPlan generates the events and cuts them into deliveries.
func (f *Fixtures) BuildPlan(o PlanOptions) (*Plan, error) {
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5bd1e995))
	o.BatchMax, o.Window = max(1, o.BatchMax), max(1, o.Window)
	p := &Plan{Media: map[string][]*Event{}}
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	fns := mediaFunctions
	if o.Single != "" {
		fns = []string{o.Single}
	}
	var units []*unit
	for i := 0; i < max(1, o.Media) && (o.HotKey == 0 || i == 0); i++ {
		id := mediaID(o.Tag, o.Run, i)
		var evs []*Event
		var err error
		if o.HotKey == 0 {
			evs, err = f.Lifecycle(rng, id, base.Add(time.Duration(i)*17*time.Second))
		}
		for k := 0; k < o.HotKey && err == nil; k++ {
			var e *Event
			e, err = newEvent(id, k, f.step(hotCycle[k%len(hotCycle)], id, base.Add(time.Duration(k)*time.Second), k))
			evs = append(evs, e)
		}
		if err != nil {
			return nil, err
		}
		p.Media[id], p.MediaOrder, p.Distinct = evs, append(p.MediaOrder, id), p.Distinct+len(evs)
		for k, e := range evs {
			fn := o.Single
			if fn == "" {
				fn = FamilyRouter(e)
			}
			// Media i starts at i; its events are Window positions apart,
			// so about Window media are in flight at once.
			pos := float64(k)
			if o.HotKey == 0 {
				pos = float64(i+k*o.Window) + rng.Float64()*0.5
			}
			units = append(units, &unit{pos: pos, fn: fn, item: &Item{Event: e}})
		}
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
		for _, u := range units { // the originals only: range reads units once
			if rng.Float64() < o.DupRate {
				// A redelivery: later, by up to two windows.
				units = append(units, &unit{pos: u.pos + 1 + rng.Float64()*float64(2*o.Window), fn: u.fn, item: &Item{Event: u.item.Event, Dup: true}})
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
		b := f.badInput(kind, nonce, fns[rng.IntN(len(fns))], base)
		p.Bad = append(p.Bad, b)
		units = append(units, &unit{pos: rng.Float64() * maxPos, fn: b.Fn, item: &Item{Bad: b},
			http: kind == BadSignature || kind == BadInvalidID, raw: kind == BadEnvelope})
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
		if d.Items = append(d.Items, u.item); len(d.Items) >= want[u.fn] {
			emit(d)
			delete(open, u.fn)
		}
	}
	for _, fn := range mediaFunctions {
		if d := open[fn]; d != nil {
			emit(d)
		}
	}
	return p, nil
}
