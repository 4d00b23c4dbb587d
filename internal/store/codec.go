package store

import (
	"encoding/binary"
	"errors"
	"time"
)

// frameVersion is the first octet of every stored message (see doc.go for
// the layout). A reader that finds another value refuses the message.
const frameVersion = 1

// frameHeaderMax is the most octets a frame adds to the sender and body.
const frameHeaderMax = 1 + 8 + binary.MaxVarintLen64

// appendFrame appends m's stored form to dst: version octet, Received as
// Unix nanoseconds (big-endian int64, 0 for the zero time), the sender's
// length as a uvarint, the sender, then the body as it is.
func appendFrame(dst []byte, m *Message) []byte {
	dst = append(dst, frameVersion)
	var ns int64
	if !m.Received.IsZero() {
		ns = m.Received.UnixNano()
	}
	dst = binary.BigEndian.AppendUint64(dst, uint64(ns))
	dst = binary.AppendUvarint(dst, uint64(len(m.Sender)))
	dst = append(dst, m.Sender...)
	return append(dst, m.Body...)
}

var errFrame = errors.New("store: malformed stored message")

// parseFrame fills m from a stored frame. m.Body aliases data (callers hand
// it a buffer nobody else keeps).
func parseFrame(data []byte, m *Message) error {
	if len(data) < 1+8+1 {
		return errFrame
	}
	if data[0] != frameVersion {
		return ErrFormat
	}
	ns := int64(binary.BigEndian.Uint64(data[1:9]))
	n, w := binary.Uvarint(data[9:])
	if w <= 0 || n > uint64(len(data)-9-w) {
		return errFrame
	}
	off := 9 + w
	if ns != 0 {
		m.Received = time.Unix(0, ns)
	} else {
		m.Received = time.Time{}
	}
	m.Sender = string(data[off : off+int(n)])
	m.Body = data[off+int(n):]
	return nil
}
