// Package sipend holds what a sipgo user agent needs to end without
// leaving a socket or a goroutine behind (the client's agent, parleyd's
// SIP side). sipgo opens a connection, with a reader goroutine, whenever
// its pool has none for a peer it must write to — also from goroutines
// started for a request read just before the end, which nothing can wait
// for. Before anything closes, the owner puts a Tombstone in the UDP and
// WSS pools at every address such a goroutine could look up, after its
// UDP reader is done with what it read (PacketWatch.Settle): a late
// lookup then finds the tombstone and opens nothing.
package sipend

import (
	"context"
	"net"
	"net/netip"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// Tombstone is the connection a stopped user agent's pools hold for the
// peers it heard from: it writes nothing (Err), has no reader and nothing
// to close, and no reference count that could make the pool drop it.
type Tombstone struct {
	Addr net.Addr // its local address: the listener's
	Err  error    // what a write returns
}

func (t *Tombstone) LocalAddr() net.Addr        { return t.Addr }
func (t *Tombstone) WriteMsg(sip.Message) error { return t.Err }
func (t *Tombstone) Ref(int) int                { return 1 }
func (t *Tombstone) TryClose() (int, error)     { return 1, nil }
func (t *Tombstone) Close() error               { return nil }

// PacketWatch is a UDP listener as sipgo's reader reads it: it tells its
// owner when the reader is done with what it read — back in ReadFrom, or
// gone — so that it adds no source to the pool over a tombstone, and,
// when asked to, records where datagrams came from. Only that reader
// calls ReadFrom.
type PacketWatch struct {
	net.PacketConn
	mu      sync.Mutex
	cond    sync.Cond
	reading bool // the reader is in ReadFrom
	gone    bool // ReadFrom failed, or Finish was called
	last    netip.AddrPort
	heard   map[netip.AddrPort]struct{} // every source read from; nil: not recorded
}

// Watch wraps pc; with sources, it records every source read from.
func Watch(pc net.PacketConn, sources bool) *PacketWatch {
	w := &PacketWatch{PacketConn: pc}
	if sources {
		w.heard = make(map[netip.AddrPort]struct{})
	}
	w.cond.L = &w.mu
	return w
}

func (w *PacketWatch) ReadFrom(b []byte) (int, net.Addr, error) {
	w.mu.Lock()
	w.reading = true
	w.cond.Broadcast()
	w.mu.Unlock()
	n, addr, err := w.PacketConn.ReadFrom(b)
	w.mu.Lock()
	w.reading = false
	if err != nil {
		w.gone = true
		w.cond.Broadcast()
	} else if ua, ok := addr.(*net.UDPAddr); ok && w.heard != nil {
		if ap := ua.AddrPort(); ap != w.last {
			w.heard[ap] = struct{}{}
			w.last = ap
		}
	}
	w.mu.Unlock()
	return n, addr, err
}

// Finish is called when the serve loop (ServeUDP) has returned.
func (w *PacketWatch) Finish() {
	w.mu.Lock()
	w.gone = true
	w.cond.Broadcast()
	w.mu.Unlock()
}

// Settle waits until the reader is in ReadFrom or gone, or ctx ends.
func (w *PacketWatch) Settle(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() {
		w.mu.Lock()
		w.cond.Broadcast()
		w.mu.Unlock()
	})
	defer stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	for !w.reading && !w.gone && ctx.Err() == nil {
		w.cond.Wait()
	}
}

// Sources are the sources read from (Watch with sources), as sipgo's pool
// keys them (net.UDPAddr.String).
func (w *PacketWatch) Sources() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	keys := make([]string, 0, len(w.heard))
	for ap := range w.heard {
		keys = append(keys, net.UDPAddrFromAddrPort(ap).String())
	}
	return keys
}
