// Command upload is the FC function for the seven upload events
// (FileUploadComplete, UploadByURLComplete, ImageUploadComplete,
// AttachedMediaUploadComplete, RegisterStreamComplete, StreamUploadComplete,
// UploadStreamByURLComplete) of VOD and IMS.
package main

import "mediastate/shared/fcapp"

func main() { fcapp.Main("upload") }
