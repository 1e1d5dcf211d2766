// Command transcode is the FC function for TranscodeComplete and
// StreamTranscodeComplete.
package main

import (
	"mediastate/shared/callback"
	"mediastate/shared/fcapp"
)

func main() { fcapp.Main(fcapp.MediaSpec("transcode", callback.FamilyTranscode)) }
