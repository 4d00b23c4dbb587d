package msrp

import (
	"io"
	"net"
	"strconv"
	"strings"
)

// AppendHead appends m's start line, its header fields and, when m has a
// body, the blank line that separates them from it. Fields are written in
// the order RFC 4975 §7.1 asks for: To-Path, From-Path, the other fields in
// their order, the MIME fields, and Content-Type last.
func (m *Message) AppendHead(dst []byte) []byte {
	dst = append(dst, "MSRP "...)
	dst = append(dst, m.TID...)
	dst = append(dst, ' ')
	if m.IsRequest() {
		dst = append(dst, m.Method...)
	} else {
		dst = strconv.AppendInt(dst, int64(m.Code), 10)
		if m.Comment != "" {
			dst = append(dst, ' ')
			dst = append(dst, m.Comment...)
		}
	}
	dst = append(dst, "\r\n"...)
	// Place fields by index, so that nothing is lost even when a message
	// read from the wire repeats a header.
	h := m.Header
	to, from, ct := h.index(HeaderToPath), h.index(HeaderFromPath), h.index(HeaderContentType)
	for _, i := range [2]int{to, from} {
		if i >= 0 {
			dst = appendField(dst, canonicalName(h[i].Name), h[i].Value)
		}
	}
	for pass := range 2 {
		for i, f := range h {
			if i == to || i == from || isContentType(f.Name) || isMIMEHeader(f.Name) != (pass == 1) {
				continue
			}
			dst = appendField(dst, canonicalName(f.Name), f.Value)
		}
	}
	if ct >= 0 {
		// Content-Type last (RFC 4975 §9); a repeated one, read from the
		// wire, after it in its order, so that reading the result back
		// finds the same first Content-Type.
		for _, f := range h {
			if isContentType(f.Name) {
				dst = appendField(dst, HeaderContentType, f.Value)
			}
		}
		dst = append(dst, "\r\n"...)
	}
	return dst
}

func isName(name, want string) bool {
	return len(name) == len(want) && (name == want || hasPrefixFold(name, want))
}

func appendField(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// canonicalName returns the registered spelling of a known header name, so
// that a message read with odd capitalisation is written canonically.
func canonicalName(name string) string {
	for _, known := range [...]string{HeaderToPath, HeaderFromPath, HeaderMessageID, HeaderByteRange,
		HeaderSuccessReport, HeaderFailureReport, HeaderStatus, HeaderContentType, HeaderUseNickname} {
		if isName(name, known) {
			return known
		}
	}
	return name
}

// AppendEnd appends the end-line, preceded by the CRLF that closes a body
// when m has one.
func (m *Message) AppendEnd(dst []byte) []byte {
	if m.HasBody() {
		dst = append(dst, "\r\n"...)
	}
	return appendEndLine(dst, m.TID, m.EndFlag())
}

func appendEndLine[T string | []byte](dst []byte, tid T, flag byte) []byte {
	dst = append(dst, endLineDashes...)
	dst = append(dst, tid...)
	return append(dst, flag, '\r', '\n')
}

// AppendTo appends the whole message to dst.
func (m *Message) AppendTo(dst []byte) []byte {
	dst = m.AppendHead(dst)
	dst = append(dst, m.Body...)
	return m.AppendEnd(dst)
}

// Bytes returns the wire form of m.
func (m *Message) Bytes() []byte { return m.AppendTo(make([]byte, 0, 256+len(m.Body))) }

// WriteTo writes m to w as head, body and end-line; on a *net.TCPConn this is
// one writev without copying the body.
func (m *Message) WriteTo(w io.Writer) (int64, error) {
	scratch := make([]byte, 0, 256)
	scratch = m.AppendHead(scratch)
	head := len(scratch)
	scratch = m.AppendEnd(scratch)
	bufs := net.Buffers{scratch[:head:head], m.Body, scratch[head:]}
	return bufs.WriteTo(w)
}

// Envelope is the per-recipient header of an outgoing SEND chunk: what the
// MSRP switch writes in front of a body it relays. Everything that varies per
// chunk (transaction id, Byte-Range, flag) is an argument of AppendFrame, so
// one Envelope per recipient serves a whole message, and framing a chunk
// allocates nothing once dst has grown to size.
type Envelope struct {
	ToPath        string // formatted To-Path value (see FormatPath)
	FromPath      string // formatted From-Path value
	MessageID     string
	SuccessReport string // "yes", "no", or "" to omit
	FailureReport string // "yes", "no", "partial", or "" to omit
	ContentType   string // "" for a bodiless SEND
	Extra         Header // further fields, written before Content-Type
	// TIDPrefix starts every transaction id AppendFrame draws (the random
	// part follows), so that a response can be traced back to what the
	// frame belongs to. It must be ALPHANUM followed by ident characters,
	// at most 32-TIDLength octets (an ident is at most 32); "" for none.
	TIDPrefix string
	// Middle, when not nil, is what AppendMiddle renders of the fields
	// above (Message-ID through Content-Type and the blank line) for one
	// Byte-Range: AppendFrame writes it as is instead, and its br is then
	// not used. The copies of one chunk to many recipients differ only in
	// their paths and transaction id, so that they share one rendering
	// (issue 20: formatting those fields per copy was ~8 % of a fan-out's
	// CPU).
	Middle []byte
}

// Frame is one framed chunk: write net.Buffers{Head, body, End}. Head, End
// and TID alias the dst given to AppendFrame.
type Frame struct {
	Head []byte // start line, headers and blank line
	End  []byte // CRLF (when there is a body) and the end-line
	TID  []byte // the transaction id chosen for this chunk
}

// FrameSize is the most octets AppendFrame appends for e (whatever the
// Byte-Range and flag): the capacity to give a buffer for one frame, so
// that framing allocates once.
func (e *Envelope) FrameSize() int {
	const byteRange = 3*20 + 2 // three int64s, "-" and "/"
	tid := len(e.TIDPrefix) + TIDLength
	n := len("MSRP ") + tid + len(" SEND\r\n")
	n += len(HeaderToPath) + len(e.ToPath) + len(HeaderFromPath) + len(e.FromPath) + 8
	n += len(HeaderMessageID) + len(e.MessageID) + 4
	n += len(HeaderByteRange) + byteRange + 4
	n += len(HeaderSuccessReport) + len(e.SuccessReport) + len(HeaderFailureReport) + len(e.FailureReport) + 8
	for _, f := range e.Extra {
		n += len(f.Name) + len(f.Value) + 4
	}
	n += len(HeaderContentType) + len(e.ContentType) + 4 + 2 // and the blank line
	return n + 2 + len(endLineDashes) + tid + 3              // CRLF, end-line
}

// AppendFrame appends the head and end-line of one SEND chunk to dst, with a
// fresh transaction id drawn from ids, the given Byte-Range and end-line
// flag. It returns the extended dst and the Frame slicing it.
func (e *Envelope) AppendFrame(dst []byte, ids *IDSource, br ByteRange, flag byte) ([]byte, Frame) {
	start := len(dst)
	dst, headEnd := e.AppendChunk(dst, ids, br, flag)
	tidAt := start + len("MSRP ")
	tidEnd := tidAt + len(e.TIDPrefix) + TIDLength
	return dst, Frame{
		Head: dst[start:headEnd:headEnd],
		End:  dst[headEnd:len(dst):len(dst)],
		TID:  dst[tidAt:tidEnd:tidEnd],
	}
}

// AppendChunk is AppendFrame for a caller that slices dst itself: it
// returns the extended dst and where the head ends in it (the end-line
// follows, to the end of dst). Its results fit in registers: the relay's
// batched fan-out calls it for every copy, and taking AppendFrame's Frame
// back through memory cost it a few percent of its time.
func (e *Envelope) AppendChunk(dst []byte, ids *IDSource, br ByteRange, flag byte) ([]byte, int) {
	dst = append(dst, "MSRP "...)
	tidAt := len(dst)
	dst = append(dst, e.TIDPrefix...)
	dst = ids.AppendID(dst, TIDLength)
	tidEnd := len(dst)
	dst = append(dst, " SEND\r\n"...)
	dst = appendField(dst, HeaderToPath, e.ToPath)
	dst = appendField(dst, HeaderFromPath, e.FromPath)
	if e.Middle != nil {
		dst = append(dst, e.Middle...)
	} else {
		dst = e.AppendMiddle(dst, br)
	}
	headEnd := len(dst)
	if e.ContentType != "" {
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, endLineDashes...)
	dst = append(dst, dst[tidAt:tidEnd]...)
	dst = append(dst, flag, '\r', '\n')
	return dst, headEnd
}

// AppendMiddle appends the fields of a SEND chunk that follow From-Path,
// with the Byte-Range br, through the blank line that ends the header
// section when there is a body: what AppendFrame writes there, and what
// Middle may hold.
func (e *Envelope) AppendMiddle(dst []byte, br ByteRange) []byte {
	if e.MessageID != "" {
		dst = appendField(dst, HeaderMessageID, e.MessageID)
	}
	dst = append(dst, HeaderByteRange...)
	dst = append(dst, ": "...)
	dst = br.AppendTo(dst)
	dst = append(dst, "\r\n"...)
	if e.SuccessReport != "" {
		dst = appendField(dst, HeaderSuccessReport, e.SuccessReport)
	}
	if e.FailureReport != "" {
		dst = appendField(dst, HeaderFailureReport, e.FailureReport)
	}
	for _, f := range e.Extra {
		dst = appendField(dst, f.Name, f.Value)
	}
	if e.ContentType != "" {
		dst = appendField(dst, HeaderContentType, e.ContentType)
		dst = append(dst, "\r\n"...)
	}
	return dst
}

func isContentType(name string) bool { return strings.EqualFold(name, HeaderContentType) }
