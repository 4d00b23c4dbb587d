// Package tlsrecord is the TCP connection as crypto/tls.Conn sees it when
// its read loop waits for input on the socket itself, between messages,
// instead of inside tls.Conn.Read (on the smallest stack, or parked with
// no goroutine at all: issue 20).
//
// Waiting on the socket is sound only when tls.Conn holds no input the
// socket no longer shows. tls.Conn keeps two kinds: decrypted octets of a
// record that did not fit its caller's buffer (none when its last Read
// returned less than asked), and ciphertext of further records it read
// from the socket together with the one it needed (it reads as much as
// the socket has). Reader rules out the second kind: each Read hands
// tls.Conn octets of one record at most (RFC 8446 §5.1, RFC 5246
// §6.2.1), and keeps what a read from the socket brought past the
// record's end for the next Read.
//
// It starts no goroutines and holds no buffer between records unless a
// read brought octets of the next one.
package tlsrecord

import "net"

// ErrBoundary is what Read returns when BeforeRead refuses a read of the
// socket at a record boundary: the caller's read loop would rather wait
// for input on the socket itself. It is a temporary timeout (net.Error),
// so tls.Conn returns it from Read as it is, keeping no lasting error.
var ErrBoundary error = boundaryError{}

type boundaryError struct{}

func (boundaryError) Error() string   { return "tlsrecord: no input at a record boundary" }
func (boundaryError) Timeout() bool   { return true }
func (boundaryError) Temporary() bool { return true }

// HeaderLen is the length of a TLS record header: type, version, length.
const HeaderLen = 5

// Buffers lends a Reader the buffers it keeps octets of a next record in.
// Every buffer Get returns is Size octets long.
type Buffers interface {
	Get() []byte
	Put(b []byte)
}

// Reader is the TCP connection under a tls.Conn. Only the tls.Conn calls
// Read (on its reading goroutine); the read loop that waited on the
// socket gives it what it read there (Give), on the same goroutine.
type Reader struct {
	net.Conn
	Bufs Buffers
	Size int // the length of every buffer Bufs lends

	// BeforeRead, if set, is called before each read of the socket, on
	// the reading goroutine: mid reports that a record has begun (some of
	// it was handed over), else the read would begin the next record.
	// The caller may set the socket's read deadline for that read (a
	// record begun is input begun); an error it returns is returned by
	// Read instead of reading (ErrBoundary, at a record boundary).
	BeforeRead func(mid bool) error

	stash []byte // read from the socket, not yet handed over
	sbuf  []byte // the lent buffer under stash
	hdr   [HeaderLen]byte
	hn    int    // header octets of the current record handed over
	left  int    // body octets of the current record still to hand over (hn complete)
	begun uint64 // records begun (Records)
}

// Records returns how many records have begun to be handed over: a
// caller that times a record (BeforeRead with mid set) tells by it
// whether it is still the one it timed.
func (r *Reader) Records() uint64 { return r.begun }

// Pending reports whether octets read from the socket are still to be
// handed over, or the tls.Conn is in the middle of a record: then the
// socket does not show all there is to read.
func (r *Reader) Pending() bool { return len(r.stash) > 0 || r.hn != 0 }

// Give makes b, a buffer lent by Bufs holding octets read from the
// socket, the next octets handed over. b goes back to Bufs when they
// have been.
func (r *Reader) Give(b []byte) {
	if len(b) == 0 {
		r.Bufs.Put(b)
		return
	}
	r.sbuf, r.stash = b, b
}

// Read hands over the next octets, never past the end of the record they
// belong to.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(r.stash) > 0 {
		n := r.advance(r.stash[:min(len(p), len(r.stash))])
		copy(p, r.stash[:n])
		r.stash = r.stash[n:]
		if len(r.stash) == 0 {
			r.Bufs.Put(r.sbuf)
			r.sbuf, r.stash = nil, nil
		}
		return n, nil
	}
	// Inside a record's body, read no further than its end; otherwise at
	// most a buffer's worth, so that what lies past the record's end
	// fits one.
	m := min(len(p), r.Size)
	if r.hn == HeaderLen {
		m = min(len(p), r.left)
	}
	if r.BeforeRead != nil {
		if err := r.BeforeRead(r.hn != 0); err != nil {
			return 0, err
		}
	}
	n, err := r.Conn.Read(p[:m])
	if n <= 0 {
		return n, err
	}
	k := r.advance(p[:n])
	if k < n {
		r.sbuf = r.Bufs.Get()
		r.stash = r.sbuf[:copy(r.sbuf, p[k:n])]
	}
	return k, err
}

// advance moves the record cursor over the first octets of b that belong
// to the current record and returns how many that is (at least one when b
// is not empty).
func (r *Reader) advance(b []byte) int {
	i := 0
	for r.hn < HeaderLen {
		if i == len(b) {
			return i
		}
		if r.hn == 0 {
			r.begun++
		}
		r.hdr[r.hn] = b[i]
		r.hn++
		i++
		if r.hn == HeaderLen {
			r.left = int(r.hdr[3])<<8 | int(r.hdr[4])
		}
	}
	k := min(r.left, len(b)-i)
	r.left -= k
	if r.left == 0 {
		r.hn = 0
	}
	return i + k
}
