package msrptest

import (
	"strconv"

	"github.com/parley-im/parley/msrp"
)

// Option adjusts a message made by a builder.
type Option func(*msrp.Message)

// WithHeader adds a header field.
func WithHeader(name, value string) Option {
	return func(m *msrp.Message) { m.Header.Add(name, value) }
}

// WithTID sets the transaction id.
func WithTID(tid string) Option { return func(m *msrp.Message) { m.TID = tid } }

// WithFlag sets the end-line flag.
func WithFlag(flag byte) Option { return func(m *msrp.Message) { m.Flag = flag } }

// Send builds a SEND from from to to carrying body as contentType, whole
// (Byte-Range 1-n/n), with a fresh transaction id and Message-ID.
func Send(to, from msrp.URI, contentType string, body []byte, opts ...Option) *msrp.Message {
	n := strconv.Itoa(len(body))
	m := &msrp.Message{TID: msrp.NewTID(), Method: msrp.MethodSEND, Body: body, Header: msrp.Header{
		{Name: msrp.HeaderToPath, Value: to.String()},
		{Name: msrp.HeaderFromPath, Value: from.String()},
		{Name: msrp.HeaderMessageID, Value: msrp.NewMessageID()},
		{Name: msrp.HeaderByteRange, Value: "1-" + n + "/" + n},
	}}
	for _, o := range opts {
		o(m)
	}
	m.Header.Set(msrp.HeaderContentType, contentType)
	return m
}

// Bodiless builds the bodiless SEND an active endpoint sends first to bind
// its connection (RFC 4975 §5.4).
func Bodiless(to, from msrp.URI, opts ...Option) *msrp.Message {
	m := &msrp.Message{TID: msrp.NewTID(), Method: msrp.MethodSEND, Header: msrp.Header{
		{Name: msrp.HeaderToPath, Value: to.String()},
		{Name: msrp.HeaderFromPath, Value: from.String()},
		{Name: msrp.HeaderMessageID, Value: msrp.NewMessageID()},
		{Name: msrp.HeaderByteRange, Value: "1-0/0"},
	}}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Nickname builds an RFC 7701 NICKNAME request; the nickname is quoted.
func Nickname(to, from msrp.URI, nick string, opts ...Option) *msrp.Message {
	q, err := msrp.QuoteNickname(nick)
	if err != nil {
		q = nick // let tests send malformed values deliberately
	}
	m := &msrp.Message{TID: msrp.NewTID(), Method: msrp.MethodNICKNAME, Header: msrp.Header{
		{Name: msrp.HeaderToPath, Value: to.String()},
		{Name: msrp.HeaderFromPath, Value: from.String()},
		{Name: msrp.HeaderUseNickname, Value: q},
	}}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Report builds a REPORT about messageID with the given status code.
func Report(to, from msrp.URI, messageID string, code int, r msrp.ByteRange, opts ...Option) *msrp.Message {
	m := &msrp.Message{TID: msrp.NewTID(), Method: msrp.MethodREPORT, Header: msrp.Header{
		{Name: msrp.HeaderToPath, Value: to.String()},
		{Name: msrp.HeaderFromPath, Value: from.String()},
		{Name: msrp.HeaderMessageID, Value: messageID},
		{Name: msrp.HeaderByteRange, Value: r.String()},
		{Name: msrp.HeaderStatus, Value: "000 " + strconv.Itoa(code) + " " + msrp.StatusText(code)},
	}}
	for _, o := range opts {
		o(m)
	}
	return m
}

// CPIM wraps text/plain content in a minimal message/cpim body.
func CPIM(from, to, text string) []byte {
	return []byte("From: <" + from + ">\r\nTo: <" + to + ">\r\n\r\nContent-Type: text/plain\r\n\r\n" + text)
}
