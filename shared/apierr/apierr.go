// Package apierr defines the typed errors shared by every package of this
// project. Each error carries a stable code, a message that names the field,
// event type and expectation involved, and a fault: client faults are
// permanent (retrying the same input cannot succeed), server faults are
// transient (the sender should retry).
//
// Error implements smithy.APIError, so callers can use errors.As with
// smithy.APIError as well as with *Error.
package apierr

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"
)

// Code is a stable, machine-readable error code.
type Code string

// The codes used across the project. They are part of the public contract:
// they appear in dead letters, HTTP answers and logs.
const (
	// MalformedJSON: the bytes are not valid JSON, or not the JSON shape expected.
	MalformedJSON Code = "MalformedJSON"
	// MissingField: a required field is absent or empty.
	MissingField Code = "MissingField"
	// InvalidField: a field is present but its value cannot be used.
	InvalidField Code = "InvalidField"
	// UnsupportedEnvelope: the invocation payload is no trigger shape we know.
	UnsupportedEnvelope Code = "UnsupportedEnvelope"
	// InvalidId: an id that would become part of an object key is unsafe.
	InvalidId Code = "InvalidId"
	// PayloadTooLarge: the input exceeds a size limit.
	PayloadTooLarge Code = "PayloadTooLarge"
	// MissingSignature: an HTTP callback arrived without its signature headers.
	MissingSignature Code = "MissingSignature"
	// SignatureMismatch: the callback signature does not verify.
	SignatureMismatch Code = "SignatureMismatch"
	// RequestExpired: the callback timestamp is outside the allowed clock skew.
	RequestExpired Code = "RequestExpired"
	// NestingTooDeep: a body nests objects and arrays deeper than we keep.
	NestingTooDeep Code = "NestingTooDeep"
	// DuplicateKey: an object has two keys the decoder cannot tell apart
	// (equal ignoring letter case), so its meaning would depend on their order.
	DuplicateKey Code = "DuplicateKey"
	// EventTimeInFuture: the event time lies further ahead than clock skew
	// explains; applied, it could never be superseded.
	EventTimeInFuture Code = "EventTimeInFuture"
	// WrongFamily: the event belongs to another function's family.
	WrongFamily Code = "WrongFamily"
	// InvalidConfig: the function's configuration is unusable.
	InvalidConfig Code = "InvalidConfig"
	// StorageUnavailable: object storage could not be reached or kept failing
	// within the time budget. Transient.
	StorageUnavailable Code = "StorageUnavailable"
	// Conflict: too many concurrent writers won the race within the time
	// budget. Transient.
	Conflict Code = "Conflict"
	// Internal: a bug. Transient, so that nothing is dropped.
	Internal Code = "Internal"
)

// Error is the project's error value.
type Error struct {
	// Code is the stable error code.
	Code Code
	// Message is a human-readable description; it names the field, event type
	// and what was expected where those apply.
	Message string
	// Field is the JSON field involved, if any.
	Field string
	// EventType is the callback event type involved, if known.
	EventType string
	// Fault says whose fault it is: smithy.FaultClient errors are permanent,
	// smithy.FaultServer errors are transient.
	Fault smithy.ErrorFault
	// Err is the underlying cause, if any.
	Err error
}

var _ smithy.APIError = (*Error)(nil)

// Error returns "Code: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode implements smithy.APIError.
func (e *Error) ErrorCode() string { return string(e.Code) }

// ErrorMessage implements smithy.APIError.
func (e *Error) ErrorMessage() string { return e.Message }

// ErrorFault implements smithy.APIError.
func (e *Error) ErrorFault() smithy.ErrorFault { return e.Fault }

// WithField returns a copy of e naming the field involved.
func (e *Error) WithField(field string) *Error {
	c := *e
	c.Field = field
	return &c
}

// WithEventType returns a copy of e naming the event type involved, and
// mentions it in the message if the message does not yet.
func (e *Error) WithEventType(t string) *Error {
	c := *e
	c.EventType = t
	if t != "" && !strings.Contains(c.Message, t) {
		c.Message = fmt.Sprintf("%s (event type %s)", c.Message, t)
	}
	return &c
}

// New returns a permanent (client-fault) error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Fault: smithy.FaultClient}
}

// Transient returns a transient (server-fault) error wrapping cause.
func Transient(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Fault: smithy.FaultServer, Err: cause}
}

// Wrap returns a permanent error with the given code wrapping cause.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Fault: smithy.FaultClient, Err: cause}
}

// Field returns a permanent error about one field of one event type. The
// message reads "<field>: <what> (event type <t>)".
func Field(code Code, eventType, field, format string, args ...any) *Error {
	msg := field + ": " + fmt.Sprintf(format, args...)
	if eventType != "" {
		msg += " (event type " + eventType + ")"
	}
	return &Error{Code: code, Message: msg, Field: field, EventType: eventType, Fault: smithy.FaultClient}
}

// CodeOf returns the code of the first *Error (or smithy.APIError) in err's
// chain, or Internal when there is none and err is not nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return Code(ae.ErrorCode())
	}
	return Internal
}

// MessageOf returns the message to show a caller: the message of the first
// *Error in err's chain without its internal cause, or a generic text for
// errors that are not ours.
func MessageOf(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// IsPermanent reports whether err is a client fault: the same input will
// never succeed, so it must be dead-lettered rather than retried. Errors that
// carry no fault (plain errors, context deadlines) are treated as transient,
// so that nothing is dropped by mistake.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorFault() == smithy.FaultClient
	}
	return false
}
