// Command liverecord is the FC function for ApsaraVideo Live recording
// callbacks (file_created, record_started, record_paused, record_resumed,
// record_error, record_force_transcode_fail, transformat_error), over HTTP
// (ALI-LIVE-SIGNATURE) and MNS: it keeps a notify record of every callback
// (package live/notify) and the state of every stream (package live).
package main

import "mediastate/shared/fcapp"

func main() { fcapp.Main("liverecord") }
