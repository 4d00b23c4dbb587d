package relay

import (
	"bytes"
	"testing"
)

// Buffers that go on where the previous one ended (copies framed one after
// another into an arena) share an iovec; others get their own, up to
// IOV_MAX.
func TestFillIovecsJoinsAdjacent(t *testing.T) {
	c := &conn{wiov: new(iovecs)}
	arena := make([]byte, 100)
	other := make([]byte, 7)
	batch := [][]byte{arena[0:10], arena[10:30], nil, other, arena[30:40], arena[50:60], arena[60:100]}
	if n := c.fillIovecs(batch); n != 4 {
		t.Fatalf("%d iovecs, want 4", n)
	}
	for i, want := range []int{30, 7, 10, 50} {
		if got := int(c.wiov[i].Len); got != want {
			t.Errorf("iovec %d: %d octets, want %d", i, got, want)
		}
	}
	if c.wiov[0].Base != &arena[0] || c.wiov[1].Base != &other[0] || c.wiov[3].Base != &arena[50] {
		t.Error("iovecs do not start where their buffers do")
	}

	backing := make([]byte, 5000)
	batch = batch[:0]
	for i := range len(backing) {
		batch = append(batch, backing[i:i+1])
	}
	if n := c.fillIovecs(batch); n != 1 || c.wiov[0].Len != 5000 {
		t.Fatalf("5,000 adjacent buffers: %d iovecs, the first of %d octets", n, c.wiov[0].Len)
	}
	batch = batch[:0]
	for i := 0; i+1 < len(backing); i += 2 {
		batch = append(batch, backing[i:i+1]) // a gap after each
	}
	if n := c.fillIovecs(batch); n != maxIovecs {
		t.Fatalf("2,500 separate buffers: %d iovecs, want IOV_MAX (%d)", n, maxIovecs)
	}
}

// writeBuffers writes a batch mixing adjacent and separate buffers, larger
// than the socket buffer (partial writes that end inside a joined iovec),
// in order.
func TestWriteBuffersAdjacent(t *testing.T) {
	backing := make([]byte, 0, 1<<20)
	var batch, want [][]byte
	for i := range 4000 {
		chunk := bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%300)
		want = append(want, chunk)
		if i%7 == 0 {
			batch = append(batch, chunk) // a buffer of its own
			continue
		}
		at := len(backing)
		backing = append(backing, chunk...)
		batch = append(batch, backing[at:len(backing):len(backing)])
	}
	checkWriteBuffers(t, batch, bytes.Join(want, nil))
}
