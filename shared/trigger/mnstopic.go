package trigger

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"mediastate/shared/apierr"
)

// isTopicNotification reports whether the keys of a JSON object make it an
// MNS topic notification in JSON format.
func isTopicNotification(m map[string]json.RawMessage) bool {
	return has(m, "TopicName") || has(m, "TopicOwner") || has(m, "SubscriptionName")
}

// unwrapTopic handles an MNS topic notification in JSON format:
// {"TopicOwner","Message","Subscriber","PublishTime" (epoch ms),
// "SubscriptionName","MessageMD5","TopicName","MessageId"}. t is its JSON and
// top its fields.
//
// Message is decoded defensively (see decodeDefensive), and may also be a
// JSON object. When MessageMD5 is present it must match, case-insensitively,
// the hex MD5 of the Message as sent (the unescaped string, which is what
// MNS received from the publisher and hashes; for a base64 message that is
// the base64 text) or of its base64 decoding. The MD5 of the string as sent
// is what MNS computes; the decoded form is also accepted because publishers
// and SDKs differ in which form they report. A mismatch fails the delivery
// with code InvalidField.
func unwrapTopic(t []byte, top map[string]json.RawMessage) (*Batch, error) {
	d := &Delivery{Kind: KindMNSTopic, DeliveryID: str(top, "MessageId"), Time: epochMillis(top["PublishTime"])}
	where := fmt.Sprintf("MNS topic notification (MessageId %q, TopicName %q)", d.DeliveryID, str(top, "TopicName"))
	one := func(it Item) (*Batch, error) { return &Batch{Kind: KindMNSTopic, Items: []Item{it}}, nil }

	sent, body, err := messageBody(top["Message"], "Message")
	if err != nil {
		return one(failed(d, t, where, err))
	}
	want, present, merr := topicMD5(top)
	if merr != nil {
		return one(failed(d, t, where, merr))
	}
	if present && !md5Matches(want, sent, body) {
		return one(failed(d, t, where, fieldErr(apierr.InvalidField, "MessageMD5",
			"is %q, which matches neither the MD5 of Message as sent (%s) nor that of its base64 decoding; expected the upper-case hex MD5 of Message",
			want, md5Hex(sent))))
	}
	d.Body = body
	return one(Item{Delivery: d})
}

// topicMD5 returns the MessageMD5 of a notification and whether it is
// present (absent, null and "" all count as absent).
func topicMD5(top map[string]json.RawMessage) (string, bool, *apierr.Error) {
	raw := trimJSONSpace(top["MessageMD5"])
	if len(raw) == 0 || string(raw) == "null" {
		return "", false, nil
	}
	if raw[0] != '"' {
		return "", false, fieldErr(apierr.InvalidField, "MessageMD5",
			"is a JSON %s; expected the hex MD5 of Message as a string", jsonType(raw))
	}
	s := strings.TrimSpace(str(top, "MessageMD5"))
	return s, s != "", nil
}

// md5Hex returns the upper-case hex MD5 of b, as MNS writes it.
func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// md5Matches reports whether want is the hex MD5 (in either case) of sent
// or of body.
func md5Matches(want string, sent, body []byte) bool {
	if strings.EqualFold(want, md5Hex(sent)) {
		return true
	}
	return string(body) != string(sent) && strings.EqualFold(want, md5Hex(body))
}
