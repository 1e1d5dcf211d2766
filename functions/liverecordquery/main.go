// Command liverecordquery is the HTTP FC function that answers
// DescribeLiveRecordNotifyRecords over the records kept by liverecord
// (package live/describe).
package main

import "mediastate/shared/fcapp"

func main() { fcapp.Main("liverecordquery") }
