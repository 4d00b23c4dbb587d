// Package msrptest provides test doubles for code that speaks MSRP: a Peer
// that plays the far end of a connection (over net.Pipe or a real socket)
// with send/expect calls that read like a wire transcript, builders for the
// usual requests, and a Recorder that parses whatever is written to it.
//
// Nothing here starts a goroutine: a Peer reads only inside Expect calls,
// bounded by a deadline, so a test that forgets to read cannot leak one.
package msrptest
