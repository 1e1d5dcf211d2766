// Command editing is the FC function for ProduceMediaComplete (online
// editing produced a media asset).
package main

import "mediastate/shared/fcapp"

func main() { fcapp.Main("editing") }
