package apierr

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
)

func TestCodesAndFaults(t *testing.T) {
	cause := errors.New("connection reset")
	tests := []struct {
		name      string
		err       error
		code      Code
		permanent bool
		text      string
	}{
		{"new", New(MalformedJSON, "body: %s", "unexpected end"), MalformedJSON, true, "MalformedJSON: body: unexpected end"},
		{"field", Field(MissingField, "FileUploadComplete", "MessageBody.MediaId", "required"), MissingField, true,
			"MissingField: MessageBody.MediaId: required (event type FileUploadComplete)"},
		{"transient", Transient(StorageUnavailable, cause, "put state"), StorageUnavailable, false,
			"StorageUnavailable: put state: connection reset"},
		{"wrapped", fmt.Errorf("decode: %w", New(InvalidId, "bad")), InvalidId, true, "decode: InvalidId: bad"},
		{"plain", cause, Internal, false, "connection reset"},
		{"deadline", context.DeadlineExceeded, Internal, false, "context deadline exceeded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CodeOf(tc.err); got != tc.code {
				t.Errorf("CodeOf = %q, want %q", got, tc.code)
			}
			if got := IsPermanent(tc.err); got != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tc.permanent)
			}
			if got := tc.err.Error(); got != tc.text {
				t.Errorf("Error() = %q, want %q", got, tc.text)
			}
			if !Is(tc.err, tc.code) {
				t.Errorf("Is(%q) = false", tc.code)
			}
		})
	}
}

func TestSmithyAPIError(t *testing.T) {
	err := fmt.Errorf("outer: %w", New(PayloadTooLarge, "body is %d bytes, limit %d", 10, 5))
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatal("errors.As(smithy.APIError) failed")
	}
	if ae.ErrorCode() != "PayloadTooLarge" || ae.ErrorFault() != smithy.FaultClient || ae.ErrorMessage() != "body is 10 bytes, limit 5" {
		t.Fatalf("got %q %v %q", ae.ErrorCode(), ae.ErrorFault(), ae.ErrorMessage())
	}
}

func TestWithEventType(t *testing.T) {
	e := New(InvalidField, "Status: want success or fail").WithEventType("TranscodeComplete").WithField("Status")
	if e.Message != "Status: want success or fail (event type TranscodeComplete)" || e.Field != "Status" || e.EventType != "TranscodeComplete" {
		t.Fatalf("got %+v", e)
	}
	if again := e.WithEventType("TranscodeComplete"); again.Message != e.Message {
		t.Fatalf("event type repeated: %q", again.Message)
	}
}

func TestMessageOfHidesCause(t *testing.T) {
	err := fmt.Errorf("ctx: %w", Transient(StorageUnavailable, errors.New("dial tcp 10.0.0.1: refused"), "state of m1"))
	if got := MessageOf(err); got != "state of m1" {
		t.Fatalf("MessageOf = %q", got)
	}
	if got := MessageOf(errors.New("secret detail")); got != "internal error" {
		t.Fatalf("MessageOf(plain) = %q", got)
	}
}
