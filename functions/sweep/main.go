// Command sweep is the timer-triggered FC function that deletes old state
// versions (see package statestore: only versions whose successor is older
// than an hour, keeping the newest two of every id).
package main

import "mediastate/shared/fcapp"

func main() { fcapp.Main("sweep") }
