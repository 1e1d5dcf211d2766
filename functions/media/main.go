// Command media is the FC function for the media management events:
// CreateAuditComplete, RegisterMediaComplete, DeleteMediaComplete and
// MediaBaseChangeComplete.
package main

import "mediastate/shared/fcapp"

func main() { fcapp.Main("media") }
