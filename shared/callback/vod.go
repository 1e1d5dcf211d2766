package callback

import "encoding/json"

// envelope is the top level of a VOD or IMS event. Both carry EventType
// and EventTime. A VOD event is flat: its payload fields (mediaFields) sit
// beside them, for example
//
//	{"EventType": "TranscodeComplete", "EventTime": "2017-03-20T07:49:17Z",
//	 "VideoId": "43q9fjsh73f****", "Status": "success", "StreamInfos": [...]}
//
// An IMS event adds UserId and nests its payload in MessageBody (see
// ims.go). UserId is read wherever it appears.
type envelope struct {
	EventType   flexString      `json:"EventType"`
	EventTime   flexString      `json:"EventTime"`
	UserId      flexInt         `json:"UserId"`
	MessageBody json.RawMessage `json:"MessageBody"`
	mediaFields
}

// decodeVOD converts a VOD flat event, whose payload is the top level.
func decodeVOD(eventType string, env *envelope) (*Event, error) {
	return decodeMedia(SourceVOD, eventType, env, &env.mediaFields, "")
}
