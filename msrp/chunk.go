package msrp

// InterruptibleSize is the largest chunk body that need not be
// interruptible (RFC 4975 §7.1.1): a chunk with a bigger body must carry
// range-end "*" so that its sender can cut it short.
const InterruptibleSize = 2048

// Chunker cuts an outgoing message body into SEND chunks and keeps the
// Byte-Range bookkeeping (RFC 4975 §5.1, §7.1.1). Bodies up to
// InterruptibleSize go in chunks with an explicit range-end; larger ones get
// range-end "*", so the writer may Interrupt them when other traffic waits.
type Chunker struct {
	body []byte
	sent int64 // bytes handed out by Next and not taken back
	max  int   // largest chunk body Next returns
	cur  int64 // start offset of the chunk last returned by Next
	done bool
}

// NewChunker returns a Chunker for body that hands out chunks of at most
// maxChunk bytes (a value ≤ 0 means the whole remaining body).
func NewChunker(body []byte, maxChunk int) *Chunker {
	return &Chunker{body: body, max: maxChunk}
}

// Done reports whether the last chunk has been handed out.
func (c *Chunker) Done() bool { return c.done }

// Next returns the next chunk: its Byte-Range, its data (a slice of the
// body) and its end-line flag ('$' for the last chunk, '+' otherwise). An
// empty body is one chunk 1-0/0. After the last chunk ok is false.
func (c *Chunker) Next() (r ByteRange, data []byte, flag byte, ok bool) {
	if c.done {
		return ByteRange{}, nil, 0, false
	}
	total := int64(len(c.body))
	n := total - c.sent
	if c.max > 0 && n > int64(c.max) {
		n = int64(c.max)
	}
	c.cur = c.sent
	data = c.body[c.sent : c.sent+n]
	c.sent += n
	r = ByteRange{Start: c.cur + 1, End: c.cur + n, Total: total}
	if n > InterruptibleSize {
		r.End = Unknown
	}
	flag = FlagContinue
	if c.sent == total {
		flag, c.done = FlagEnd, true
	}
	return r, data, flag, true
}

// Interrupt records that only the first written bytes of the chunk last
// returned by Next went out before the writer ended it with a '+' end-line
// (legal only for a chunk with range-end "*"). The next chunk resumes at the
// first unwritten byte.
func (c *Chunker) Interrupt(written int) {
	if int64(written) < c.sent-c.cur {
		c.sent = c.cur + int64(written)
		c.done = false
	}
}
