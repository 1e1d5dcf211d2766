package trigger

import (
	"testing"
)

// BenchmarkUnwrap measures Unwrap on every fixture.
func BenchmarkUnwrap(b *testing.B) {
	for _, fx := range fixtures() {
		payload := fx.build(b)
		b.Run(fx.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				_, _ = Unwrap(payload)
			}
		})
	}
}
