// Package server wires parleyd together: the SIP listeners and the focus
// (internal/focus on sipgo), the MSRP switch (internal/relay) and the room
// registry (internal/room), from a config.Config.
//
// Lifecycle: New binds every listener, so Addrs is known before Run (tests
// use port 0). Run serves until its context ends, then shuts down: the focus
// sends BYE to every participant, the switch closes its sessions and
// connections, the SIP listeners close; the whole is bounded by the
// configured shutdown timeout. Shutdown is idempotent.
//
// Goroutines started here: the MSRP accept loop (relay.Server.Serve) and
// one sipgo Serve loop per SIP listener; each ends when its listener closes
// in Shutdown, which waits for them.
package server
