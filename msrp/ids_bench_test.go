package msrp

import "testing"

// BenchmarkAppendID: one transaction id, as the switch draws one per copy
// of a message (issue 20).
func BenchmarkAppendID(b *testing.B) {
	var s IDSource
	buf := make([]byte, 0, TIDLength)
	b.ReportAllocs()
	for b.Loop() {
		buf = s.AppendID(buf[:0], TIDLength)
	}
}
