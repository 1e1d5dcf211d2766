// Command transcode is the FC function for TranscodeComplete and
// StreamTranscodeComplete.
package main

import "mediastate/shared/fcapp"

func main() { fcapp.Main("transcode") }
