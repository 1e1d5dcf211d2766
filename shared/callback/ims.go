package callback

import "encoding/json"

// An IMS event is the envelope {EventType, UserId, EventTime, MessageBody},
// for example
//
//	{"EventType": "FileUploadComplete", "UserId": 1833220977560000,
//	 "EventTime": "2022-07-15T08:48:14Z",
//	 "MessageBody": {"Status": "Success", "MediaId": "c321b3a0041a71eda1590674a2ce****",
//	                 "FileUrl": "http://...", "Size": "5510872", ...}}
//
// UserId is a number of up to 16 digits (also accepted as a string) and is
// decoded exactly, never through float64. MessageBody holds the same
// payload fields as a VOD flat event (mediaFields); a MessageBody that
// arrives as a string holding the object is accepted too.

// imsPrefix is the path of the IMS payload fields in the body.
const imsPrefix = "MessageBody."

// decodeIMS converts an IMS event whose payload is env.MessageBody.
func decodeIMS(eventType string, env *envelope) (*Event, error) {
	const want = "an object, or a string holding one"
	body := unstring(env.MessageBody)
	if kindOf(body) != kindObject {
		return nil, malformedField(eventType, "MessageBody", want, describe(env.MessageBody))
	}
	var m mediaFields
	if err := json.Unmarshal(body, &m); err != nil {
		e := malformedField(eventType, "MessageBody", want, describe(body))
		e.Err = err
		return nil, e
	}
	return decodeMedia(SourceIMS, eventType, env, &m, imsPrefix)
}
