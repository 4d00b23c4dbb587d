package sipend

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"
)

// TestPacketWatch: the watch records where datagrams came from (only when
// asked to), keyed as sipgo keys its pool; Settle returns once the reader
// is back in ReadFrom, once it is gone, or when its context ends.
func TestPacketWatch(t *testing.T) {
	for _, record := range []bool{true, false} {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		w := Watch(pc, record)
		peer, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := peer.WriteTo([]byte("x"), pc.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { // the reader: one datagram, then back in ReadFrom until closed
			defer close(done)
			buf := make([]byte, 16)
			for {
				if _, _, err := w.ReadFrom(buf); err != nil {
					return
				}
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		deadline := time.Now().Add(5 * time.Second)
		for record && len(w.Sources()) == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		w.Settle(ctx) // the reader is back in ReadFrom
		got := w.Sources()
		if want := peer.LocalAddr().String(); record && !slices.Equal(got, []string{want}) {
			t.Errorf("sources %q, want [%s]", got, want)
		} else if !record && len(got) != 0 {
			t.Errorf("sources %q recorded without being asked", got)
		}
		pc.Close()
		<-done
		w.Settle(ctx) // gone
		cancel()
		peer.Close()
	}
	// Nobody reads: Settle ends with its context.
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	Watch(pc, false).Settle(ctx)
	if ctx.Err() == nil {
		t.Error("Settle returned with nobody reading and its context alive")
	}
}

// TestTombstone: a tombstone writes nothing, and nothing makes a pool
// close or drop it.
func TestTombstone(t *testing.T) {
	stopped := errors.New("stopped")
	ts := &Tombstone{Addr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060}, Err: stopped}
	if err := ts.WriteMsg(nil); !errors.Is(err, stopped) {
		t.Errorf("WriteMsg: %v", err)
	}
	if n, err := ts.TryClose(); n <= 0 || err != nil || ts.Ref(-5) <= 0 || ts.Close() != nil {
		t.Error("a tombstone can be released")
	}
}
