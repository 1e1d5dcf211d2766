package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"mediastate/shared/callback"
	"mediastate/shared/live"
	"mediastate/shared/media"
	"mediastate/shared/snapshot"
	"mediastate/shared/state"
	"mediastate/shared/statestore"
)

// mediaStore opens the media state store without a cache (every read goes
// to OSS).
func (e *env) mediaStore() (*media.Store, error) {
	return media.NewStore(e.b, e.conn.Prefix, statestore.Options{CacheSize: 1})
}

// StateView is what get prints: the newest version of a media's state.
type StateView struct {
	MediaID string       `json:"mediaId"`
	Version uint64       `json:"version"`
	State   *state.Media `json:"state"`
}

// lastEvent returns the media's latest applied event (events are sorted by
// time, then id).
func lastEvent(m *state.Media) (state.AppliedEvent, bool) {
	if m == nil || len(m.Events) == 0 {
		return state.AppliedEvent{}, false
	}
	return m.Events[len(m.Events)-1], true
}

func getCommand() command {
	return command{name: "get", nargs: 1, args: "<MediaId>", summary: "the newest state of a media asset (one LIST + one GET)",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			return func(e *env, args []string) error {
				s, err := e.mediaStore()
				if err != nil {
					return err
				}
				if err := callback.ValidateID("MediaId", args[0]); err != nil {
					return err
				}
				m, ver, err := s.Get(e.ctx, args[0])
				if errors.Is(err, statestore.ErrNotFound) {
					return fmt.Errorf("no state for MediaId %s under %s", args[0], media.KeyPrefix(e.conn.Prefix))
				}
				if err != nil {
					return err
				}
				return e.emit(StateView{MediaID: m.MediaID, Version: ver, State: m}, func(w io.Writer) {
					fmt.Fprintf(w, "mediaId\t%s\nversion\t%d\ndeleted\t%v\nevents\t%d\n", m.MediaID, ver, m.Deleted, len(m.Events))
					if m.Upload != nil {
						fmt.Fprintf(w, "upload\t%s %s %s\n", m.Upload.EventType, m.Upload.Status, orDash(m.Upload.FileURL))
					}
					if m.Transcode != nil {
						fmt.Fprintf(w, "transcode\t%s %s, %d streams\n", m.Transcode.EventType, m.Transcode.Status, len(m.Transcode.Streams))
					}
					if ev, ok := lastEvent(m); ok {
						fmt.Fprintf(w, "last event\t%s %s %s\n", ev.Type, ts(ev.Time), orDash(ev.Status))
					}
					fmt.Fprintf(w, "failures\t%d\n", len(m.Failures))
				})
			}
		}}
}

// VersionView is one retained version in history.
type VersionView struct {
	Version   uint64    `json:"version"`
	WrittenAt time.Time `json:"writtenAt"`
	Key       string    `json:"key"`
	// EventsAdded are the events this version has that the version before
	// it has not. For the oldest retained version (Oldest) the one before
	// was swept, so it lists all its events.
	EventsAdded []state.AppliedEvent `json:"eventsAdded"`
	Oldest      bool                 `json:"oldest,omitempty"`
	Deleted     bool                 `json:"deleted"`
}

func historyCommand() command {
	return command{name: "history", nargs: 1, args: "<MediaId>", summary: "the retained versions of a media's state with their time and the events each added",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			return func(e *env, args []string) error {
				if err := callback.ValidateID("MediaId", args[0]); err != nil {
					return err
				}
				s, err := e.mediaStore()
				if err != nil {
					return err
				}
				versions, err := s.Versions(e.ctx, args[0])
				if errors.Is(err, statestore.ErrNotFound) {
					return fmt.Errorf("no state for MediaId %s", args[0])
				}
				if err != nil {
					return err
				}
				docs := make([]*state.Media, len(versions))
				for i, v := range versions {
					if docs[i], err = s.ReadVersion(e.ctx, v); err != nil {
						return err
					}
				}
				out := make([]VersionView, len(versions))
				for i, v := range versions {
					vv := VersionView{Version: v.Seq, WrittenAt: v.LastModified, Key: v.Key, Deleted: docs[i].Deleted,
						EventsAdded: []state.AppliedEvent{}}
					before := map[string]bool{}
					if i+1 < len(versions) {
						for _, ev := range docs[i+1].Events {
							before[ev.ID] = true
						}
					} else {
						vv.Oldest = true
					}
					for _, ev := range docs[i].Events {
						if !before[ev.ID] {
							vv.EventsAdded = append(vv.EventsAdded, ev)
						}
					}
					out[i] = vv
				}
				return e.emit(out, func(w io.Writer) {
					fmt.Fprintln(w, "VERSION\tWRITTEN\tEVENTS ADDED")
					for _, v := range out {
						var evs []string
						for _, ev := range v.EventsAdded {
							evs = append(evs, ev.Type+"@"+ts(ev.Time))
						}
						note := ""
						if v.Oldest {
							note = " (oldest retained: all its events)"
						}
						fmt.Fprintf(w, "%d\t%s\t%s%s\n", v.Version, ts(v.WrittenAt), strings.Join(evs, ", "), note)
					}
				})
			}
		}}
}

// ListItem is one media in list.
type ListItem struct {
	MediaID   string    `json:"mediaId"`
	Version   uint64    `json:"version"`
	WrittenAt time.Time `json:"writtenAt"`
	LastEvent string    `json:"lastEvent,omitempty"`
	EventTime time.Time `json:"eventTime,omitzero"`
	Deleted   bool      `json:"deleted"`
}

// timeFlag parses RFC 3339 times or durations back from now ("24h").
type timeFlag struct{ t time.Time }

func (f *timeFlag) String() string {
	if f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *timeFlag) Set(s string) error {
	if d, err := time.ParseDuration(s); err == nil {
		f.t = time.Now().Add(-d)
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time (2024-06-01T08:00:00Z) or a duration back from now (24h)")
	}
	f.t = t
	return nil
}

func listCommand() command {
	return command{name: "list", args: "[-prefix P] [-since T] [-until T] [-limit N]",
		summary: "media ids with version, last event and time (one LIST per 1000 versions, one GET per media listed)",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			prefix := fs.String("prefix", "", "only MediaIds starting with this")
			var since, until timeFlag
			fs.Var(&since, "since", "only media whose newest version was written at or after this (RFC 3339, or a duration back from now)")
			fs.Var(&until, "until", "only media whose newest version was written before this")
			limit := fs.Int("limit", 0, "stop after this many media (0: all)")
			workers := fs.Int("parallel", 8, "concurrent GETs")
			return func(e *env, args []string) error {
				s, err := e.mediaStore()
				if err != nil {
					return err
				}
				l := e.newLister("MEDIAID\tVERSION\tWRITTEN\tLAST EVENT\tEVENT TIME\tDELETED", func(w io.Writer, item any) {
					it := item.(ListItem)
					fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%v\n", it.MediaID, it.Version, ts(it.WrittenAt), orDash(it.LastEvent), ts(it.EventTime), it.Deleted)
				})
				errStop := errors.New("limit reached")
				var batch []statestore.Version
				flush := func() error {
					items, err := readItems(e, s, batch, *workers)
					batch = batch[:0]
					for _, it := range items {
						if err := l.add(it); err != nil {
							return err
						}
					}
					return err
				}
				listed := 0
				err = s.EachNewestUnder(e.ctx, *prefix, func(v statestore.Version) error {
					e.progress("media listed", listed, 1000)
					listed++
					if (!since.t.IsZero() && v.LastModified.Before(since.t)) || (!until.t.IsZero() && !v.LastModified.Before(until.t)) {
						return nil
					}
					if *limit > 0 && l.n+len(batch) >= *limit {
						return errStop
					}
					batch = append(batch, v)
					if len(batch) >= 64 {
						return flush()
					}
					return nil
				})
				if err != nil && !errors.Is(err, errStop) {
					return err
				}
				if err := flush(); err != nil {
					return err
				}
				return l.close()
			}
		}}
}

// readItems GETs the listed versions concurrently and returns them in
// order.
func readItems(e *env, s *media.Store, vs []statestore.Version, workers int) ([]ListItem, error) {
	items := make([]ListItem, len(vs))
	var g errgroup.Group
	g.SetLimit(max(1, workers))
	for i, v := range vs {
		g.Go(func() error {
			m, err := s.ReadVersion(e.ctx, v)
			if err != nil {
				// Swept since the listing: read the newest.
				if m, v.Seq, err = s.Get(e.ctx, v.ID); err != nil {
					return err
				}
			}
			it := ListItem{MediaID: v.ID, Version: v.Seq, WrittenAt: v.LastModified, Deleted: m.Deleted}
			if ev, ok := lastEvent(m); ok {
				it.LastEvent, it.EventTime = ev.Type, ev.Time
			}
			items[i] = it
			return nil
		})
	}
	return items, g.Wait()
}

// SweepPreview is what sweep -dry-run prints.
type SweepPreview struct {
	DryRun bool                  `json:"dryRun"`
	Media  statestore.SweepStats `json:"media"`
	Jobs   statestore.SweepStats `json:"jobs"`
	Live   statestore.SweepStats `json:"live"`
}

func sweepCommand() command {
	return command{name: "sweep", args: "-dry-run", summary: "what the hourly sweep would delete now: media, URL-pull job and Live stream versions (it deletes nothing)",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			dry := fs.Bool("dry-run", false, "required: count what would be deleted (the sweep function does the deleting)")
			return func(e *env, args []string) error {
				if !*dry {
					return fmt.Errorf("only -dry-run is supported: the sweep function deletes (invoke it, or let its hourly timer run)")
				}
				ms, err := e.mediaStore()
				if err != nil {
					return err
				}
				ls, err := live.NewStore(e.b, e.conn.Prefix, statestore.Options{CacheSize: 1})
				if err != nil {
					return err
				}
				fmt.Fprintln(e.stderr, "listing every state version...")
				p := SweepPreview{DryRun: true}
				if p.Media, err = ms.Sweep(e.ctx, statestore.SweepOptions{DryRun: true}); err != nil {
					return err
				}
				js, err := media.NewJobStore(e.b, e.conn.Prefix, statestore.Options{CacheSize: 1})
				if err != nil {
					return err
				}
				if p.Jobs, err = js.Sweep(e.ctx, statestore.SweepOptions{DryRun: true}); err != nil {
					return err
				}
				if p.Live, err = ls.Sweep(e.ctx, statestore.SweepOptions{DryRun: true}); err != nil {
					return err
				}
				return e.emit(p, func(w io.Writer) {
					fmt.Fprintln(w, "\tIDS\tVERSIONS\tWOULD DELETE")
					fmt.Fprintf(w, "media\t%d\t%d\t%d\n", p.Media.IDs, p.Media.Versions, p.Media.Deleted)
					fmt.Fprintf(w, "jobs\t%d\t%d\t%d\n", p.Jobs.IDs, p.Jobs.Versions, p.Jobs.Deleted)
					fmt.Fprintf(w, "live\t%d\t%d\t%d\n", p.Live.IDs, p.Live.Versions, p.Live.Deleted)
				})
			}
		}}
}

func snapshotCommand() command {
	return command{name: "snapshot", args: "[-lines]", summary: "the newest snapshot of every media state: its metadata, or with -lines its lines (one LIST + one GET)",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			lines := fs.Bool("lines", false, "print the snapshot's lines (JSON lines, or a table of ids and versions)")
			return func(e *env, args []string) error {
				key, err := snapshot.Latest(e.ctx, e.b, e.conn.Prefix)
				if errors.Is(err, snapshot.ErrNone) {
					return fmt.Errorf("no snapshot under %s yet: the sweep writes one every hour", snapshot.KeyPrefix(e.conn.Prefix))
				}
				if err != nil {
					return err
				}
				var rows []snapshot.Line
				meta, err := snapshot.Read(e.ctx, e.b, key, func(l snapshot.Line) error {
					if !*lines {
						return nil
					}
					if e.format == "table" {
						rows = append(rows, snapshot.Line{MediaID: l.MediaID, Version: l.Version})
						return nil
					}
					b, err := json.Marshal(l)
					if err == nil {
						_, err = fmt.Fprintf(e.stdout, "%s\n", b)
					}
					return err
				})
				if err != nil {
					return err
				}
				if *lines && e.format == "json" {
					return nil
				}
				return e.emit(meta, func(w io.Writer) {
					if *lines {
						fmt.Fprintln(w, "MEDIAID\tVERSION")
						for _, r := range rows {
							fmt.Fprintf(w, "%s\t%d\n", r.MediaID, r.Version)
						}
						return
					}
					fmt.Fprintf(w, "key\t%s\ncount\t%d\ntaken at\t%s\nnewest write\t%s\nmax version\t%d\nsize\t%d bytes\n",
						meta.Key, meta.Count, ts(meta.TakenAt), ts(meta.NewestWrite), meta.MaxVersion, meta.Size)
				})
			}
		}}
}
