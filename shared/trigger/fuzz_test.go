package trigger

import (
	"errors"
	"reflect"
	"testing"

	"mediastate/shared/apierr"
)

// FuzzUnwrap checks that Unwrap never panics and that what it returns keeps
// its invariants, whatever the payload. Every fixture is in the seed corpus.
func FuzzUnwrap(f *testing.F) {
	for _, fx := range fixtures() {
		f.Add(fx.build(f))
	}
	for _, s := range []string{
		`[{"specversion":"1.0"},null,{"x":1}]`,
		`{"requestId":"r","messageId":"m","messageBody":{"EventType":"X"}}`,
		`{"TopicName":"t","Message":"aGVsbG8=","MessageMD5":"5D41402ABC4B2A76B9719D911017C592","PublishTime":"1"}`,
		`{"rawPath":"/","body":"e30=","isBase64Encoded":true,"headers":{"a":["1"]},"requestContext":{"timeEpoch":1e300}}`,
		`"eyJFdmVudFR5cGUiOiJYIn0="`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		b, err := Unwrap(payload)
		if err != nil {
			if b != nil {
				t.Fatalf("batch returned with error %v", err)
			}
			var ae *apierr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T) is not an *apierr.Error", err, err)
			}
			switch ae.Code {
			case apierr.UnsupportedEnvelope, apierr.MalformedJSON, apierr.PayloadTooLarge:
			default:
				t.Fatalf("whole-payload error with code %s: %v", ae.Code, err)
			}
			if !apierr.IsPermanent(err) {
				t.Fatalf("whole-payload error is not permanent: %v", err)
			}
			return
		}
		checkInvariants(t, b)
		again, err := Unwrap(payload)
		if err != nil || !reflect.DeepEqual(again, b) {
			t.Fatalf("Unwrap is not deterministic: %+v then %+v (%v)", b, again, err)
		}
	})
}

// checkInvariants checks what every successful Unwrap result must satisfy.
func checkInvariants(t *testing.T, b *Batch) {
	t.Helper()
	switch b.Kind {
	case KindHTTP, KindEventBridgeMNS, KindEventBridgeRaw, KindMNSTopic, KindBare:
	default:
		t.Fatalf("unknown batch kind %q", b.Kind)
	}
	if len(b.Items) == 0 {
		t.Fatal("success with no items")
	}
	if b.Kind != KindEventBridgeMNS && b.Kind != KindEventBridgeRaw && len(b.Items) != 1 {
		t.Fatalf("%s batch with %d items", b.Kind, len(b.Items))
	}
	for i, it := range b.Items {
		d := it.Delivery
		if d == nil {
			t.Fatalf("item %d: nil Delivery", i)
		}
		if d.Kind != b.Kind || d.Index != i {
			t.Fatalf("item %d: Kind %q Index %d in a %q batch", i, d.Kind, d.Index, b.Kind)
		}
		if (d.HTTP != nil) != (b.Kind == KindHTTP) || (d.Headers != nil) != (b.Kind == KindHTTP) {
			t.Fatalf("item %d: HTTP/Headers set for kind %s", i, b.Kind)
		}
		if len(d.Body) == 0 {
			t.Fatalf("item %d: empty Body (err %v)", i, it.Err)
		}
		if it.Err != nil {
			if b.Kind == KindBare {
				t.Fatalf("item %d: failed bare item: %v", i, it.Err)
			}
			var ae *apierr.Error
			if !errors.As(it.Err, &ae) || !apierr.IsPermanent(it.Err) {
				t.Fatalf("item %d: error %v (%T) is not a permanent *apierr.Error", i, it.Err, it.Err)
			}
			switch ae.Code {
			case apierr.UnsupportedEnvelope, apierr.MalformedJSON, apierr.MissingField, apierr.InvalidField:
			default:
				t.Fatalf("item %d: error code %s: %v", i, ae.Code, it.Err)
			}
		}
		if b.Kind == KindBare && !isBareJSON(d.Body) {
			t.Fatalf("bare Body %q is not a callback body", d.Body)
		}
	}
}
