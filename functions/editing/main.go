// Command editing is the FC function for ProduceMediaComplete (online
// editing produced a media asset).
package main

import (
	"mediastate/shared/callback"
	"mediastate/shared/fcapp"
)

func main() { fcapp.Main(fcapp.MediaSpec("editing", callback.FamilyEditing)) }
