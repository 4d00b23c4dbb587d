// Package interop holds tests that drive the real parleyd binary with
// third-party SIP software (sipp, Debian package sip-tester). They need
// the tools on PATH: .ci/run installs them; without them the tests fail in
// CI (CI set) and are skipped elsewhere.
package interop
