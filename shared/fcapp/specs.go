package fcapp

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aliyun/fc-runtime-go-sdk/fc"

	"encoding/json"
	"maps"
	"mediastate/shared/apierr"
	"mediastate/shared/config"
	"slices"

	"mediastate/shared/callback"
)

// callbackFunctions are the functions fed callbacks, by name, with the
// event families each is meant for (LiveName gets LiveSpec).
var callbackFunctions = map[string][]callback.Family{
	"upload":    {callback.FamilyUpload},
	"media":     {callback.FamilyMedia},
	"transcode": {callback.FamilyTranscode},
	"editing":   {callback.FamilyEditing},
	LiveName:    {callback.FamilyLive},
}

// SpecFor returns the Spec of a function fed callbacks (upload, media,
// transcode, editing, liverecord): the one table shared by the functions'
// main packages and the operator CLI, which replays dead letters through
// the same pipeline.
func SpecFor(name string) (Spec, bool) {
	families, ok := callbackFunctions[name]
	switch {
	case !ok:
		return Spec{}, false
	case name == LiveName:
		return LiveSpec(), true
	}
	return MediaSpec(name, families...), true
}

// CallbackFunctions lists the names SpecFor knows, sorted.
func CallbackFunctions() []string { return slices.Sorted(maps.Keys(callbackFunctions)) }

// SweepName is the name of the function the hourly timer runs (Sweep).
const SweepName = "sweep"

// Handler builds the handler of the function called name from the
// environment, as its main does (see Main): the callback functions of
// SpecFor, liverecordquery (NewLiveQuery) and sweep (NewTask with Sweep).
// Tests that run the functions in process build them with it too.
func Handler(name string, getenv config.Getenv, logger *slog.Logger) (func(context.Context, []byte) (any, error), error) {
	switch name {
	case LiveQueryName:
		q, err := NewLiveQuery(getenv, logger)
		if err != nil {
			return nil, err
		}
		return q.Handle, nil
	case SweepName:
		t, err := NewTask(name, getenv, logger, Sweep)
		if err != nil {
			return nil, err
		}
		return t.Handle, nil
	}
	spec, ok := SpecFor(name)
	if !ok {
		return nil, fmt.Errorf("fcapp: no function named %s", name)
	}
	app, err := New(spec, getenv, logger)
	if err != nil {
		return nil, err
	}
	return app.Handle, nil
}

// Main is the main of every function: it builds the function called name
// from the environment (Handler) and hands it to fc.Start. A configuration
// error is logged and ends the process, so the function fails visibly at
// its first invocation.
func Main(name string) {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := Handler(name, os.Getenv, logger)
	if err != nil {
		logger.Error("start-up failed", "function", name, "code", string(apierr.CodeOf(err)), "error", err.Error())
		os.Exit(1)
	}
	fc.Start(h)
}

// ActionReplay is the Control action that replays the function's dead
// letters.
const ActionReplay = "replay-dead-letters"

// ControlPayload is the invocation payload carrying c, as an operator sends
// it to a function (s invoke, the local stack's /<function>/invoke, or the
// CLI in process through App.Handle).
func ControlPayload(c Control) []byte {
	b, err := json.Marshal(map[string]Control{"mediastate": c})
	if err != nil {
		panic(err) // a struct of strings, bools and ints always marshals
	}
	return b
}
