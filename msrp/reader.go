package msrp

import (
	"bytes"
	"errors"
	"io"
	"unicode/utf8"
)

// Limits bound what a Reader accepts. Zero fields take the defaults of
// DefaultLimits.
type Limits struct {
	MaxStartLine   int // longest start line, CRLF included
	MaxHeaderBytes int // longest start line + header section, blank line included
	MaxChunk       int // largest body of one chunk
}

// Default limits.
const (
	DefaultMaxStartLine   = 1024
	DefaultMaxHeaderBytes = 16 << 10
	DefaultMaxChunk       = 1 << 20
)

// DefaultLimits returns the limits used for zero fields.
func DefaultLimits() Limits {
	return Limits{DefaultMaxStartLine, DefaultMaxHeaderBytes, DefaultMaxChunk}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxStartLine <= 0 {
		l.MaxStartLine = d.MaxStartLine
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxChunk <= 0 {
		l.MaxChunk = d.MaxChunk
	}
	if l.MaxStartLine > l.MaxHeaderBytes {
		l.MaxStartLine = l.MaxHeaderBytes
	}
	return l
}

// Reader stages.
const (
	stageStart   = iota // looking for the end of the start line
	stageHeaders        // looking for the blank line or a bodiless end-line
	stageBody           // scanning the body for "\r\n-------<tid>"
	stageDiscard        // body over MaxChunk: dropping bytes until the end-line
)

const (
	initialBufSize = 4 << 10
	endLineDashes  = "-------"
	// longest end-line: CRLF + dashes + 32-octet tid + flag + CRLF
	maxEndLine = 2 + len(endLineDashes) + 32 + 1 + 2
)

// Reader reads MSRP messages from a byte stream (RFC 4975 §9).
//
// It keeps one buffer that starts small and grows up to the size the limits
// allow. It finds the end of a body by scanning for the end-line
// "-------<transaction-id>" and a flag, remembering how far it has searched
// so that no byte is scanned twice, and returns the body as a slice of its
// buffer (no copy). All parse state lives in the Reader, so a read error such
// as a deadline expiry can be retried by calling ReadMessage again.
//
// Errors: io.EOF at a clean message boundary; io.ErrUnexpectedEOF inside a
// message; *SyntaxError, ErrStartLineTooLong and ErrHeaderTooLarge when the
// stream cannot be resynchronised (close the connection); *MessageError when
// the message was framed correctly but is not acceptable (answer it and go
// on reading). Fatal errors are sticky.
//
// Lost framing is detected where it shows (the *SyntaxError then wraps
// ErrEndLineMismatch): an end-line-shaped line of another transaction, or
// this transaction's "-------<tid>" with a flag other than $, + and #, in
// place of a bodiless message's end-line; "-------<tid>" followed by such a
// byte in a body; and another transaction's end-line exactly where a
// numeric Byte-Range range-end says the body ends. Without these checks the
// Reader would wait for an end-line that never comes.
type Reader struct {
	src    io.Reader
	lim    Limits
	maxBuf int

	buf  []byte
	r, w int   // buf[r:w] is unread data; buf[r] is the start of the current message
	off  int64 // stream offset of buf[0]
	err  error // sticky fatal error

	// parse state of the current message, positions relative to r
	stage     int
	scan      int   // next position to examine
	hdrStart  int   // first header line
	bodyStart int   // first body byte
	hdrErr    error // recoverable problem found in the header section
	// declLen is the body length a numeric Byte-Range range-end declares
	// (RFC 4975 §7.1.1), while the bytes where that body would end have
	// not been checked for another transaction's end-line; -1 otherwise.
	declLen int

	pat []byte // "\r\n-------" + tid
	msg Message
}

// Outcomes of step.
const (
	needMore = iota
	gotMessage
	gotOversized
)

// NewReader returns a Reader reading from src with the given limits. Its
// buffer is allocated at the first read.
func NewReader(src io.Reader, lim Limits) *Reader {
	lim = lim.withDefaults()
	return &Reader{
		src:    src,
		lim:    lim,
		maxBuf: lim.MaxHeaderBytes + lim.MaxChunk + maxEndLine,
	}
}

// NewReaderAt is NewReader for a stream of which off bytes have been read
// already, by a Reader this one replaces (Offset): the offsets its errors
// report go on from there.
func NewReaderAt(src io.Reader, lim Limits, off int64) *Reader {
	r := NewReader(src, lim)
	r.off = off
	return r
}

// Offset returns the stream offset of the first byte not yet returned as
// part of a message.
func (r *Reader) Offset() int64 { return r.off + int64(r.r) }

// Limits returns the limits in force.
func (r *Reader) Limits() Limits { return r.lim }

// Buffered returns the number of bytes read from the source but not yet
// returned as part of a message.
func (r *Reader) Buffered() int { return r.w - r.r }

// InMessage reports whether a message has begun and not yet been returned:
// some of it has been read (or is being skipped, for an oversized body).
// Between messages it is false. A caller that waits for input can bound
// the time one message may take with it (the relay's progress timeout).
func (r *Reader) InMessage() bool { return r.w != r.r || r.stage != stageStart }

// BufferSize returns the size of the read buffer (0 when it has none).
func (r *Reader) BufferSize() int { return len(r.buf) }

// ReleaseBuffer lets a Reader that waits between messages give up its
// buffer, so that an idle connection holds none: when nothing is buffered
// and no message is in progress, it detaches the buffer and returns it for
// the caller to recycle (the Reader keeps no reference to it), and the
// next read allocates a new one unless SetBuffer supplies it. Otherwise, or
// when the Reader has no buffer, it returns nil. Like ReadMessage, it ends
// the validity of the last message returned and of its Body.
func (r *Reader) ReleaseBuffer() []byte {
	if r.buf == nil || r.w != r.r || r.stage != stageStart || r.err != nil {
		return nil
	}
	b := r.buf
	r.off += int64(r.r)
	r.buf, r.r, r.w = nil, 0, 0
	// Drop the header strings of the last message too; keep the array.
	clear(r.msg.Header[:cap(r.msg.Header)])
	r.msg = Message{Header: r.msg.Header[:0]}
	return b
}

// SetBuffer gives a Reader without a buffer (new, or after ReleaseBuffer)
// b[:cap(b)] as its buffer, of which the first len(b) bytes are input the
// caller has already read from the source, to be parsed before reading
// more. It does nothing if the Reader has a buffer or cap(b) is 0. b then
// belongs to the Reader until ReleaseBuffer returns it.
func (r *Reader) SetBuffer(b []byte) {
	if r.buf != nil || cap(b) == 0 {
		return
	}
	r.buf, r.r, r.w = b[:cap(b)], 0, len(b)
}

// ReadMessage returns the next message. The Message and its Body are only
// valid until the next call: the Reader reuses both. Header strings stay
// valid. Use Message.Clone to keep a message.
func (r *Reader) ReadMessage() (*Message, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		outcome, end, err := r.step()
		switch {
		case err != nil:
			return r.fail(err)
		case outcome == gotMessage:
			m := r.finish(end)
			if r.hdrErr != nil {
				return nil, &MessageError{Msg: m, Err: r.hdrErr}
			}
			if !m.IsRequest() && m.Flag != FlagEnd {
				return nil, &MessageError{Msg: m, Err: &HeaderError{Reason: "response end-line flag is not $"}}
			}
			return m, nil
		case outcome == gotOversized:
			return nil, &MessageError{Msg: r.finish(end), Err: ErrChunkTooLarge}
		}
		if err := r.fill(); err != nil {
			return r.fail(err)
		}
	}
}

// fail records fatal errors; transient source errors are returned as they are.
func (r *Reader) fail(err error) (*Message, error) {
	var se *SyntaxError
	switch {
	case err == io.EOF:
		if r.w > r.r || r.stage != stageStart {
			err = io.ErrUnexpectedEOF
		}
		r.err = err
	case errors.As(err, &se), errors.Is(err, ErrStartLineTooLong), errors.Is(err, ErrHeaderTooLarge):
		r.err = err
	}
	return nil, err
}

// step advances the parse over the buffered bytes. It reports whether a
// message is complete (and where it ends, relative to r.r), whether more
// input is needed, or a fatal error.
func (r *Reader) step() (outcome, end int, err error) {
	for {
		data := r.buf[r.r:r.w]
		switch r.stage {
		case stageStart:
			nl := bytes.IndexByte(data[r.scan:], '\n')
			if nl < 0 {
				if len(data) >= r.lim.MaxStartLine {
					return needMore, 0, ErrStartLineTooLong
				}
				r.scan = len(data)
				return needMore, 0, nil
			}
			end := r.scan + nl + 1
			if end > r.lim.MaxStartLine {
				return needMore, 0, ErrStartLineTooLong
			}
			if err := r.parseStartLine(data[:end]); err != nil {
				return needMore, 0, err
			}
			r.hdrStart, r.scan, r.stage = end, end, stageHeaders

		case stageHeaders:
			nl := bytes.IndexByte(data[r.scan:], '\n')
			if nl < 0 {
				if len(data) >= r.lim.MaxHeaderBytes {
					return needMore, 0, ErrHeaderTooLarge
				}
				return needMore, 0, nil
			}
			lineStart, lineEnd := r.scan, r.scan+nl+1
			if lineEnd > r.lim.MaxHeaderBytes {
				return needMore, 0, ErrHeaderTooLarge
			}
			line := data[lineStart:lineEnd]
			r.scan = lineEnd
			switch {
			case len(line) == 2 && line[0] == '\r':
				// blank line: the body follows
				r.bodyStart, r.stage = lineEnd, stageBody
			case r.isEndLine(line):
				r.setHeaders(data[:lineStart], false)
				r.msg.Flag = line[len(line)-3]
				return gotMessage, lineEnd, nil
			case line[0] == '-':
				// A header name starts with ALPHA (RFC 4975 §9): a line
				// of dashes can only be an end-line, and not this one.
				switch rel, reason := r.foreignEndLine(line); reason {
				case "":
				case errEndLineNoEOL:
					return needMore, 0, r.syntaxError(lineStart+rel, reason)
				default:
					return needMore, 0, r.framingLost(lineStart+rel, reason)
				}
			case line[0]|0x20 == 'b':
				if n, ok := declaredLength(line, r.lim.MaxChunk-maxEndLine); ok {
					r.declLen = n
				}
			}

		case stageBody:
			i := bytes.Index(data[r.scan:], r.pat)
			if r.declLen >= 0 && (i < 0 || r.scan+i > r.bodyStart+r.declLen) {
				// The body goes on past where Byte-Range ends it, or may.
				if err := r.checkDeclaredEnd(data); err != nil {
					return needMore, 0, err
				}
			}
			if i < 0 {
				// An end-line may begin in the last len(pat)-1 bytes.
				r.scan = max(r.bodyStart, len(data)-len(r.pat)+1)
				if r.scan-r.bodyStart > r.lim.MaxChunk {
					r.startDiscard(data, r.scan)
				}
				return needMore, 0, nil
			}
			at := r.scan + i
			if at-r.bodyStart > r.lim.MaxChunk {
				r.startDiscard(data, at)
				continue
			}
			flagAt := at + len(r.pat)
			if flagAt < len(data) && !isFlag(data[flagAt]) {
				return needMore, 0, r.framingLost(flagAt, errBadFlag)
			}
			if flagAt+3 > len(data) {
				r.scan = at
				return needMore, 0, nil
			}
			if data[flagAt+1] != '\r' || data[flagAt+2] != '\n' {
				return needMore, 0, r.syntaxError(flagAt+1, errEndLineNoEOL)
			}
			r.setHeaders(data[:r.bodyStart-2], true)
			r.msg.Body = data[r.bodyStart:at]
			r.msg.Flag = data[flagAt]
			return gotMessage, flagAt + 3, nil

		case stageDiscard:
			i := bytes.Index(data[r.scan:], r.pat)
			if i >= 0 {
				at := r.scan + i
				flagAt := at + len(r.pat)
				if flagAt < len(data) && !isFlag(data[flagAt]) {
					return needMore, 0, r.framingLost(flagAt, errBadFlag)
				}
				if flagAt+3 > len(data) {
					r.scan = at
					r.dropDiscarded(at)
					return needMore, 0, nil
				}
				if data[flagAt+1] != '\r' || data[flagAt+2] != '\n' {
					return needMore, 0, r.syntaxError(flagAt+1, errEndLineNoEOL)
				}
				r.msg.Flag = data[flagAt]
				return gotOversized, flagAt + 3, nil
			}
			keep := max(0, len(data)-len(r.pat)+1)
			r.scan = keep
			r.dropDiscarded(keep)
			return needMore, 0, nil
		}
	}
}

func isFlag(c byte) bool { return c == FlagEnd || c == FlagContinue || c == FlagAbort }

const (
	errBadFlag      = "end-line flag is not $, + or #"
	errForeignEnd   = "end-line of another transaction"
	errDeclaredEnd  = "end-line of another transaction where Byte-Range ends the body"
	errEndLineNoEOL = "end-line not followed by CRLF"
)

// foreignEndLine examines a header-section line that starts with a dash
// (CRLF included), which cannot be a header field: it reports, with the
// position of the offending byte in line, whether it is this transaction's
// "-------<tid>" with something other than a flag after it, or an end-line
// "-------" ident flag CRLF of another transaction (RFC 4975 §9). Either way
// the stream has lost its framing. reason is "" for any other line (a
// malformed header line: 400 once the end-line comes).
func (r *Reader) foreignEndLine(line []byte) (rel int, reason string) {
	own := r.pat[2:] // "-------<tid>"
	if bytes.HasPrefix(line, own) {
		c := line[len(own)]
		if !isFlag(c) {
			return len(own), errBadFlag
		}
		return len(own) + 1, errEndLineNoEOL // else isEndLine would have taken it
	}
	n := len(line)
	if n < len(endLineDashes)+4 || string(line[:len(endLineDashes)]) != endLineDashes || line[n-2] != '\r' {
		return 0, ""
	}
	if tid := line[len(endLineDashes) : n-3]; isFlag(line[n-3]) && isIdent(tid) {
		return len(endLineDashes), errForeignEnd
	}
	return 0, ""
}

// declaredLength returns the body length that a Byte-Range header line
// (CRLF included) declares with a numeric range-end (RFC 4975 §7.1.1:
// range-end - range-start + 1), when it is at most limit. Any other line,
// range-end "*" or a malformed value gives ok false; Validate judges the
// header later.
func declaredLength(line []byte, limit int) (n int, ok bool) {
	const name = HeaderByteRange + ":"
	if len(line) < len(name) || !bytes.EqualFold(line[:len(name)], []byte(name)) {
		return 0, false
	}
	v := line[len(name):]
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	start, v, ok1 := leadingNumber(v)
	if !ok1 || len(v) == 0 || v[0] != '-' {
		return 0, false
	}
	end, v, ok2 := leadingNumber(v[1:])
	if !ok2 || len(v) == 0 || v[0] != '/' || start < 1 || end < start-1 || end-start+1 > int64(limit) {
		return 0, false
	}
	return int(end - start + 1), true
}

// leadingNumber parses the decimal digits at the start of b (at most
// maxRangeDigits) and returns the rest.
func leadingNumber(b []byte) (n int64, rest []byte, ok bool) {
	i := 0
	for i < len(b) && isDigit(b[i]) {
		if i == maxRangeDigits {
			return 0, b, false
		}
		n = n*10 + int64(b[i]-'0')
		i++
	}
	return n, b[i:], i > 0
}

// checkDeclaredEnd looks at the bytes where the Byte-Range range-end says
// the body ends (relative position bodyStart+declLen), once enough of them
// are buffered: "CRLF -------" ident flag CRLF of another transaction there
// means that the sender ended its chunk with the wrong transaction id, and
// this transaction's end-line is not coming. It examines at most maxEndLine
// bytes, once: declLen is cleared when it has decided.
func (r *Reader) checkDeclaredEnd(data []byte) error {
	p := r.bodyStart + r.declLen
	lead := r.pat[:2+len(endLineDashes)] // CRLF "-------"
	if len(data) < p+len(lead) {
		return nil // not yet buffered
	}
	if !bytes.HasPrefix(data[p:], lead) {
		r.declLen = -1
		return nil
	}
	w := data[p+len(lead):]
	const most = 32 + 1 + 2 // longest ident, flag, CRLF
	nl := bytes.IndexByte(w[:min(len(w), most)], '\n')
	if nl < 0 {
		if len(w) >= most {
			r.declLen = -1
		}
		return nil
	}
	r.declLen = -1
	if nl < 5 || w[nl-1] != '\r' {
		return nil
	}
	tid, flag := w[:nl-2], w[nl-2]
	if isFlag(flag) && isIdent(tid) && !bytes.Equal(tid, r.pat[len(lead):]) {
		return r.framingLost(p+2, errDeclaredEnd)
	}
	return nil
}

// isEndLine reports whether line (CRLF included) is this message's end-line
// without a preceding body.
func (r *Reader) isEndLine(line []byte) bool {
	n := len(r.pat) - 2 // "-------<tid>"
	return len(line) == n+3 && line[n+1] == '\r' && isFlag(line[n]) &&
		bytes.Equal(line[:n], r.pat[2:])
}

// startDiscard switches to dropping the body of an oversized chunk, resuming
// the end-line search at relative position from. The header strings are
// made now, before the bytes they come from are dropped.
func (r *Reader) startDiscard(data []byte, from int) {
	r.setHeaders(data[:r.bodyStart-2], true)
	r.stage = stageDiscard
	r.scan = from
	r.declLen = -1
	r.dropDiscarded(from)
}

// dropDiscarded forgets the buffered bytes before relative position upTo:
// they belong to a body being discarded.
func (r *Reader) dropDiscarded(upTo int) {
	r.r += upTo
	r.scan -= upTo
	r.bodyStart = 0
}

// parseStartLine checks and records "MSRP SP tid SP (method | code [SP comment]) CRLF".
func (r *Reader) parseStartLine(line []byte) error {
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return r.syntaxError(len(line)-1, "start line does not end with CRLF")
	}
	line = line[:len(line)-2]
	if !bytes.HasPrefix(line, []byte("MSRP ")) {
		return r.syntaxError(0, "start line does not begin with \"MSRP \"")
	}
	rest := line[5:]
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 || !isIdent(rest[:sp]) {
		return r.syntaxError(5, "invalid transaction id")
	}
	tid := rest[:sp]
	rest = rest[sp+1:]
	if len(rest) >= 3 && isDigit(rest[0]) && isDigit(rest[1]) && isDigit(rest[2]) {
		if len(rest) > 3 && rest[3] != ' ' {
			return r.syntaxError(6+sp+3, "status code is not three digits")
		}
		if rest[0] == '0' {
			return r.syntaxError(6+sp, "status code below 100")
		}
		for _, c := range rest[3:] {
			if !isUTF8TextByte(c) {
				return r.syntaxError(6+sp, "control character in comment")
			}
		}
	} else {
		if len(rest) == 0 {
			return r.syntaxError(6+sp, "missing method")
		}
		for _, c := range rest {
			if !isUpAlpha(c) {
				return r.syntaxError(6+sp, "method is not upper-case letters")
			}
		}
	}
	r.pat = append(append(append(r.pat[:0], "\r\n"...), endLineDashes...), tid...)
	r.declLen = -1
	return nil
}

// setHeaders converts the start line and header section (data up to and
// including the CRLF of the last header line) to one string, and parses the
// message's start line and fields as substrings of it. This is the one
// allocation a typical message costs.
func (r *Reader) setHeaders(block []byte, hasBody bool) {
	s := string(block)
	m := &r.msg
	hdr := m.Header[:0]
	*m = Message{Header: hdr}

	// start line, already validated
	sl := s[:r.hdrStart-2]
	rest := sl[5:]
	sp := indexByte(rest, ' ')
	m.TID, rest = rest[:sp], rest[sp+1:]
	if code, ok := threeDigits(prefix(rest, 3)); ok {
		m.Code = code
		if len(rest) > 4 {
			m.Comment = rest[4:]
		}
	} else {
		m.Method = rest
	}

	var herr error
	// Invalid UTF-8 is a 400, except in a Use-Nickname value: RFC 7701
	// §7.1 makes that a 424, which ParseUseNickname reports. The whole
	// section is checked at once; lines are looked at only when it fails.
	checkUTF8 := !utf8.ValidString(s)
	if checkUTF8 && !utf8.ValidString(s[:r.hdrStart]) {
		herr = &HeaderError{Reason: "not valid UTF-8"}
	}
	for p := r.hdrStart; p < len(s); {
		nl := p + indexByte(s[p:], '\n')
		line := s[p:nl]
		p = nl + 1
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		} else if herr == nil {
			herr = &HeaderError{Reason: "header line not terminated by CRLF"}
		}
		f, err := parseField(line, checkUTF8)
		if err != nil {
			if herr == nil {
				herr = err
			}
			continue
		}
		m.Header = append(m.Header, f)
	}
	if herr == nil {
		herr = checkFraming(m, hasBody)
	}
	r.hdrErr = herr
}

func prefix(s string, n int) string {
	if len(s) < n {
		return s
	}
	return s[:n]
}

// parseField parses "Name: value". RFC 4975 asks for exactly one SP after
// the colon; parley also accepts none or several, and trailing blanks. A
// value must be utf8text (RFC 4975 §9): control characters, and invalid
// UTF-8 when checkUTF8 is set, are a *HeaderError (400) — except in
// Use-Nickname, whose value is left to ParseUseNickname, so that a malformed
// nickname gets the 424 that RFC 7701 §7.1 asks for.
func parseField(line string, checkUTF8 bool) (Field, error) {
	colon := indexByte(line, ':')
	if colon <= 0 {
		return Field{}, &HeaderError{Reason: "header line without a name and colon"}
	}
	name := line[:colon]
	if !isAlpha(name[0]) || !isToken(name) {
		return Field{}, &HeaderError{Header: name, Reason: "invalid header name"}
	}
	v := line[colon+1:]
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	if isName(name, HeaderUseNickname) {
		return Field{name, v}, nil
	}
	for i := 0; i < len(v); i++ {
		if !isUTF8TextByte(v[i]) {
			return Field{}, &HeaderError{Header: name, Reason: "control character in value"}
		}
	}
	if checkUTF8 && !utf8.ValidString(v) {
		return Field{}, &HeaderError{Header: name, Reason: "not valid UTF-8"}
	}
	return Field{name, v}, nil
}

// checkFraming checks the rules that tie headers to the framing (RFC 4975
// §7.1, §7.2): Content-Type exactly when there is a body; responses have no body.
func checkFraming(m *Message, hasBody bool) error {
	ct := m.Header.Has(HeaderContentType)
	switch {
	case hasBody && !m.IsRequest():
		return &HeaderError{Reason: "response with a body"}
	case hasBody && !ct:
		return &HeaderError{Header: HeaderContentType, Reason: "body without Content-Type"}
	case !hasBody && ct:
		return &HeaderError{Header: HeaderContentType, Reason: "Content-Type on a bodiless message"}
	}
	return nil
}

// finish consumes the message and resets the parse state.
func (r *Reader) finish(end int) *Message {
	r.r += end
	r.stage, r.scan, r.hdrStart, r.bodyStart = stageStart, 0, 0, 0
	if r.r == r.w {
		r.off += int64(r.r)
		r.r, r.w = 0, 0
	}
	return &r.msg
}

func (r *Reader) syntaxError(rel int, reason string) error {
	return &SyntaxError{Offset: r.off + int64(r.r) + int64(rel), Reason: reason}
}

// framingLost is the error for an end-line that cannot end the current
// message (ErrEndLineMismatch) at relative position rel.
func (r *Reader) framingLost(rel int, reason string) error {
	return &SyntaxError{Offset: r.off + int64(r.r) + int64(rel), Reason: reason, Err: ErrEndLineMismatch}
}

// fill reads more input, first making room by sliding unread data to the
// front of the buffer or growing it up to maxBuf.
func (r *Reader) fill() error {
	if r.buf == nil {
		r.buf = make([]byte, min(initialBufSize, r.maxBuf))
	}
	if r.w == len(r.buf) {
		switch {
		case r.r > 0:
			n := copy(r.buf, r.buf[r.r:r.w])
			r.off += int64(r.r)
			r.r, r.w = 0, n
		case len(r.buf) < r.maxBuf:
			nb := make([]byte, min(2*len(r.buf), r.maxBuf))
			r.w = copy(nb, r.buf[r.r:r.w])
			r.r = 0
			r.buf = nb
		default:
			// Cannot happen: the limits are checked before the buffer fills.
			return ErrHeaderTooLarge
		}
	}
	for range 100 {
		n, err := r.src.Read(r.buf[r.w:])
		r.w += n
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}
