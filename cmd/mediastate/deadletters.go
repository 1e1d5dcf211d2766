package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"mediastate/shared/callback"
	"mediastate/shared/deadletter"
	"mediastate/shared/fcapp"
	"mediastate/shared/ossx"
	"mediastate/shared/pipeline"
)

func deadletterCommands() []command {
	return []command{deadletterListCommand(), deadletterShowCommand(), deadletterReplayCommand()}
}

// deadletterRoot is the key prefix of every function's letters.
func (e *env) deadletterRoot() string { return e.conn.Prefix + "deadletter/" }

// letterFunctions lists the functions that have letters (one LIST with a
// delimiter per 1000 functions).
func (e *env) letterFunctions() ([]string, error) {
	var fns []string
	token := ""
	for {
		page, err := e.b.List(e.ctx, ossx.ListOptions{Prefix: e.deadletterRoot(), Delimiter: "/", ContinuationToken: token})
		if err != nil {
			return nil, fmt.Errorf("list dead-letter functions: %w", err)
		}
		for _, p := range page.CommonPrefixes {
			fns = append(fns, strings.TrimSuffix(strings.TrimPrefix(p, e.deadletterRoot()), "/"))
		}
		if page.NextToken == "" {
			return fns, nil
		}
		token = page.NextToken
	}
}

// LetterItem is one letter in deadletters list.
type LetterItem struct {
	Key        string    `json:"key"`
	Function   string    `json:"function"`
	ReceivedAt time.Time `json:"receivedAt"`
	Code       string    `json:"code"`
	Reason     string    `json:"reason"`
	Trigger    string    `json:"trigger"`
	Verified   bool      `json:"verified"`
}

func deadletterListCommand() command {
	return command{name: "list", args: "[-function F] [-limit N]", summary: "dead letters with reason code, function, time and whether the signature verified",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			fn := fs.String("function", "", "only this function's letters (default: every function's)")
			limit := fs.Int("limit", 0, "stop after this many letters (0: all)")
			return func(e *env, args []string) error {
				fns := []string{*fn}
				if *fn == "" {
					var err error
					if fns, err = e.letterFunctions(); err != nil {
						return err
					}
				} else if err := callback.ValidateID("function", *fn); err != nil {
					return err
				}
				l := e.newLister("KEY\tFUNCTION\tRECEIVED\tCODE\tTRIGGER\tVERIFIED\tREASON", func(w io.Writer, item any) {
					it := item.(LetterItem)
					reason := it.Reason
					if len(reason) > 80 {
						reason = reason[:77] + "..."
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%v\t%s\n", strings.TrimPrefix(it.Key, e.deadletterRoot()), it.Function, ts(it.ReceivedAt),
						it.Code, it.Trigger, it.Verified, reason)
				})
				errStop := errors.New("limit reached")
				for _, f := range fns {
					dl := deadletter.New(e.b, e.conn.Prefix, f)
					err := dl.Each(e.ctx, func(key string) error {
						if *limit > 0 && l.n >= *limit {
							return errStop
						}
						e.progress("letters read", l.n, 500)
						letter, err := dl.Get(e.ctx, key)
						if errors.Is(err, ossx.ErrNotFound) {
							return nil // replayed meanwhile
						}
						if err != nil {
							return err
						}
						return l.add(LetterItem{Key: key, Function: letter.Function, ReceivedAt: letter.ReceivedAt, Code: letter.Code,
							Reason: letter.Reason, Trigger: letter.Trigger, Verified: letter.Verified})
					})
					if errors.Is(err, errStop) {
						break
					}
					if err != nil {
						return err
					}
				}
				return l.close()
			}
		}}
}

// letterKey resolves a letter given as its full key, as
// "<function>/<name>" (the key under the dead-letter prefix, with or
// without ".json"), or as "<function>/<32 hex digits>" (the content hash
// the key starts with: one LIST finds the key).
func (e *env) letterKey(arg string) (string, string, error) {
	bad := fmt.Errorf("%q is not a dead letter: give <function>/<32 hex digits>, <function>/<key name> or the full key %s<function>/<name>.json", arg, e.deadletterRoot())
	rel := strings.TrimSuffix(strings.TrimPrefix(arg, e.deadletterRoot()), ".json")
	fn, name, ok := strings.Cut(rel, "/")
	hash, rest, _ := strings.Cut(name, ".")
	if !ok || callback.ValidateID("function", fn) != nil || len(hash) != 32 || strings.Trim(hash, "0123456789abcdef") != "" {
		return "", "", bad
	}
	stem := e.deadletterRoot() + fn + "/" + hash
	if rest != "" {
		key := stem + "." + rest + ".json"
		if !deadletter.ParseKey(key).Known || callback.ValidateID("key", rest) != nil {
			return "", "", bad
		}
		return key, fn, nil
	}
	page, err := e.b.List(e.ctx, ossx.ListOptions{Prefix: stem + ".", MaxKeys: 1})
	if err != nil {
		return "", "", err
	}
	if len(page.Objects) == 0 {
		return "", "", fmt.Errorf("no dead letter %s* (replayed and deleted?)", stem)
	}
	return page.Objects[0].Key, fn, nil
}

func deadletterShowCommand() command {
	return command{name: "show", nargs: 1, args: "<key | function/hash>", summary: "one dead letter in full (headers are stored with secrets redacted)",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			return func(e *env, args []string) error {
				key, fn, err := e.letterKey(args[0])
				if err != nil {
					return err
				}
				l, err := deadletter.New(e.b, e.conn.Prefix, fn).Get(e.ctx, key)
				if errors.Is(err, ossx.ErrNotFound) {
					return fmt.Errorf("no dead letter %s (replayed and deleted?)", key)
				}
				if err != nil {
					return err
				}
				return e.emit(l, func(w io.Writer) {
					fmt.Fprintf(w, "key\t%s\nfunction\t%s\nreceived\t%s\ncode\t%s\nreason\t%s\ntrigger\t%s\nverified\t%v\n",
						key, l.Function, ts(l.ReceivedAt), l.Code, l.Reason, l.Trigger, l.Verified)
					if l.Method != "" {
						fmt.Fprintf(w, "request\t%s %s\n", l.Method, l.Path)
					}
					for k, v := range l.Headers {
						fmt.Fprintf(w, "header\t%s: %s\n", k, strings.Join(v, ", "))
					}
					body := l.BodyText
					if body == "" {
						body = fmt.Sprintf("(%d bytes, not text: see -o json)", len(l.Raw()))
					}
					fmt.Fprintf(w, "body\t%s\n", body)
				})
			}
		}}
}

func deadletterReplayCommand() command {
	return command{name: "replay", args: "-function F [-dry-run] [-limit N] [-include-unverified]",
		summary: "run a function's dead letters through its pipeline again (here, not in FC); applied letters are deleted",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			fn := fs.String("function", "", "the function whose letters to replay: "+strings.Join(fcapp.CallbackFunctions(), ", "))
			dry := fs.Bool("dry-run", false, "report what would be replayed; change nothing")
			limit := fs.Int("limit", 0, "replay at most this many letters (0: all)")
			unverified := fs.Bool("include-unverified", false, "also replay letters whose HTTP signature did not verify (check them first with show)")
			verbose := fs.Bool("v", false, "print the pipeline's log lines on stderr")
			return func(e *env, args []string) error {
				spec, ok := fcapp.SpecFor(*fn)
				if !ok {
					return fmt.Errorf("-function %q: want one of %s", *fn, strings.Join(fcapp.CallbackFunctions(), ", "))
				}
				logw := io.Discard
				if *verbose {
					logw = e.stderr
				}
				app, err := fcapp.New(spec, e.functionEnv(), slog.New(slog.NewJSONHandler(logw, nil)))
				if err != nil {
					return fmt.Errorf("configure %s: %w", *fn, err)
				}
				fmt.Fprintf(e.stderr, "replaying the dead letters of %s...\n", *fn)
				out, err := app.Handle(e.ctx, fcapp.ControlPayload(fcapp.Control{Action: fcapp.ActionReplay, DryRun: *dry, Limit: *limit, IncludeUnverified: *unverified}))
				rep, _ := out.(pipeline.ReplayReport)
				if perr := e.emit(rep, func(w io.Writer) {
					fmt.Fprintf(w, "seen %d, replayed %d, kept %d, skipped %d\n\n", rep.Seen, rep.Replayed, rep.Kept, rep.Skipped)
					fmt.Fprintln(w, "KEY\tACTION\tOUTCOME\tCODE\tMESSAGE")
					for _, l := range rep.Letters {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", strings.TrimPrefix(l.Key, e.deadletterRoot()), l.Action, orDash(string(l.Outcome)), orDash(l.Code), orDash(l.Message))
					}
				}); perr != nil {
					return perr
				}
				return err
			}
		}}
}

// functionEnv is the environment a function would be configured with to
// reach the same bucket: the CLI's OSS settings, and callback
// verification off (replay never verifies: letters record whether their
// signature verified, and unverified ones are skipped unless asked).
// Other variables (LIVE_CALLBACK_URL, ...) pass through.
func (e *env) functionEnv() func(string) string {
	c := e.conn
	fixed := map[string]string{
		"OSS_ENDPOINT": c.Endpoint, "OSS_BUCKET": c.Bucket, "OSS_REGION": c.Region, "STATE_PREFIX": c.Prefix,
		"OSS_ACCESS_KEY_ID": c.Key.AccessKeyID, "OSS_ACCESS_KEY_SECRET": c.Key.AccessKeySecret, "OSS_SESSION_TOKEN": c.Key.SecurityToken,
		"CALLBACK_AUTH": "off",
	}
	return func(k string) string {
		if v, ok := fixed[k]; ok {
			return v
		}
		return e.getenv(k)
	}
}
