package pipeline

import (
	"context"
	"fmt"

	"mediastate/shared/apierr"
	"mediastate/shared/deadletter"
	"mediastate/shared/trigger"
)

// ReplayOptions configure Replay.
type ReplayOptions struct {
	// IncludeUnverified also replays letters whose HTTP signature did not
	// verify (or was absent), skipping verification. Only for letters an
	// operator has checked by hand: otherwise a forged callback would be
	// applied.
	IncludeUnverified bool
	// Limit stops after this many letters; 0 means all.
	Limit int
	// DryRun reports what would be replayed without doing it.
	DryRun bool
	// RequestID is the FC request id of the replaying invocation, which
	// the replayed deliveries are logged with.
	RequestID string
}

// ReplayReport says what Replay did, letter by letter (the first
// MaxReportedLetters letters; the counts cover all).
type ReplayReport struct {
	Seen     int              `json:"seen"`
	Replayed int              `json:"replayed"`
	Kept     int              `json:"kept"`
	Skipped  int              `json:"skipped"`
	Letters  []ReplayedLetter `json:"letters"`
	// Unlisted counts the letters left out of Letters.
	Unlisted int `json:"unlisted,omitempty"`
}

// MaxReportedLetters bounds the letters a report lists, so that a replay
// over many letters answers in bounded memory.
const MaxReportedLetters = 1000

// MaxLetterSize is the largest letter Replay reads. Letters are written
// far smaller (deadletter.MaxBody and a little metadata); a larger one is
// from an older version and is skipped, to be read by hand.
const MaxLetterSize = 1 << 20

func (rep *ReplayReport) add(l ReplayedLetter) {
	if len(rep.Letters) >= MaxReportedLetters {
		rep.Unlisted++
		return
	}
	rep.Letters = append(rep.Letters, l)
}

// ReplayedLetter is one letter's fate.
type ReplayedLetter struct {
	Key     string  `json:"key"`
	Outcome Outcome `json:"outcome,omitempty"`
	Action  string  `json:"action"` // replayed (and deleted), kept, skipped, would-replay
	Code    string  `json:"code,omitempty"`
	Message string  `json:"message,omitempty"`
}

// Replay runs the dead letters of one function through the pipeline again,
// after the cause was fixed. A letter whose delivery is now applied (or
// found already applied) is deleted; one that still fails permanently is
// kept as it is; a transient failure stops the replay with an error, and
// the letters not yet replayed stay. Replaying is idempotent: events carry
// content ids, so an event applied twice changes nothing.
//
// What decides whether a letter is read (verified or not, its code, its
// size) comes from the listing: unverified letters are skipped and a dry
// run reports without reading any letter whose key says it all, and
// letters are read one at a time.
func Replay(ctx context.Context, iv *Invoker, dl *deadletter.Store, o ReplayOptions) (ReplayReport, error) {
	var rep ReplayReport
	errStop := fmt.Errorf("limit reached")
	const unverified = "signature was not verified; replay with includeUnverified after checking it"
	err := dl.EachEntry(ctx, func(e deadletter.Entry) error {
		key := e.Key
		if o.Limit > 0 && rep.Seen >= o.Limit {
			return errStop
		}
		rep.Seen++
		if e.Known && !e.Verified && !o.IncludeUnverified {
			rep.Skipped++
			rep.add(ReplayedLetter{Key: key, Action: "skipped", Code: e.Code, Message: unverified})
			return nil
		}
		if e.Size > MaxLetterSize {
			rep.Skipped++
			rep.add(ReplayedLetter{Key: key, Action: "skipped", Code: e.Code,
				Message: fmt.Sprintf("letter is %d bytes, more than replay reads (%d); read it by hand", e.Size, MaxLetterSize)})
			return nil
		}
		if e.Known && o.DryRun {
			rep.add(ReplayedLetter{Key: key, Action: "would-replay", Code: e.Code})
			return nil
		}
		l, err := dl.Get(ctx, key)
		if err != nil {
			return err
		}
		if !l.Verified && !o.IncludeUnverified {
			rep.Skipped++
			rep.add(ReplayedLetter{Key: key, Action: "skipped", Code: l.Code, Message: unverified})
			return nil
		}
		if o.DryRun {
			rep.add(ReplayedLetter{Key: key, Action: "would-replay", Code: l.Code})
			return nil
		}
		if l.Truncated {
			rep.Kept++
			rep.add(ReplayedLetter{Key: key, Action: "kept", Code: l.Code,
				Message: fmt.Sprintf("the body was %d bytes and only an excerpt was kept: it cannot be replayed", l.BodySize)})
			return nil
		}
		results, err := replayOne(ctx, iv, l, key, o.RequestID)
		if err != nil {
			return err
		}
		for _, r := range results {
			if r.Outcome == Retry {
				return fmt.Errorf("replay of %s must be retried: %w", key, r.Err)
			}
		}
		done := true
		var last *Result
		for _, r := range results {
			last = r
			if r.Outcome == DeadLettered {
				done = false
			}
		}
		rl := ReplayedLetter{Key: key, Outcome: last.Outcome}
		if !done {
			rep.Kept++
			rl.Action = "kept"
			for _, r := range results {
				if r.Err != nil {
					rl.Code, rl.Message = string(apierr.CodeOf(r.Err)), apierr.MessageOf(r.Err)
				}
			}
		} else {
			if err := dl.Delete(ctx, key); err != nil {
				return err
			}
			rep.Replayed++
			rl.Action = "replayed"
		}
		rep.add(rl)
		return nil
	})
	if err == errStop {
		err = nil
	}
	return rep, err
}

// replayOne re-runs the letter at key: a single delivery, or a whole
// invocation payload when the letter holds one. Each delivery carries the
// letter's key (trigger.Delivery.Letter).
func replayOne(ctx context.Context, iv *Invoker, l *deadletter.Letter, key, requestID string) ([]*Result, error) {
	if l.Trigger != "invocation" {
		d := l.Delivery()
		d.Letter, d.RequestID = key, requestID
		return []*Result{iv.Handle(ctx, d)}, nil
	}
	batch, err := trigger.Unwrap(l.Raw())
	if err != nil {
		return []*Result{Fail(err, nil)}, nil
	}
	var out []*Result
	for _, it := range batch.Items {
		it.Delivery.Letter, it.Delivery.RequestID = key, requestID
		if it.Err != nil {
			out = append(out, iv.Reject(ctx, it.Delivery, it.Err))
			continue
		}
		out = append(out, iv.Handle(ctx, it.Delivery))
	}
	return out, nil
}
