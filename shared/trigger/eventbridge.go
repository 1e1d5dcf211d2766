package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"mediastate/shared/apierr"
)

// unwrapArray handles a payload that is a JSON array: a batch of EventBridge
// MNS events, either CloudEvents or (eventSchema RawData) their data parts.
//
// The batch Kind is that of the first element recognised as either shape.
// Elements that are not JSON objects, not recognisable, or of the other
// shape become failed Items; the rest are unwrapped one by one, so one bad
// element never loses the good ones.
func unwrapArray(t []byte) (*Batch, error) {
	elems, err := splitArray(t)
	if err != nil {
		return nil, err
	}
	if len(elems) == 0 {
		return nil, apierr.New(apierr.UnsupportedEnvelope,
			"invocation payload is an empty JSON array; expected a JSON array of 1 or more EventBridge MNS events")
	}
	objs := make([]map[string]json.RawMessage, len(elems))
	kinds := make([]Kind, len(elems))
	var kind Kind
	for i, e := range elems {
		var m map[string]json.RawMessage
		if json.Unmarshal(e, &m) != nil || m == nil {
			continue
		}
		objs[i], kinds[i] = m, classifyElement(m)
		if kind == "" {
			kind = kinds[i]
		}
	}
	if kind == "" {
		return nil, apierr.New(apierr.UnsupportedEnvelope,
			"invocation payload is a JSON array of %d elements, none of which is an EventBridge MNS event; "+
				"expected CloudEvents (specversion, data.messageBody) or RawData objects (messageId, messageBody)",
			len(elems))
	}
	b := &Batch{Kind: kind, Items: make([]Item, len(elems))}
	for i, e := range elems {
		switch {
		case objs[i] == nil:
			d := &Delivery{Kind: kind, Index: i}
			b.Items[i] = failed(d, e, elementWhere(kind, i, len(elems), ""),
				apierr.New(apierr.MalformedJSON, "element is a JSON %s; expected a JSON object", jsonType(trimJSONSpace(e))))
		case kinds[i] == "":
			d := &Delivery{Kind: kind, Index: i}
			b.Items[i] = failed(d, e, elementWhere(kind, i, len(elems), ""),
				apierr.New(apierr.UnsupportedEnvelope, "element has keys %s; expected %s", describeKeys(objs[i]), elementShape(kind)))
		case kinds[i] != kind:
			d := &Delivery{Kind: kind, Index: i, DeliveryID: elementID(objs[i])}
			b.Items[i] = failed(d, e, elementWhere(kind, i, len(elems), d.DeliveryID),
				apierr.New(apierr.UnsupportedEnvelope, "element has the %s shape in a batch of the %s shape; expected %s",
					kinds[i], kind, elementShape(kind)))
		case kind == KindEventBridgeMNS:
			b.Items[i] = cloudEventItem(e, objs[i], i, len(elems))
		default:
			b.Items[i] = rawDataItem(e, objs[i], i, len(elems))
		}
	}
	return b, nil
}

// splitArray returns the elements of the JSON array t, failing with
// PayloadTooLarge as soon as there are more than MaxBatchItems of them, so
// that a payload of millions of tiny elements cannot exhaust memory.
func splitArray(t []byte) ([]json.RawMessage, error) {
	malformed := func(err error) error {
		return apierr.Wrap(apierr.MalformedJSON, err,
			"invocation payload starts with '[' but is not a valid JSON array; expected a JSON array of EventBridge MNS events")
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	if _, err := dec.Token(); err != nil { // the opening '['
		return nil, malformed(err)
	}
	var elems []json.RawMessage
	for dec.More() {
		if len(elems) == MaxBatchItems {
			return nil, apierr.New(apierr.PayloadTooLarge,
				"invocation payload is a JSON array of more than %d elements; expected at most %d EventBridge MNS events",
				MaxBatchItems, MaxBatchItems)
		}
		var e json.RawMessage
		if err := dec.Decode(&e); err != nil {
			return nil, malformed(err)
		}
		elems = append(elems, e)
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return nil, malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the closing ']'")
		}
		return nil, malformed(err)
	}
	return elems, nil
}

// classifyElement returns the shape of a batch element by its keys:
// KindEventBridgeMNS for a CloudEvent, KindEventBridgeRaw for the data part
// of one, "" for neither.
func classifyElement(m map[string]json.RawMessage) Kind {
	switch {
	case has(m, "specversion"):
		return KindEventBridgeMNS
	case has(m, "messageBody"):
		return KindEventBridgeRaw
	case has(m, "data"):
		return KindEventBridgeMNS
	case has(m, "messageId"):
		return KindEventBridgeRaw
	}
	return ""
}

// elementShape describes, for error messages, what an element of a batch of
// kind should look like.
func elementShape(kind Kind) string {
	if kind == KindEventBridgeRaw {
		return "a RawData object with requestId, messageId and messageBody"
	}
	return "a CloudEvent with id, specversion, type mns:Queue:SendMessage and data.messageBody"
}

// elementID returns the best id a batch element of either shape carries.
func elementID(m map[string]json.RawMessage) string {
	if id := str(m, "messageId"); id != "" {
		return id
	}
	if data, ok := m["data"]; ok {
		var dm map[string]json.RawMessage
		if json.Unmarshal(data, &dm) == nil {
			if id := str(dm, "messageId"); id != "" {
				return id
			}
		}
	}
	return str(m, "id")
}

// elementWhere says, for error messages, which batch element is involved.
func elementWhere(kind Kind, i, n int, id string) string {
	name := "EventBridge MNS event"
	if kind == KindEventBridgeRaw {
		name = "EventBridge MNS RawData message"
	}
	if id == "" {
		return fmt.Sprintf("%s %d of %d", name, i, n)
	}
	return fmt.Sprintf("%s %d of %d (id %q)", name, i, n, id)
}

// cloudEventItem unwraps one CloudEvent: its data holds requestId,
// messageId and messageBody. raw is the event's JSON and m its fields. The
// event type is not checked: whatever the type, a data.messageBody is a
// message to deliver, and its absence is reported.
func cloudEventItem(raw json.RawMessage, m map[string]json.RawMessage, i, n int) Item {
	d := &Delivery{Kind: KindEventBridgeMNS, Index: i, DeliveryID: str(m, "id"), Time: rfc3339(str(m, "time"))}
	dataRaw, ok := m["data"]
	if t := trimJSONSpace(dataRaw); !ok || string(t) == "null" {
		return failed(d, raw, elementWhere(KindEventBridgeMNS, i, n, d.DeliveryID),
			fieldErr(apierr.MissingField, "data", "required; expected an object with requestId, messageId and messageBody"))
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(dataRaw, &data); err != nil {
		return failed(d, raw, elementWhere(KindEventBridgeMNS, i, n, d.DeliveryID),
			fieldErr(apierr.InvalidField, "data", "is a JSON %s; expected an object with requestId, messageId and messageBody",
				jsonType(trimJSONSpace(dataRaw))))
	}
	return messageItem(d, raw, data, "data.", i, n)
}

// rawDataItem unwraps one RawData message {requestId, messageId,
// messageBody}. raw is its JSON and m its fields.
func rawDataItem(raw json.RawMessage, m map[string]json.RawMessage, i, n int) Item {
	d := &Delivery{Kind: KindEventBridgeRaw, Index: i}
	return messageItem(d, raw, m, "", i, n)
}

// messageItem completes d from the MNS message fields in data (messageId,
// messageBody); prefix is the path of data within the element, for error
// messages.
func messageItem(d *Delivery, raw json.RawMessage, data map[string]json.RawMessage, prefix string, i, n int) Item {
	if id := str(data, "messageId"); id != "" {
		d.DeliveryID = id
	}
	_, body, err := messageBody(data["messageBody"], prefix+"messageBody")
	if err != nil {
		return failed(d, raw, elementWhere(d.Kind, i, n, d.DeliveryID), err)
	}
	d.Body = body
	return Item{Delivery: d}
}
