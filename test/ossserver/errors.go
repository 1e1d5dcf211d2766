package ossserver

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// apiError is an error answered to the client as an OSS XML error document.
type apiError struct {
	status  int
	code    string
	message string
	// fields holds extra XML elements after HostId, such as <Key> or
	// <StringToSign>, in order.
	fields [][2]string
}

// Error implements error.
func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message)
}

// with returns e with an extra XML element.
func (e *apiError) with(name, value string) *apiError {
	e.fields = append(e.fields, [2]string{name, value})
	return e
}

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// The error constructors below use OSS's codes and, where known, its messages.

func errNoSuchBucket(bucket string) *apiError {
	return newError(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist.").with("BucketName", bucket)
}

func errNoSuchKey(key string) *apiError {
	return newError(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.").with("Key", key)
}

func errAccessDenied(format string, args ...any) *apiError {
	return newError(http.StatusForbidden, "AccessDenied", format, args...)
}

func errInvalidAccessKeyID(ak string) *apiError {
	return newError(http.StatusForbidden, "InvalidAccessKeyId",
		"The OSS Access Key Id you provided does not exist in our records.").with("OSSAccessKeyId", ak)
}

func errInvalidSecurityToken() *apiError {
	return newError(http.StatusForbidden, "InvalidSecurityToken", "The security token you provided is invalid.")
}

func errSignatureDoesNotMatch(ak, stringToSign string) *apiError {
	e := newError(http.StatusForbidden, "SignatureDoesNotMatch",
		"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	if ak != "" {
		e.with("OSSAccessKeyId", ak)
	}
	if stringToSign != "" {
		e.with("StringToSign", stringToSign)
	}
	return e
}

func errRequestTimeTooSkewed(requestTime, serverTime string) *apiError {
	return newError(http.StatusForbidden, "RequestTimeTooSkewed",
		"The difference between the request time and the current time is too large.").
		with("RequestTime", requestTime).with("ServerTime", serverTime)
}

// errConditionalWrite is OSS's answer to If-* headers on a write.
func errConditionalWrite(header string) *apiError {
	return newError(http.StatusBadRequest, "NotImplemented",
		"A header you provided implies functionality that is not implemented").with("Header", header)
}

// errUnsupported reports functionality OSS has but this server does not.
// It uses 501 so that it cannot be mistaken for OSS's own 400 NotImplemented.
func errUnsupported(format string, args ...any) *apiError {
	return newError(http.StatusNotImplemented, "NotImplemented", "ossserver: "+format, args...)
}

func errFileAlreadyExists() *apiError {
	return newError(http.StatusConflict, "FileAlreadyExists",
		"The object you specified already exists and can not be overwritten.")
}

func errInvalidArgument(name, value, format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, "InvalidArgument", format, args...).
		with("ArgumentName", name).with("ArgumentValue", value)
}

func errInvalidObjectName(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, "InvalidObjectName", format, args...)
}

func errInvalidBucketName(bucket string) *apiError {
	return newError(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.").
		with("BucketName", bucket)
}

func errIncompleteBody(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, "IncompleteBody", format, args...)
}

func errServiceUnavailable() *apiError {
	return newError(http.StatusServiceUnavailable, "ServiceUnavailable",
		"Please reduce your request rate.")
}

func errInternal() *apiError {
	return newError(http.StatusInternalServerError, "InternalError",
		"We encountered an internal error. Please try again.")
}

// ecFor returns the EC value reported with an error code. The values are
// synthetic: they have OSS's NNNN-NNNNNNNN shape but are not OSS's numbers,
// so clients must match on Code, never on EC.
func ecFor(code string) string {
	var sum uint32
	for _, c := range []byte(code) {
		sum = sum*31 + uint32(c)
	}
	return fmt.Sprintf("0099-%08d", sum%100000000)
}

// errorXML renders the OSS XML error document.
func errorXML(e *apiError, requestID, hostID string) []byte {
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString("<Error>\n")
	writeElem(&b, "Code", e.code)
	writeElem(&b, "Message", e.message)
	writeElem(&b, "RequestId", requestID)
	writeElem(&b, "HostId", hostID)
	for _, f := range e.fields {
		writeElem(&b, f[0], f[1])
	}
	writeElem(&b, "EC", ecFor(e.code))
	b.WriteString("</Error>\n")
	return []byte(b.String())
}

func writeElem(b *strings.Builder, name, value string) {
	b.WriteString("  <")
	b.WriteString(name)
	b.WriteString(">")
	_ = xml.EscapeText(b, []byte(value)) // strings.Builder never fails.
	b.WriteString("</")
	b.WriteString(name)
	b.WriteString(">\n")
}

// writeError answers e. HEAD responses carry no body, so, like OSS, the
// error document is also sent base64-encoded in x-oss-err, which the SDK
// decodes into a ServiceError.
func writeError(w http.ResponseWriter, r *http.Request, requestID string, e *apiError) {
	body := errorXML(e, requestID, r.Host)
	h := w.Header()
	h.Set(hdrRequestID, requestID)
	h.Set("X-Oss-Ec", ecFor(e.code))
	h.Set("Content-Type", "application/xml")
	if r.Method == http.MethodHead {
		h.Set("X-Oss-Err", base64.StdEncoding.EncodeToString(body))
		h.Del("Content-Length")
		w.WriteHeader(e.status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	_, _ = w.Write(body) // The client may be gone; nothing to do about it.
}
