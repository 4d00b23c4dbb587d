package msrptest

import (
	"bytes"
	"testing"
	"time"

	"github.com/parley-im/parley/msrp"
)

var (
	alice = msrp.MustParseURI("msrp://alice.example.com:7777/aaaa1111;tcp")
	room  = msrp.MustParseURI("msrp://chat.example.com:2855/rrrr2222;tcp")
)

// TestPipeTranscript plays both ends: the code under test is a tiny echo
// loop that answers 200 and sends one SEND back.
func TestPipeTranscript(t *testing.T) {
	peer, other := Pipe(t, alice)
	defer peer.Close()
	done := make(chan error, 1)
	go func() { // the "server": bounded to the two requests of this test
		defer other.Close()
		r := msrp.NewReader(other, msrp.Limits{})
		for range 2 {
			m, err := r.ReadMessage()
			if err != nil {
				done <- err
				return
			}
			if _, err := m.Response(msrp.StatusOK, "").WriteTo(other); err != nil {
				done <- err
				return
			}
		}
		_, err := Send(alice, room, "text/plain", []byte("hi back")).WriteTo(other)
		done <- err
	}()

	b := Bodiless(room, alice)
	peer.Send(b)
	peer.ExpectResponse(b.TID, 200)
	s := Send(room, alice, "message/cpim", CPIM("sip:alice@example.com", "sip:room@example.com", "hello"))
	peer.Send(s)
	resp := peer.ExpectResponse(s.TID, 200)
	if resp.Header.Get(msrp.HeaderToPath) != alice.String() {
		t.Errorf("response To-Path %q", resp.Header.Get(msrp.HeaderToPath))
	}
	in := peer.Expect()
	if string(in.Body) != "hi back" {
		t.Errorf("got %s", Describe(in))
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	peer.ExpectClosed()
}

func TestExpectSilence(t *testing.T) {
	peer, other := Pipe(t, alice)
	defer peer.Close()
	defer other.Close()
	start := time.Now()
	peer.ExpectSilence(30 * time.Millisecond)
	if time.Since(start) < 30*time.Millisecond {
		t.Error("ExpectSilence returned early")
	}
}

func TestBuildersValidate(t *testing.T) {
	for _, m := range []*msrp.Message{
		Send(room, alice, "text/plain", []byte("x")),
		Bodiless(room, alice),
		Nickname(room, alice, `Alice "the great"`),
		Report(alice, room, "mid12345", 200, msrp.ByteRange{Start: 1, End: 1, Total: 1}),
	} {
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", Describe(m), err)
		}
	}
	n, _, err := Nickname(room, alice, `Alice "the great"`).Nickname()
	if err != nil || n != `Alice "the great"` {
		t.Errorf("nickname %q %v", n, err)
	}
}

// TestRecorder: messages written in arbitrary pieces are all recovered.
func TestRecorder(t *testing.T) {
	var wire []byte
	var want []*msrp.Message
	for i := range 20 {
		m := Send(room, alice, "text/plain", bytes.Repeat([]byte("y"), i*300))
		want = append(want, m)
		wire = append(wire, m.Bytes()...)
	}
	var r Recorder
	for len(wire) > 0 {
		n := min(len(wire), 777)
		if _, err := r.Write(wire[:n]); err != nil {
			t.Fatal(err)
		}
		wire = wire[n:]
	}
	got := r.Messages()
	if len(got) != len(want) || r.Pending() != 0 || r.Err() != nil {
		t.Fatalf("got %d messages, pending %d, err %v", len(got), r.Pending(), r.Err())
	}
	for i := range want {
		if got[i].TID != want[i].TID || !bytes.Equal(got[i].Body, want[i].Body) {
			t.Fatalf("message %d differs", i)
		}
	}
	if _, err := r.Write([]byte("garbage\r\n")); err == nil {
		t.Error("garbage accepted")
	}
}
