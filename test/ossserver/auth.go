package ossserver

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// maxSkew is how far a request's date may be from the server's clock.
const maxSkew = 15 * time.Minute

// Signature V4 constants, as in the SDK.
const (
	v4Algorithm   = "OSS4-HMAC-SHA256"
	v4Terminator  = "aliyun_v4_request"
	v4Product     = "oss"
	v4DateFormat  = "20060102T150405Z"
	v4DayFormat   = "20060102"
	unsignedBody  = "UNSIGNED-PAYLOAD"
	authV1Prefix  = "OSS "
	authV2Prefix  = "OSS2 "
	authV4Prefix  = v4Algorithm + " "
	presignedV1AK = "OSSAccessKeyId"
)

// signedSubResources is the SDK's signKeyList: the query parameters that
// signature V1 includes in the canonicalized resource.
var signedSubResources = []string{"acl", "uploads", "location", "cors",
	"logging", "website", "referer", "lifecycle",
	"delete", "append", "tagging", "objectMeta",
	"uploadId", "partNumber", "security-token",
	"position", "img", "style", "styleName",
	"replication", "replicationProgress",
	"replicationLocation", "cname", "bucketInfo",
	"comp", "qos", "live", "status", "vod",
	"startTime", "endTime", "symlink",
	"x-oss-process", "response-content-type", "x-oss-traffic-limit",
	"response-content-language", "response-expires",
	"response-cache-control", "response-content-disposition",
	"response-content-encoding", "udf", "udfName", "udfImage",
	"udfId", "udfImageDesc", "udfApplication",
	"udfApplicationLog", "restore", "callback", "callback-var", "qosInfo",
	"policy", "stat", "encryption", "versions", "versioning", "versionId", "requestPayment",
	"x-oss-request-payer", "sequential",
	"inventory", "inventoryId", "continuation-token", "asyncFetch",
	"worm", "wormId", "wormExtend", "withHashContext",
	"x-oss-enable-md5", "x-oss-enable-sha1", "x-oss-enable-sha256",
	"x-oss-hash-ctx", "x-oss-md5-ctx", "transferAcceleration",
	"regionList", "cloudboxes", "x-oss-ac-source-ip", "x-oss-ac-subnet-mask", "x-oss-ac-vpc-id", "x-oss-ac-forward-allow",
	"metaQuery", "resourceGroup", "rtc", "x-oss-async-process", "responseHeader",
}

// authenticate verifies the request's Authorization header.
func (s *Server) authenticate(rq *request) error {
	r := rq.r
	auth := r.Header.Get("Authorization")
	switch {
	case auth == "":
		if rq.query.Has(presignedV1AK) || rq.query.Has("x-oss-signature") || rq.query.Has("x-oss-credential") {
			return errUnsupported("signed URLs are not implemented")
		}
		return errAccessDenied("You have no right to access this object because of bucket acl.")
	case strings.HasPrefix(auth, authV4Prefix):
		return s.verifyV4(rq, strings.TrimPrefix(auth, authV4Prefix))
	case strings.HasPrefix(auth, authV1Prefix):
		return s.verifyV1(rq, strings.TrimPrefix(auth, authV1Prefix))
	case strings.HasPrefix(auth, authV2Prefix):
		return errUnsupported("signature version 2 is not implemented; use V1 or V4")
	default:
		return errAccessDenied("The authorization header is invalid.")
	}
}

// credential looks up an access key and checks the STS security token.
func (s *Server) credential(r *http.Request, ak string) (Credential, *apiError) {
	c, ok := s.creds[ak]
	if !ok {
		return Credential{}, errInvalidAccessKeyID(ak)
	}
	token := r.Header.Get(hdrSecurityToken)
	if c.SecurityToken == "" && token != "" {
		return Credential{}, errInvalidSecurityToken()
	}
	if c.SecurityToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(c.SecurityToken)) != 1 {
		return Credential{}, errInvalidSecurityToken()
	}
	return c, nil
}

// checkSkew rejects a request time more than maxSkew from now.
func checkSkew(t time.Time) *apiError {
	now := time.Now().UTC()
	if d := now.Sub(t); d > maxSkew || d < -maxSkew {
		return errRequestTimeTooSkewed(t.UTC().Format(time.RFC3339), now.Format(time.RFC3339))
	}
	return nil
}

// verifyV1 checks an "OSS ak:signature" header.
func (s *Server) verifyV1(rq *request, cred string) error {
	r := rq.r
	ak, sig, ok := strings.Cut(cred, ":")
	if !ok || ak == "" || sig == "" {
		return errAccessDenied("The authorization header is invalid.")
	}
	c, e := s.credential(r, ak)
	if e != nil {
		return e
	}
	// OSS takes the request time from Date or, when there is none, from
	// x-oss-date (what ali-oss sends); either is the string to sign's date
	// line, and x-oss-date is also signed as an x-oss- header.
	date, dateHeader := r.Header.Get("Date"), "Date"
	if date == "" {
		date, dateHeader = r.Header.Get(hdrOSSDate), hdrOSSDate
	}
	if date == "" {
		return errAccessDenied("Missing the Date header.")
	}
	when, err := http.ParseTime(date)
	if err != nil {
		return errAccessDenied("The %s header %q is invalid.", dateHeader, date)
	}
	sts := stringToSignV1(r, date, rq.bucket, rq.key, rq.query)
	mac := hmac.New(sha1.New, []byte(c.AccessKeySecret))
	mac.Write([]byte(sts))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if subtle.ConstantTimeCompare([]byte(want), []byte(sig)) != 1 {
		return errSignatureDoesNotMatch(ak, sts)
	}
	if e := checkSkew(when); e != nil {
		return e
	}
	return nil
}

// stringToSignV1 builds the V1 string to sign as the SDK's getSignedStr.
// date is the request time as sent (Date, or x-oss-date without Date).
func stringToSignV1(r *http.Request, date, bucket, key string, q url.Values) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(r.Header.Get("Content-MD5") + "\n")
	b.WriteString(r.Header.Get("Content-Type") + "\n")
	b.WriteString(date + "\n")
	for _, h := range canonicalHeaders(r, func(name string) bool { return strings.HasPrefix(name, "x-oss-") }, false) {
		b.WriteString(h[0] + ":" + h[1] + "\n")
	}
	b.WriteString(canonicalResourceV1(bucket, key, q))
	return b.String()
}

// canonicalResourceV1 is /bucket/key followed by the signed sub-resources
// with their raw values, as the SDK's getResource and getSubResource.
func canonicalResourceV1(bucket, key string, q url.Values) string {
	res := "/"
	if bucket != "" {
		res = "/" + bucket + "/" + key
	}
	var keys []string
	for k := range q {
		if isSignedV1(k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return res
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k
		if v := q.Get(k); v != "" {
			parts[i] += "=" + v
		}
	}
	return res + "?" + strings.Join(parts, "&")
}

func isSignedV1(k string) bool { return slices.Contains(signedSubResources, k) }

// canonicalHeaders returns the selected headers as sorted lower-case
// name/first-value pairs. V4 trims spaces from values; V1 does not.
func canonicalHeaders(r *http.Request, selected func(lowerName string) bool, trim bool) [][2]string {
	var out [][2]string
	for k, v := range r.Header {
		name := strings.ToLower(k)
		if !selected(name) || len(v) == 0 {
			continue
		}
		val := v[0]
		if trim {
			val = strings.Trim(val, " ")
		}
		out = append(out, [2]string{name, val})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// v4Auth is a parsed OSS4-HMAC-SHA256 Authorization header.
type v4Auth struct {
	accessKeyID, day, region, product, terminator string
	additional                                    []string
	signature                                     string
}

func parseV4Auth(s string) (v4Auth, bool) {
	var a v4Auth
	var haveCred, haveSig bool
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return a, false
		}
		switch name {
		case "Credential":
			f := strings.Split(val, "/")
			if len(f) != 5 {
				return a, false
			}
			a.accessKeyID, a.day, a.region, a.product, a.terminator = f[0], f[1], f[2], f[3], f[4]
			haveCred = true
		case "AdditionalHeaders":
			a.additional = strings.Split(val, ";")
		case "Signature":
			a.signature = val
			haveSig = true
		default:
			return a, false
		}
	}
	return a, haveCred && haveSig && a.accessKeyID != ""
}

// verifyV4 checks an OSS4-HMAC-SHA256 header.
func (s *Server) verifyV4(rq *request, header string) error {
	r := rq.r
	a, ok := parseV4Auth(header)
	if !ok {
		return errAccessDenied("The authorization header is invalid.")
	}
	c, e := s.credential(r, a.accessKeyID)
	if e != nil {
		return e
	}
	if a.product != v4Product || a.terminator != v4Terminator {
		return errSignatureDoesNotMatch(a.accessKeyID, "").
			with("Detail", "credential scope must end in /"+v4Product+"/"+v4Terminator)
	}
	if a.region != s.region {
		return errSignatureDoesNotMatch(a.accessKeyID, "").
			with("Detail", "credential scope region "+a.region+" is not this server's region "+s.region)
	}
	// The SDK signs x-oss-date when present and the Date header otherwise.
	signDate := r.Header.Get(hdrOSSDate)
	var when time.Time
	var err error
	if signDate != "" {
		when, err = time.Parse(v4DateFormat, signDate)
	} else if signDate = r.Header.Get("Date"); signDate != "" {
		when, err = http.ParseTime(signDate)
	} else {
		return errAccessDenied("Missing the x-oss-date and Date headers.")
	}
	if err != nil {
		return errAccessDenied("The request date %q is invalid.", signDate)
	}
	if when.UTC().Format(v4DayFormat) != a.day {
		return errSignatureDoesNotMatch(a.accessKeyID, "").
			with("Detail", "credential scope date "+a.day+" does not match the request date")
	}
	payload := r.Header.Get(hdrContentSHA256)
	if payload == "" {
		return errInvalidArgument(hdrContentSHA256, "", "The x-oss-content-sha256 header is required for V4 signatures.")
	}
	if payload != unsignedBody {
		return errUnsupported("signed payloads (x-oss-content-sha256 other than %s) are not implemented", unsignedBody)
	}
	canonical, e := canonicalRequestV4(r, rq.bucket, rq.key, rq.query, a.additional, payload)
	if e != nil {
		return e
	}
	scope := a.day + "/" + a.region + "/" + a.product + "/" + a.terminator
	sum := sha256.Sum256([]byte(canonical))
	sts := v4Algorithm + "\n" + signDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])

	key := hmacSHA256([]byte("aliyun_v4"+c.AccessKeySecret), a.day)
	key = hmacSHA256(key, a.region)
	key = hmacSHA256(key, a.product)
	key = hmacSHA256(key, a.terminator)
	want := hex.EncodeToString(hmacSHA256(key, sts))
	if subtle.ConstantTimeCompare([]byte(want), []byte(a.signature)) != 1 {
		return errSignatureDoesNotMatch(a.accessKeyID, sts).with("CanonicalRequest", canonical)
	}
	if e := checkSkew(when); e != nil {
		return e
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalRequestV4 builds the V4 canonical request as the SDK's
// getSignedStrV4: content-md5, content-type, every x-oss-* header and the
// additional headers, the URI with the key escaped but "/" kept, and every
// query parameter escaped and sorted.
func canonicalRequestV4(r *http.Request, bucket, key string, q url.Values, additional []string, payload string) (string, *apiError) {
	extra := map[string]bool{}
	for _, h := range additional {
		h = strings.ToLower(h)
		if h == "content-md5" || h == "content-type" || strings.HasPrefix(h, "x-oss-") {
			return "", errAccessDenied("AdditionalHeaders must not list %s, which is always signed.", h)
		}
		extra[h] = true
	}
	headers := canonicalHeaders(r, func(name string) bool {
		return name == "content-md5" || name == "content-type" || strings.HasPrefix(name, "x-oss-") || extra[name]
	}, true)
	if extra["host"] {
		// net/http moves Host out of the header map.
		headers = append(headers, [2]string{"host", strings.Trim(r.Host, " ")})
		sort.Slice(headers, func(i, j int) bool { return headers[i][0] < headers[j][0] })
	}

	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(canonicalURIV4(bucket, key) + "\n")
	b.WriteString(canonicalQueryV4(q) + "\n")
	for _, h := range headers {
		b.WriteString(h[0] + ":" + h[1] + "\n")
	}
	b.WriteString("\n")
	b.WriteString(strings.Join(additional, ";") + "\n")
	b.WriteString(payload)
	return b.String(), nil
}

// escapeV4 is the SDK's V4 value escaping: query escaping with %20 for
// spaces.
func escapeV4(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func canonicalURIV4(bucket, key string) string {
	switch {
	case bucket == "":
		return "/"
	case key == "":
		return "/" + bucket + "/"
	default:
		return "/" + bucket + "/" + strings.ReplaceAll(escapeV4(key), "%2F", "/")
	}
}

func canonicalQueryV4(q url.Values) string {
	type kv struct{ k, v string }
	pairs := make([]kv, 0, len(q))
	for k := range q {
		pairs = append(pairs, kv{url.QueryEscape(k), q.Get(k)})
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].k < pairs[j].k })
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k
		if p.v != "" {
			parts[i] += "=" + escapeV4(p.v)
		}
	}
	return strings.Join(parts, "&")
}
