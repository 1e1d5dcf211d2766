package fcapp

import (
	"encoding/json"
	"maps"
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

// MainNamed runs the callback function of that name (see SpecFor).
func MainNamed(name string) {
	spec, ok := SpecFor(name)
	if !ok {
		panic("fcapp: no function named " + name)
	}
	Main(spec)
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
