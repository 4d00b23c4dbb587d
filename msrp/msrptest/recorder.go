package msrptest

import (
	"bytes"
	"errors"
	"io"
	"sync"

	"github.com/parley-im/parley/msrp"
)

// Recorder is an io.Writer that parses what is written to it into MSRP
// messages: give it to code that writes MSRP and inspect Messages. It is
// safe for concurrent use.
type Recorder struct {
	mu   sync.Mutex
	buf  []byte
	msgs []*msrp.Message
	err  error
}

// Write appends p and parses every message it completes.
func (r *Recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return 0, r.err
	}
	r.buf = append(r.buf, p...)
	for len(r.buf) > 0 {
		src := bytes.NewReader(r.buf)
		rd := msrp.NewReader(src, msrp.Limits{})
		m, err := rd.ReadMessage()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			break // incomplete: wait for more
		}
		if err != nil {
			r.err = err
			return len(p), err
		}
		consumed := len(r.buf) - src.Len() - rd.Buffered() // the Reader reads ahead
		r.msgs = append(r.msgs, m.Clone())
		r.buf = r.buf[consumed:]
	}
	return len(p), nil
}

// Messages returns the messages parsed so far.
func (r *Recorder) Messages() []*msrp.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*msrp.Message(nil), r.msgs...)
}

// Err returns the first parse error, if any.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Pending returns the number of bytes written that do not yet form a message.
func (r *Recorder) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.buf)
}
