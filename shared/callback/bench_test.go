package callback

import "testing"

// BenchmarkDecode decodes each fixture.
func BenchmarkDecode(b *testing.B) {
	for _, name := range allFixtures() {
		body := readFixture(b, name+".json")
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := Decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIdentity computes the identity of the largest seed fixture.
func BenchmarkIdentity(b *testing.B) {
	body := readFixture(b, "vod-transcode-complete.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Identity(body); err != nil {
			b.Fatal(err)
		}
	}
}
