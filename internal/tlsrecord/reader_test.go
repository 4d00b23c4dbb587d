package tlsrecord

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/certs"
)

// countBufs lends fresh buffers and counts those not given back.
type countBufs struct {
	size int
	out  int
}

func (c *countBufs) Get() []byte { c.out++; return make([]byte, c.size) }
func (c *countBufs) Put(b []byte) {
	if len(b) != 0 || cap(b) != 0 {
		c.out--
	}
}

// chunkConn reads data at most step octets at a time, then io.EOF.
type chunkConn struct {
	net.Conn
	data []byte
	step int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.step)], c.data)
	c.data = c.data[n:]
	return n, nil
}

// A Reader hands over one record at most per Read, whatever the socket
// returns at once, loses or reorders nothing, and gives back every buffer
// it borrowed.
func TestReadOneRecordAtATime(t *testing.T) {
	var stream []byte
	var ends []int // offsets where records end
	for i := range 200 {
		size := (i * 97) % 700
		if i%50 == 7 {
			size = 16<<10 + 256 // the largest ciphertext of a full record
		}
		if i == 3 {
			size = 0
		}
		stream = append(stream, 23, 3, 3, byte(size>>8), byte(size))
		for j := range size {
			stream = append(stream, byte(i+j))
		}
		ends = append(ends, len(stream))
	}
	for _, step := range []int{1, 3, 5, 6, 100, 4096, 1 << 20} {
		bufs := &countBufs{size: 4096}
		r := &Reader{Conn: &chunkConn{data: stream, step: step}, Bufs: bufs, Size: bufs.size}
		var got []byte
		p := make([]byte, 20000)
		for k := 0; ; k++ {
			n, err := r.Read(p[:1+(k*131)%len(p)])
			// The octets handed over never cross a record's end.
			from := len(got)
			got = append(got, p[:n]...)
			for _, e := range ends {
				if from < e && e < len(got) {
					t.Fatalf("step %d: a read handed over %d..%d, across the record end at %d", step, from, len(got), e)
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, stream) || r.Pending() || bufs.out != 0 {
			t.Fatalf("step %d: %d of %d octets, equal %v, pending %v, buffers out %d", step, len(got), len(stream), bytes.Equal(got, stream), r.Pending(), bufs.out)
		}
		if r.Records() != uint64(len(ends)) {
			t.Fatalf("step %d: Records = %d, want %d", step, r.Records(), len(ends))
		}
	}
}

// Under a real tls.Conn: records that came in one read of the socket are
// kept by the Reader, not by tls.Conn, so Pending says whether the socket
// shows all there is; once tls.Conn has read them all nothing is pending,
// and the next record comes from the socket.
func TestUnderTLSConn(t *testing.T) {
	st, _, err := certs.SelfSigned(t.TempDir(), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(st.Certificate().Leaf)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.SetDeadline(time.Now().Add(10 * time.Second))
	bufs := &countBufs{size: 4096}
	server := Server(b, st.ServerConfig(), bufs, bufs.size)
	rec := &server.Rec
	client := tls.Client(a, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", DynamicRecordSizingDisabled: true})
	shook := make(chan error, 1)
	go func() { shook <- client.Handshake() }()
	if err := server.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-shook; err != nil {
		t.Fatal(err)
	}
	// Three records read from the socket at once by the caller, as a read
	// loop waiting on the socket would, and given to the Reader.
	msgs := []string{"first", "second message", string(bytes.Repeat([]byte("x"), 3000))}
	for _, m := range msgs {
		if _, err := client.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	g := bufs.Get()
	n := 0
	for range msgs {
		if _, err := io.ReadFull(b, g[n:n+HeaderLen]); err != nil {
			t.Fatal(err)
		}
		size := int(g[n+3])<<8 | int(g[n+4])
		if _, err := io.ReadFull(b, g[n+HeaderLen:n+HeaderLen+size]); err != nil {
			t.Fatal(err)
		}
		n += HeaderLen + size
	}
	rec.Give(g[:n])
	p := make([]byte, 8192)
	read := func(want string) {
		t.Helper()
		n, err := server.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(p[:n]) != want {
			t.Fatalf("read %d octets, want %q", n, want[:min(len(want), 20)])
		}
	}
	read(msgs[0])
	if !rec.Pending() || server.Quiet() {
		t.Fatal("the records after the first are not kept by the Reader")
	}
	read(msgs[1])
	read(msgs[2])
	if rec.Pending() || bufs.out != 0 || !server.Quiet() {
		t.Fatalf("after every record: pending %v, buffers out %d, quiet %v", rec.Pending(), bufs.out, server.Quiet())
	}
	// A record the Reader reads from the socket itself.
	if _, err := client.Write([]byte("last")); err != nil {
		t.Fatal(err)
	}
	read("last")
	if rec.Pending() || bufs.out != 0 {
		t.Fatalf("after the last record: pending %v, buffers out %d", rec.Pending(), bufs.out)
	}
}

// BeforeRead is asked before each read of the socket, with mid set inside
// a record; its error is returned without reading.
func TestBeforeRead(t *testing.T) {
	stream := []byte{23, 3, 3, 0, 2, 'h', 'i', 23, 3, 3, 0, 0}
	bufs := &countBufs{size: 4096}
	r := &Reader{Conn: &chunkConn{data: stream, step: 3}, Bufs: bufs, Size: bufs.size}
	var asked []bool
	r.BeforeRead = func(mid bool) error {
		asked = append(asked, mid)
		if !mid {
			return ErrBoundary
		}
		return nil
	}
	p := make([]byte, 64)
	if n, err := r.Read(p); n != 0 || err != ErrBoundary {
		t.Fatalf("at a boundary: %d, %v; want 0, ErrBoundary", n, err)
	}
	var ne net.Error
	if !errors.As(ErrBoundary, &ne) || !ne.Timeout() {
		t.Fatal("ErrBoundary is not a timeout")
	}
	r.BeforeRead = nil
	if n, err := r.Read(p); n != 3 || err != nil { // 3 octets of the first header
		t.Fatalf("first read: %d, %v", n, err)
	}
	r.BeforeRead = func(mid bool) error { asked = append(asked, mid); return nil }
	got := 3
	for got < 7 {
		n, err := r.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		got += n
	}
	// Inside the first record every ask says mid; the next read, of the
	// second record, begins at a boundary.
	for _, mid := range asked[1:] {
		if !mid {
			t.Fatalf("asked %v: not mid inside the first record", asked)
		}
	}
	if got != 7 || r.Pending() {
		t.Fatalf("%d octets, pending %v: the first record should end a read", got, r.Pending())
	}
	inside := len(asked)
	if n, err := r.Read(p); n == 0 || err != nil {
		t.Fatalf("second record: %d, %v", n, err)
	}
	if len(asked) != inside+1 || asked[inside] {
		t.Fatalf("asked %v: the second record's read should be asked once, at a boundary", asked)
	}
}
