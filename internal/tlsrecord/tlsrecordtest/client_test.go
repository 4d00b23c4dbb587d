package tlsrecordtest

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/certs"
)

// Injected records are sealed so that the server reads them in sequence
// with the client's own: an empty record is skipped, data comes in order.
func TestInject(t *testing.T) {
	st, _, err := certs.SelfSigned(t.TempDir(), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", st.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(io.LimitReader(c, 3))
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(b)
	}()
	c, err := Dial(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.Raw().(*net.TCPConn); !ok {
		t.Fatalf("Raw is %T", c.Raw())
	}
	if _, err := c.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() error{
		func() error { return c.Inject(ApplicationData, nil) },
		func() error { return c.Inject(ApplicationData, []byte("b")) },
		func() error { _, err := c.Write([]byte("c")); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if s := <-got; s != "abc" {
		t.Fatalf("the server read %q, want abc", s)
	}
}
