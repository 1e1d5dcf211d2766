package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
	names := []string{"vod-file-upload-complete", "ims-register-media-complete"}
	if rng.IntN(2) == 0 {
		names[0] = "ims-file-upload-complete"
	}
	if rng.Float64() < 0.7 {
		names = append(names, "ims-create-audit-complete")
	}
	names = append(append(append(names, slices.Repeat([]string{"vod-stream-transcode-complete"}, 1+rng.IntN(2))...),
		"vod-transcode-complete"), slices.Repeat([]string{"ims-media-base-change-complete"}, 1+rng.IntN(2))...)
	for i, name := range []string{"vod-produce-media-complete", "vod-snapshot-complete", "vod-delete-media-complete"} {
		if rng.Float64() < []float64{0.2, 0.1, 0.1}[i] {
			names = append(names, name)
		}
	}
	evs := make([]*Event, len(names))
	seen := map[string]int{} // the k-th variant of a step repeated
	for i, t := 0, t0; i < len(names); i, t = i+1, t.Add(time.Duration(5+rng.IntN(55))*time.Second) {
		e, err := newEvent(id, i, f.step(names[i], id, t, seen[names[i]]))
		if err != nil {
			return nil, err
		}
		evs[i], seen[names[i]] = e, seen[names[i]]+1
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

// Item is one message of a delivery.
type Item struct {
	Event  *Event
	Dup    bool // a repeat of an event delivered before
	Base64 bool // messageBody base64-encoded
}

// Delivery is one invocation: an EventBridge batch of 1..N messages or one
// signed HTTP callback.
type Delivery struct {
	ID    int
	Fn    string
	HTTP  bool
	Items []*Item
}

// Plan is the workload of one scenario.
type Plan struct {
	Media      map[string][]*Event // each MediaId's distinct events in time order
	MediaOrder []string
	Deliveries []*Delivery
	// Distinct counts distinct events; Items counts messages sent
	// (duplicates included).
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
	Single   string  // sends every message to this function instead of its family's
}

// unit is one message placed on the delivery timeline.
type unit struct {
	pos  float64
	fn   string
	item *Item
	http bool
}

// BuildPlan generates the events and cuts them into deliveries.
func (f *Fixtures) BuildPlan(o PlanOptions) (*Plan, error) {
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5bd1e995))
	o.BatchMax, o.Window = max(1, o.BatchMax), max(1, o.Window)
	p := &Plan{Media: map[string][]*Event{}}
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
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
	sort.SliceStable(units, func(i, j int) bool { return units[i].pos < units[j].pos })

	// Cut into deliveries: HTTP messages alone; EventBridge
	// messages batched per function, each batch 1..BatchMax long, sent
	// when full.
	open := map[string]*Delivery{}
	want := map[string]int{}
	emit := func(d *Delivery) {
		d.ID = len(p.Deliveries)
		p.Deliveries = append(p.Deliveries, d)
	}
	for _, u := range units {
		if u.http {
			emit(&Delivery{Fn: u.fn, HTTP: true, Items: []*Item{u.item}})
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
