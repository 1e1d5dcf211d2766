// Package describe implements DescribeLiveRecordNotifyRecords, the query
// over the Live recording callback records (package live/notify), as the
// answer to an FC HTTP trigger request.
//
// Parameters come from the query string and, for POST, from a form
// (application/x-www-form-urlencoded) or JSON object body, which takes
// precedence over the query string. Names are those of the API and match
// exactly:
//
//	DomainName   required, a valid name (callback.ValidateID)
//	AppName      optional filter
//	StreamName   optional filter
//	Status       optional: success | failed
//	StartTime    required, UTC yyyy-MM-ddTHH:mm:ssZ, within the last 7 days
//	EndTime      required, same layout, later than StartTime
//	PageSize     1..500, default 20
//	PageNumber   1..100000, default 1
//
// The window is StartTime <= NotifyTime < EndTime. Other parameters
// (RegionId, ...) are ignored.
//
// Answers: 200 {CallbackList, Code: 0, Msg: "ok", PageNum, PageSize,
// RequestId, TotalNum, TotalPage}; 400 {Code, Message, RequestId} with Code
// InvalidParams (a body that is not a JSON object or form), MissingParams
// or MalformedParams and Message "<detail>, please check and try again
// later."; 401/403 when the caller is not authorised (see Auth); 405 for
// methods other than GET and POST; 503 when storage fails. Every answer
// carries a fresh RequestId (a UUID).
package describe

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	smithyrand "github.com/aws/smithy-go/rand"

	"mediastate/shared/apierr"
	"mediastate/shared/callback"
	"mediastate/shared/live/notify"
	"mediastate/shared/trigger"
)

// The API's limits.
const (
	DefaultPageSize = 20
	MaxPageSize     = 500
	MaxPageNumber   = 100000
	// Retention is how far back StartTime may go.
	Retention = 7 * 24 * time.Hour
)

// The error codes of the API.
const (
	CodeInvalidParams   = "InvalidParams"
	CodeMissingParams   = "MissingParams"
	CodeMalformedParams = "MalformedParams"
	// CodeUnauthorized (401): no bearer token.
	CodeUnauthorized = "Unauthorized"
	// CodeForbidden (403): a wrong token, or no token configured.
	CodeForbidden = "Forbidden"
	// CodeMethodNotAllowed (405).
	CodeMethodNotAllowed = "MethodNotAllowed"
	// CodeServiceUnavailable (503): storage failed; try again.
	CodeServiceUnavailable = "ServiceUnavailable"
)

// Auth says who may query.
type Auth struct {
	// Token must be presented as "Authorization: Bearer <Token>" or in the
	// TokenHeader header. Without it every query is refused: the function
	// fails closed.
	Token string
	// Platform is set behind an HTTP trigger with authType function. FC
	// checks the caller's ACS3-HMAC-SHA256 signature at its gateway and
	// passes nothing our code can verify (the signature is over the
	// caller's AccessKey secret, which we do not have), so the token is
	// required all the same, in TokenHeader since Authorization then
	// carries FC's signature, and so is an Authorization header of that
	// scheme: a request without it cannot have passed FC's check.
	Platform bool
}

// TokenHeader carries the query token when Authorization is taken by FC's
// own signature (authType function).
const TokenHeader = "X-Mediastate-Query-Token"

// MaxAnswerSize bounds the JSON of an answer, in bytes: records beyond it
// have NotifyContent and NotifyHeader cut to CutTo bytes (each record is
// capped when written, see notify.Record.Capped; this bounds a page of
// PageSize of them).
const (
	MaxAnswerSize = 4 << 20
	CutTo         = 256
)

// Handler answers the queries.
type Handler struct {
	Records *notify.Store
	Auth    Auth
	// Now is the clock of the 7-day limit; default time.Now.
	Now func() time.Time
	// Logger receives one line per query; nil for none.
	Logger *slog.Logger
}

// Response is the success answer.
type Response struct {
	CallbackList []notify.Record `json:"CallbackList"`
	Code         int             `json:"Code"`
	Msg          string          `json:"Msg"`
	PageNum      int             `json:"PageNum"`
	PageSize     int             `json:"PageSize"`
	RequestId    string          `json:"RequestId"`
	TotalNum     int             `json:"TotalNum"`
	TotalPage    int             `json:"TotalPage"`
}

// ErrorResponse is the answer to a refused query.
type ErrorResponse struct {
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	RequestId string `json:"RequestId"`
}

// Params are the parsed parameters.
type Params struct {
	Domain, App, Stream, Status string
	Start, End                  time.Time
	PageSize, PageNumber        int
}

// Error is a refused request.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is the API error code, e.g. MissingParams.
	Code string
	// Detail is the message answered.
	Detail string
}

func (f *Error) Error() string { return f.Code + ": " + f.Detail }

func paramErr(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Detail: fmt.Sprintf(format, args...) + ", please check and try again later."}
}

// Serve answers one HTTP trigger delivery. body is the request body (nil
// when empty).
func (h *Handler) Serve(ctx context.Context, req *trigger.HTTPRequest, headers http.Header, body []byte) trigger.HTTPResponse {
	start := time.Now()
	rid := NewRequestID()
	resp, p, f := h.serve(ctx, req, headers, body, rid)
	if h.Logger != nil {
		attrs := []any{"requestId", rid, "durationMs", float64(time.Since(start).Microseconds()) / 1000}
		if f != nil {
			attrs = append(attrs, "status", f.Status, "code", f.Code, "error", f.Detail)
		} else {
			attrs = append(attrs, "status", http.StatusOK, "domain", p.Domain, "totalNum", resp.TotalNum, "returned", len(resp.CallbackList))
		}
		h.Logger.Info("query", attrs...)
	}
	if f != nil {
		return trigger.JSONResponse(f.Status, ErrorResponse{Code: f.Code, Message: f.Detail, RequestId: rid})
	}
	return trigger.JSONResponse(http.StatusOK, resp)
}

func (h *Handler) serve(ctx context.Context, req *trigger.HTTPRequest, headers http.Header, body []byte, rid string) (*Response, *Params, *Error) {
	if f := h.authorize(headers); f != nil {
		return nil, nil, f
	}
	method := ""
	var query url.Values
	if req != nil {
		method, query = strings.ToUpper(req.Method), req.Query
	}
	if method != http.MethodGet && method != http.MethodPost && method != "" {
		return nil, nil, &Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed, Detail: "use GET or POST"}
	}
	vals, f := collect(query, headers, body)
	if f != nil {
		return nil, nil, f
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	p, f := Parse(vals, now())
	if f != nil {
		return nil, nil, f
	}
	page, err := h.Records.Query(ctx, notify.Query{Domain: p.Domain, App: p.App, Stream: p.Stream, Result: p.Status,
		Start: p.Start, End: p.End, PageSize: p.PageSize, PageNumber: p.PageNumber})
	if err != nil {
		if apierr.IsPermanent(err) {
			return nil, p, paramErr(CodeMalformedParams, "%s", apierr.MessageOf(err))
		}
		return nil, p, &Error{Status: http.StatusServiceUnavailable, Code: CodeServiceUnavailable,
			Detail: "the records could not be read, please try again later"}
	}
	list := fitAnswer(page.Records, MaxAnswerSize)
	return &Response{CallbackList: list, Code: 0, Msg: "ok", PageNum: p.PageNumber, PageSize: p.PageSize, RequestId: rid,
		TotalNum: page.Total, TotalPage: (page.Total + p.PageSize - 1) / p.PageSize}, p, nil
}

// fitAnswer returns the records of a page, cutting NotifyContent and
// NotifyHeader of those past max bytes of JSON to CutTo bytes, so that an
// answer stays within max (plus CutTo-sized records) whatever was stored.
func fitAnswer(recs []notify.Record, max int) []notify.Record {
	out := make([]notify.Record, 0, len(recs))
	total := 0
	for _, r := range recs {
		r = r.Capped() // records written before the caps
		b, _ := json.Marshal(r)
		if total+len(b) > max {
			r.NotifyContent, r.NotifyHeader = notify.Cut(r.NotifyContent, CutTo), notify.Cut(r.NotifyHeader, CutTo)
			b, _ = json.Marshal(r)
		}
		total += len(b)
		out = append(out, r)
	}
	return out
}

// authorize checks the token in constant time (over SHA-256 digests, so
// that not even the token's length is revealed), and with Platform the
// evidence of FC's own check.
func (h *Handler) authorize(headers http.Header) *Error {
	if h.Auth.Token == "" {
		return &Error{Status: http.StatusForbidden, Code: CodeForbidden,
			Detail: "queries are refused: no QUERY_TOKEN is configured"}
	}
	authz := strings.TrimSpace(headers.Get("Authorization"))
	scheme, token, ok := strings.Cut(authz, " ")
	if h.Auth.Platform {
		if !strings.HasPrefix(authz, "ACS3-HMAC-SHA256 ") {
			return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized,
				Detail: "no FC signature (Authorization: ACS3-HMAC-SHA256 ...): QUERY_AUTH=function needs an HTTP trigger with authType function"}
		}
		token, ok = headers.Get(TokenHeader), true
	} else if t := headers.Get(TokenHeader); t != "" && authz == "" {
		scheme, token, ok = "Bearer", t, true
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") && !h.Auth.Platform || strings.TrimSpace(token) == "" {
		return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized,
			Detail: "a token is required: Authorization: Bearer <token>, or " + TokenHeader + ": <token>"}
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	want := sha256.Sum256([]byte(h.Auth.Token))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Detail: "the bearer token is not valid"}
	}
	return nil
}

// collect merges the query string with the body's parameters (the body
// wins).
func collect(query url.Values, headers http.Header, body []byte) (map[string]string, *Error) {
	vals := map[string]string{}
	for k, vs := range query {
		if len(vs) > 0 {
			vals[k] = vs[len(vs)-1]
		}
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return vals, nil
	}
	ct, _, _ := mime.ParseMediaType(headers.Get("Content-Type"))
	isJSON := ct == "application/json" || strings.HasSuffix(ct, "+json") || (ct != "application/x-www-form-urlencoded" && body[0] == '{')
	if isJSON {
		var m map[string]json.RawMessage
		if body[0] != '{' || json.Unmarshal(body, &m) != nil {
			return nil, paramErr(CodeInvalidParams, "Invalid JSON: the request body is not a JSON object")
		}
		for k, raw := range m {
			v, ok := scalar(raw)
			if !ok {
				return nil, paramErr(CodeMalformedParams, "%s must be a string or a number", k)
			}
			vals[k] = v
		}
		return vals, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, paramErr(CodeInvalidParams, "Invalid form: the request body is neither a JSON object nor a valid form")
	}
	for k, vs := range form {
		if len(vs) > 0 {
			vals[k] = vs[len(vs)-1]
		}
	}
	return vals, nil
}

// scalar returns a JSON string's value or a number's text; null is "".
func scalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	switch {
	case string(raw) == "null":
		return "", true
	case len(raw) > 0 && raw[0] == '"':
		var s string
		return s, json.Unmarshal(raw, &s) == nil
	case len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'):
		return string(raw), true
	}
	return "", false
}

// Parse validates the parameters against the API's rules, with now as the
// current time for the 7-day limit.
func Parse(vals map[string]string, now time.Time) (*Params, *Error) {
	get := func(k string) string { return strings.TrimSpace(vals[k]) }
	// Domain names are case-insensitive: records are kept under the
	// lower-case name.
	p := &Params{Domain: strings.ToLower(get("DomainName")), App: get("AppName"), Stream: get("StreamName"), Status: get("Status")}
	for _, name := range []string{"DomainName", "StartTime", "EndTime"} {
		if get(name) == "" {
			return nil, paramErr(CodeMissingParams, "%s is missing", name)
		}
	}
	for _, f := range []struct{ name, v string }{{"DomainName", p.Domain}, {"AppName", p.App}, {"StreamName", p.Stream}} {
		if f.v != "" && callback.ValidateID(f.name, f.v) != nil {
			return nil, paramErr(CodeMalformedParams, "%s is malformed: expected 1 to 128 printable ASCII characters without spaces, '/', '\\', '?', '#', '%%' or \"..\"", f.name)
		}
	}
	switch p.Status {
	case "", notify.ResultSuccess, notify.ResultFailed:
	default:
		return nil, paramErr(CodeMalformedParams, "Status is malformed: expected success or failed")
	}
	var err error
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"StartTime", &p.Start}, {"EndTime", &p.End}} {
		if *t.dst, err = time.Parse(notify.TimeLayout, get(t.name)); err != nil {
			return nil, paramErr(CodeMalformedParams, "%s is malformed: expected UTC time as yyyy-MM-ddTHH:mm:ssZ", t.name)
		}
	}
	if !p.End.After(p.Start) {
		return nil, paramErr(CodeMalformedParams, "EndTime must be later than StartTime")
	}
	if p.Start.Before(now.Add(-Retention).Truncate(time.Second)) {
		return nil, paramErr(CodeMalformedParams, "StartTime is out of range: only the last 7 days can be queried")
	}
	if p.PageSize, err = intParam(vals, "PageSize", DefaultPageSize, 1, MaxPageSize); err != nil {
		return nil, paramErr(CodeMalformedParams, "%v", err)
	}
	if p.PageNumber, err = intParam(vals, "PageNumber", 1, 1, MaxPageNumber); err != nil {
		return nil, paramErr(CodeMalformedParams, "%v", err)
	}
	return p, nil
}

func intParam(vals map[string]string, name string, def, lo, hi int) (int, error) {
	v := strings.TrimSpace(vals[name])
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s is malformed: expected an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}

// NewRequestID returns a fresh upper-case UUID, like the API's RequestId.
func NewRequestID() string {
	id, err := smithyrand.NewUUID(rand.Reader).GetUUID()
	if err != nil {
		return fmt.Sprintf("00000000-0000-4000-8000-%012X", time.Now().UnixNano()&0xFFFFFFFFFFFF)
	}
	return strings.ToUpper(id)
}
