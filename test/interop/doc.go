// Package interop holds tests that drive the real parleyd binary with
// third-party software: sipp (Debian package sip-tester) joins and loads
// rooms, and a whole chat session is captured live on the loopback
// interface with dumpcap and decoded by tshark (package tshark, which
// brings dumpcap; capturing needs root or CAP_NET_RAW). They need the tools
// on PATH: .ci/run installs them; without them the tests fail in CI (CI
// set) and are skipped elsewhere.
package interop
