// Package triggertest builds every invocation payload the functions accept,
// and signs callbacks, for tests and the load harness: the FC 3.0 HTTP
// trigger event, EventBridge batches of MNS queue messages (CloudEvents and
// RawData schema, the message body plain, base64 or a JSON object), the MNS
// topic notification in JSON format and the bare body.
//
// The shapes follow shared/PLATFORM.md and carry the documented examples'
// attributes; the constructors fill those in, and a caller that needs
// another value sets the field. It does not import package trigger, so that
// trigger's own tests can use it.
package triggertest

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"mediastate/shared/signature"
)

// HTTPEvent is the event FC 3.0 hands a function for a request to its HTTP
// trigger, in the field order the platform documents.
type HTTPEvent struct {
	Version         string `json:"version"`
	RawPath         string `json:"rawPath"`
	Body            string `json:"body"`
	IsBase64Encoded bool   `json:"isBase64Encoded"`
	// Headers is a map[string]string as FC sends it; a test of malformed
	// events may put anything there.
	Headers         any               `json:"headers"`
	QueryParameters map[string]string `json:"queryParameters"`
	RequestContext  HTTPContext       `json:"requestContext"`
}

// HTTPContext is the requestContext of an HTTPEvent.
type HTTPContext struct {
	AccountID    string   `json:"accountId"`
	DomainName   string   `json:"domainName"`
	DomainPrefix string   `json:"domainPrefix"`
	HTTP         HTTPInfo `json:"http"`
	RequestID    string   `json:"requestId"`
	Time         string   `json:"time"`
	TimeEpoch    string   `json:"timeEpoch"`
}

// HTTPInfo is the requestContext.http of an HTTPEvent.
type HTTPInfo struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// CloudEvent is one element of an EventBridge batch with the CloudEvents
// schema; Data is an MNSData for a message of an MNS queue.
type CloudEvent struct {
	ID                      string `json:"id"`
	Source                  string `json:"source"`
	SpecVersion             string `json:"specversion"`
	Type                    string `json:"type"`
	DataContentType         string `json:"datacontenttype"`
	Subject                 string `json:"subject"`
	Time                    string `json:"time"`
	AliyunAccountID         string `json:"aliyunaccountid"`
	AliyunPublishTime       string `json:"aliyunpublishtime"`
	AliyunOriginalAccountID string `json:"aliyunoriginalaccountid"`
	AliyunEventBusName      string `json:"aliyuneventbusname"`
	AliyunRegionID          string `json:"aliyunregionid"`
	AliyunPublishAddr       string `json:"aliyunpublishaddr"`
	Data                    any    `json:"data"`
}

// MNSData is the data of an MNS queue message in EventBridge, and the whole
// element of a batch with the RawData schema. MessageBody is what
// Encoding.Body returns.
type MNSData struct {
	RequestID   string `json:"requestId"`
	MessageID   string `json:"messageId"`
	MessageBody any    `json:"messageBody"`
}

// Topic is an MNS topic notification in JSON format.
type Topic struct {
	TopicOwner       string `json:"TopicOwner"`
	Message          any    `json:"Message"`
	Subscriber       string `json:"Subscriber"`
	PublishTime      int64  `json:"PublishTime"`
	SubscriptionName string `json:"SubscriptionName"`
	MessageMD5       string `json:"MessageMD5,omitempty"`
	TopicName        string `json:"TopicName"`
	MessageID        string `json:"MessageId"`
}

// ExampleHTTPEvent returns the HTTP trigger event of a POST of body (text
// as FC puts it in the event: base64 when isBase64) to /callback, with the
// documented example's request context.
func ExampleHTTPEvent(body string, isBase64 bool, headers any, requestID string) HTTPEvent {
	return HTTPEvent{
		Version: "v1", RawPath: "/callback", Body: body, IsBase64Encoded: isBase64, Headers: headers,
		QueryParameters: map[string]string{"source": "vod", "tag": "a,b"},
		RequestContext: HTTPContext{
			AccountID: "1234567890000000", DomainName: "callback-abc.cn-shanghai.fcapp.run", DomainPrefix: "callback-abc",
			HTTP: HTTPInfo{Method: "POST", Path: "/callback", Protocol: "HTTP/1.1",
				SourceIP: "203.0.113.7", UserAgent: "Apache-HttpClient/4.5.13 (Java/1.8.0_152)"},
			RequestID: requestID, Time: "2023-09-05T06:41:11Z", TimeEpoch: "1693896071895",
		},
	}
}

// HTTPEventOf returns the event FC builds for the request r with body,
// received at now: repeated headers and query parameters joined by commas,
// the body as text when it is valid UTF-8 and base64 otherwise.
func HTTPEventOf(r *http.Request, body []byte, requestID string, now time.Time) HTTPEvent {
	headers := map[string]string{}
	for k, vs := range r.Header {
		headers[k] = strings.Join(vs, ",")
	}
	query := map[string]string{}
	for k, vs := range r.URL.Query() {
		query[k] = strings.Join(vs, ",")
	}
	sourceIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		sourceIP = r.RemoteAddr
	}
	ev := HTTPEvent{
		Version: "v1", RawPath: r.URL.EscapedPath(), Body: string(body), Headers: headers, QueryParameters: query,
		RequestContext: HTTPContext{
			AccountID: "1234567890", DomainName: r.Host, DomainPrefix: strings.SplitN(r.Host, ".", 2)[0],
			HTTP: HTTPInfo{Method: r.Method, Path: r.URL.Path, Protocol: r.Proto,
				SourceIP: sourceIP, UserAgent: r.UserAgent()},
			RequestID: requestID, Time: now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch: strconv.FormatInt(now.UnixMilli(), 10),
		},
	}
	if !utf8.Valid(body) {
		ev.Body, ev.IsBase64Encoded = B64(body), true
	}
	return ev
}

// PostEvent returns the event of a POST of body to url with headers h
// (which it does not modify) from the client at remote ("ip:port"),
// received at now. It panics when url does not parse.
func PostEvent(url string, body []byte, h http.Header, remote, requestID string, now time.Time) HTTPEvent {
	r, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil {
		panic(fmt.Sprintf("triggertest: %v", err))
	}
	r.Header, r.RemoteAddr = h, remote
	return HTTPEventOf(r, body, requestID, now)
}

// NewCloudEvent returns a CloudEvent of an MNS queue message with id and
// data, and the documented example's other attributes.
func NewCloudEvent(id string, data any) CloudEvent {
	return CloudEvent{
		ID: id, Source: "acs:mns", SpecVersion: "1.0",
		Type: "mns:Queue:SendMessage", DataContentType: "application/json; charset=utf-8",
		Subject: "acs:mns:cn-shanghai:1234567890000000:queues/ice-callback-media", Time: "2021-04-08T06:28:17.093Z",
		AliyunAccountID: "1234567890000000", AliyunPublishTime: "2021-04-08T06:30:31.367Z",
		AliyunOriginalAccountID: "1234567890000000", AliyunEventBusName: "MNS-mediastate-callbacks",
		AliyunRegionID: "cn-shanghai", AliyunPublishAddr: "42.120.0.1",
		Data: data,
	}
}

// NewTopic returns a topic notification of message with its MessageMD5
// (MD5Hex of the message as sent) and the documented example's other
// attributes.
func NewTopic(messageID, message string) Topic {
	return Topic{
		TopicOwner: "1234567890000000", Message: message, Subscriber: "1234567890000000",
		PublishTime: 1658235558094, SubscriptionName: "fc-mediastate-5bf13c7e", MessageMD5: MD5Hex(message),
		TopicName: "mediastate-callbacks", MessageID: messageID,
	}
}

// Encoding is how a callback body travels in an MNS message.
type Encoding string

// The encodings of a message body.
const (
	Plain  Encoding = "plain"  // the body as a JSON string
	Base64 Encoding = "base64" // its base64, as a JSON string (MNS with IsBase64Decode off)
	Object Encoding = "object" // the JSON object itself (EventBridge only)
)

// Body returns the value of messageBody (or Message) that carries body.
func (e Encoding) Body(body []byte) any {
	switch e {
	case Base64:
		return B64(body)
	case Object:
		return json.RawMessage(body)
	}
	return string(body)
}

// MNSEvent returns the JSON of one CloudEvent carrying body as the MNS
// message messageID, with a fresh event id and request id, published now.
func MNSEvent(messageID string, body []byte, enc Encoding) []byte {
	ce := NewCloudEvent(strings.ToLower(NewID()), MNSData{NewID(), messageID, enc.Body(body)})
	ce.Time = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	ce.AliyunPublishTime = ce.Time
	return JSON(ce)
}

// MNSRaw returns the JSON of one RawData element carrying body as the MNS
// message messageID, with a fresh request id.
func MNSRaw(messageID string, body []byte, enc Encoding) []byte {
	return JSON(MNSData{NewID(), messageID, enc.Body(body)})
}

// Batch joins JSON elements into a JSON array, keeping their bytes.
func Batch(elems ...[]byte) []byte {
	return append(append([]byte("[\n"), bytes.Join(elems, []byte(",\n"))...), "\n]"...)
}

// CloudEvents returns an EventBridge batch (CloudEvents schema) carrying
// the bodies as messages with fresh ids.
func CloudEvents(enc Encoding, bodies ...[]byte) []byte {
	elems := make([][]byte, len(bodies))
	for i, b := range bodies {
		elems[i] = MNSEvent(NewID(), b, enc)
	}
	return Batch(elems...)
}

// RawData returns an EventBridge batch (RawData schema) carrying the bodies
// as messages with fresh ids.
func RawData(enc Encoding, bodies ...[]byte) []byte {
	elems := make([][]byte, len(bodies))
	for i, b := range bodies {
		elems[i] = MNSRaw(NewID(), b, enc)
	}
	return Batch(elems...)
}

// TopicJSON returns the JSON of a topic notification of body (base64 when
// base64Message is set) as message messageID, published now.
func TopicJSON(messageID string, body []byte, base64Message bool) []byte {
	enc := Plain
	if base64Message {
		enc = Base64
	}
	n := NewTopic(messageID, enc.Body(body).(string))
	n.PublishTime = time.Now().UnixMilli()
	return JSON(n)
}

// TimerEvent returns the payload of an FC timer trigger called name firing
// at now.
func TimerEvent(name string, now time.Time) []byte {
	return JSON(map[string]string{"triggerTime": now.UTC().Format(time.RFC3339), "triggerName": name, "payload": ""})
}

// BareBase64 returns body base64-encoded on one line, as a bare payload.
func BareBase64(body []byte) []byte { return []byte(B64(body) + "\n") }

// SignedHeaders returns the headers a sender using scheme puts on a
// callback to callbackURL, signed with key at now: the timestamp, the
// signature and Content-Type application/json.
func SignedHeaders(scheme signature.Scheme, callbackURL, key string, now time.Time) http.Header {
	ts := now.Unix()
	h := http.Header{}
	h.Set(scheme.TimestampHeader, strconv.FormatInt(ts, 10))
	h.Set(scheme.SignatureHeader, scheme.Sign(callbackURL, ts, key))
	h.Set("Content-Type", "application/json")
	return h
}

// B64 returns the standard base64 encoding of b.
func B64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// MIMEBase64 returns the standard base64 encoding of b in lines of 76
// characters, each ended by a newline, as MIME encoders write it.
func MIMEBase64(b []byte) string {
	s := B64(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	out.WriteString(s + "\n")
	return out.String()
}

// MD5Hex returns the upper-case hex MD5 of s, as MNS writes MessageMD5.
func MD5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// JSON marshals v as the platform's serializers do, without escaping <, >
// and & (so that a JSON object body keeps its bytes). v is built by the
// caller and must marshal: JSON panics otherwise.
func JSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("triggertest: marshal %T: %v", v, err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

var (
	idSeq atomic.Uint64
	idRun = func() string {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		return strings.ToUpper(hex.EncodeToString(b))
	}()
)

// NewID returns an MNS-like message id: 32 upper-case hex digits, never
// the same twice in a process and unlikely to repeat across processes.
func NewID() string { return fmt.Sprintf("%s%024X", idRun, idSeq.Add(1)) }
