package relay

import "io"

// coalescer gathers a batch's small slices into one pooled buffer and
// hands it to w in one Write when it is full (or at flush), so that a
// transport without writev (TLS, WebSocket) makes few records and system
// calls; a slice of tlsDirect octets or more goes out as it is, uncopied.
// It counts the batch's own octets written (wrote), not what the transport
// adds around them (a WebSocket frame header, see reserve).
type coalescer struct {
	w       io.Writer
	buf     []byte // borrowed from the server's pool for one batch
	pending int64  // batch octets in buf
	wrote   int64  // batch octets written to w
}

// add writes b, or copies it into the buffer.
func (k *coalescer) add(b []byte) error {
	if len(b) >= tlsDirect {
		if err := k.flush(); err != nil {
			return err
		}
		n, err := k.w.Write(b)
		k.wrote += int64(n)
		return err
	}
	for len(b) > 0 {
		n := copy(k.buf[len(k.buf):cap(k.buf)], b)
		k.buf, b = k.buf[:len(k.buf)+n], b[n:]
		k.pending += int64(n)
		if len(k.buf) == cap(k.buf) {
			if err := k.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// reserve makes room for n octets of the transport's own (a WebSocket
// frame header, appended to buf by the caller and not counted as batch
// octets), flushing first if the buffer has less free.
func (k *coalescer) reserve(n int) error {
	if cap(k.buf)-len(k.buf) < n {
		return k.flush()
	}
	return nil
}

// flush writes what the buffer holds.
func (k *coalescer) flush() error {
	if len(k.buf) == 0 {
		return nil
	}
	_, err := k.w.Write(k.buf)
	if err == nil {
		k.wrote += k.pending
	}
	k.buf, k.pending = k.buf[:0], 0
	return err
}
