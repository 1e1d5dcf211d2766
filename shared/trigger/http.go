package trigger

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"

	"mediastate/shared/apierr"
)

// isHTTPEvent reports whether the keys of a JSON object make it an FC 3.0
// HTTP trigger event.
func isHTTPEvent(m map[string]json.RawMessage) bool {
	return has(m, "requestContext") &&
		(has(m, "rawPath") || has(m, "version") || has(m, "headers") || has(m, "body") || has(m, "isBase64Encoded"))
}

// unwrapHTTP handles an FC 3.0 HTTP trigger event: {"version":"v1",
// "rawPath","body","isBase64Encoded","headers":{..},"queryParameters":{..},
// "requestContext":{"accountId","domainName","domainPrefix","http":{"method",
// "path","protocol","sourceIp","userAgent"},"requestId","time","timeEpoch"}}.
// t is its JSON and top its fields.
//
// The structural fields must have their JSON types (requestContext,
// requestContext.http, headers and queryParameters objects, header and
// parameter values strings or arrays of strings, isBase64Encoded a boolean,
// body a string), or the payload as a whole is rejected with MalformedJSON.
// Other metadata is read leniently. A body that is empty, or marked
// isBase64Encoded but not valid standard base64, fails the delivery, which
// keeps its request metadata so that the caller can answer.
func unwrapHTTP(t []byte, top map[string]json.RawMessage) (*Batch, error) {
	var hc map[string]json.RawMessage
	var headers, query map[string][]string
	rc, err := object(top["requestContext"], "requestContext")
	if err == nil {
		hc, err = object(rc["http"], "requestContext.http")
	}
	if err == nil {
		headers, err = stringLists(top["headers"], "headers")
	}
	if err == nil {
		query, err = stringLists(top["queryParameters"], "queryParameters")
	}
	if err != nil {
		return nil, httpEnvelopeErr(err)
	}
	var isBase64 bool
	if raw := trimJSONSpace(top["isBase64Encoded"]); len(raw) > 0 && string(raw) != "null" {
		if uerr := json.Unmarshal(raw, &isBase64); uerr != nil {
			return nil, httpEnvelopeErr(fieldErr(apierr.MalformedJSON, "isBase64Encoded",
				"is a JSON %s; expected a boolean", jsonType(raw)))
		}
	}
	var body string
	raw := trimJSONSpace(top["body"])
	// A JSON string decodes to at most its own length, and at least a
	// sixth of it (\u00XX per byte); base64 to three quarters. Refuse by
	// the raw length first, so that no oversized body is ever copied.
	tooLarge := len(raw) > 6*MaxHTTPBodySize+2
	if len(raw) > 0 && string(raw) != "null" && !tooLarge {
		if uerr := json.Unmarshal(raw, &body); uerr != nil {
			return nil, httpEnvelopeErr(fieldErr(apierr.MalformedJSON, "body",
				"is a JSON %s; expected the request body as a string", jsonType(raw)))
		}
	}

	req := &HTTPRequest{
		Method:       str(hc, "method"),
		RawPath:      str(top, "rawPath"),
		Path:         str(hc, "path"),
		Protocol:     str(hc, "protocol"),
		Query:        url.Values(query),
		SourceIP:     str(hc, "sourceIp"),
		UserAgent:    str(hc, "userAgent"),
		RequestID:    str(rc, "requestId"),
		AccountID:    str(rc, "accountId"),
		DomainName:   str(rc, "domainName"),
		DomainPrefix: str(rc, "domainPrefix"),
		Time:         epochMillis(rc["timeEpoch"]),
	}
	if req.Time.IsZero() {
		req.Time = rfc3339(str(rc, "time"))
	}
	h := make(http.Header, len(headers))
	for _, k := range sortedKeys(headers) {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		h[ck] = append(h[ck], headers[k]...)
	}
	d := &Delivery{Kind: KindHTTP, Headers: h, DeliveryID: req.RequestID, Time: req.Time, HTTP: req}
	where := fmt.Sprintf("HTTP trigger request (%s %q, requestId %q)", req.Method, req.RawPath, req.RequestID)
	one := func(it Item) (*Batch, error) { return &Batch{Kind: KindHTTP, Items: []Item{it}}, nil }

	if tooLarge {
		return one(Item{Delivery: d, Err: fieldErr(apierr.PayloadTooLarge, "body",
			"is %d bytes as JSON; expected a body of at most %d bytes", len(raw), MaxHTTPBodySize)})
	}
	b := []byte(body)
	if isBase64 {
		dec, derr := decodeBase64(b)
		switch {
		case derr == errEmptyBase64:
			b = nil
		case derr != nil:
			e := fieldErr(apierr.InvalidField, "body", "is not valid standard base64; expected base64 since isBase64Encoded is true")
			e.Err = derr
			return one(failed(d, t, where, e))
		default:
			b = dec
		}
	}
	if len(b) == 0 {
		return one(failed(d, t, where, fieldErr(apierr.MissingField, "body",
			"is empty; expected a callback body in the request body")))
	}
	d.Body = b
	if len(b) > MaxHTTPBodySize {
		return one(Item{Delivery: d, Err: fieldErr(apierr.PayloadTooLarge, "body",
			"is %d bytes; expected at most %d bytes", len(b), MaxHTTPBodySize)})
	}
	return one(Item{Delivery: d})
}

// httpEnvelopeErr makes err, about a field of an HTTP trigger event, an
// error about the payload as a whole.
func httpEnvelopeErr(err *apierr.Error) error {
	e := *err
	e.Message = "FC HTTP trigger event: " + e.Message
	return &e
}

// object decodes raw as a JSON object. Absent and null give an empty map.
func object(raw json.RawMessage, field string) (map[string]json.RawMessage, *apierr.Error) {
	t := trimJSONSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return map[string]json.RawMessage{}, nil
	}
	var m map[string]json.RawMessage
	if t[0] != '{' || json.Unmarshal(t, &m) != nil {
		return nil, fieldErr(apierr.MalformedJSON, field, "is a JSON %s; expected a JSON object", jsonType(t))
	}
	return m, nil
}

// stringLists decodes raw as a JSON object whose values are strings (as FC
// sends headers and query parameters, multiple values comma-joined in one
// string) or arrays of strings. Absent and null give an empty map; null
// values are skipped.
func stringLists(raw json.RawMessage, field string) (map[string][]string, *apierr.Error) {
	m, err := object(raw, field)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		v = trimJSONSpace(v)
		switch {
		case string(v) == "null":
		case len(v) > 0 && v[0] == '"':
			var s string
			if json.Unmarshal(v, &s) != nil {
				return nil, fieldErr(apierr.MalformedJSON, field+"."+k, "is not a valid JSON string")
			}
			out[k] = []string{s}
		default:
			var ss []string
			if json.Unmarshal(v, &ss) != nil {
				return nil, fieldErr(apierr.MalformedJSON, field+"."+k,
					"is a JSON %s; expected a string or an array of strings", jsonType(v))
			}
			out[k] = ss
		}
	}
	return out, nil
}

// sortedKeys returns the keys of m in order, so that headers whose names
// differ only in case are merged in a deterministic order.
func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// HTTPResponse is the answer a function invoked by an FC 3.0 HTTP trigger
// returns; FC maps it to the HTTP response. The function's handler returns
// it as its output value, which the runtime marshals to JSON.
type HTTPResponse struct {
	// StatusCode is the HTTP status code.
	StatusCode int `json:"statusCode"`
	// Headers are the response headers.
	Headers map[string]string `json:"headers,omitempty"`
	// IsBase64Encoded says whether Body is base64-encoded binary.
	IsBase64Encoded bool `json:"isBase64Encoded"`
	// Body is the response body.
	Body string `json:"body"`
}

// JSONResponse returns an HTTP trigger answer with the given status code
// whose body is v marshalled as JSON, with a JSON Content-Type. If v cannot
// be marshalled, the answer is instead a 500 whose body is a JSON error
// object with code Internal, so that a handler always has a valid answer to
// return.
func JSONResponse(statusCode int, v any) HTTPResponse {
	headers := map[string]string{"Content-Type": "application/json; charset=utf-8"}
	body, err := json.Marshal(v)
	if err != nil {
		body, _ = json.Marshal(map[string]string{
			"code":    string(apierr.Internal),
			"message": "cannot encode the response as JSON: " + err.Error(),
		})
		return HTTPResponse{StatusCode: http.StatusInternalServerError, Headers: headers, Body: string(body)}
	}
	return HTTPResponse{StatusCode: statusCode, Headers: headers, Body: string(body)}
}
