package msrp

import (
	"strconv"
	"strings"
)

// Methods of RFC 4975, RFC 4976 and RFC 7701. Any other 1*UPALPHA method is
// accepted by the Reader and answered 501 by endpoints.
const (
	MethodSEND     = "SEND"
	MethodREPORT   = "REPORT"
	MethodNICKNAME = "NICKNAME"
	MethodAUTH     = "AUTH"
)

// Continuation flags of the end-line (RFC 4975 §7.1).
const (
	FlagEnd      byte = '$' // last chunk of the message
	FlagContinue byte = '+' // more chunks follow
	FlagAbort    byte = '#' // the sender abandoned the message
)

// Message is an MSRP request or response.
//
// A request has a Method; a response has a Code (and Method is empty). A
// message has a body exactly when its Header carries Content-Type (RFC 4975
// §7.1: a bodiless request has no Content-Type; an empty body has one).
type Message struct {
	TID     string
	Method  string // request method, "" for a response
	Code    int    // response status code, 0 for a request
	Comment string // response comment (reason phrase), may be empty
	Header  Header
	Body    []byte
	Flag    byte // end-line flag; 0 is written as '$'
}

// IsRequest reports whether m is a request.
func (m *Message) IsRequest() bool { return m.Method != "" }

// HasBody reports whether m carries a body (possibly empty).
func (m *Message) HasBody() bool { return m.Header.Has(HeaderContentType) }

// ContentType returns the Content-Type value, or "" for a bodiless message.
func (m *Message) ContentType() string { return m.Header.Get(HeaderContentType) }

// MessageID returns the Message-ID value, or "".
func (m *Message) MessageID() string { return m.Header.Get(HeaderMessageID) }

// EndFlag returns the end-line flag, '$' when unset.
func (m *Message) EndFlag() byte {
	if m.Flag == 0 {
		return FlagEnd
	}
	return m.Flag
}

// ToPath parses the To-Path header.
func (m *Message) ToPath() ([]URI, error) { return m.path(HeaderToPath) }

// FromPath parses the From-Path header.
func (m *Message) FromPath() ([]URI, error) { return m.path(HeaderFromPath) }

func (m *Message) path(name string) ([]URI, error) {
	v, ok := m.Header.Lookup(name)
	if !ok {
		return nil, &HeaderError{Header: name, Reason: "missing"}
	}
	p, err := ParsePath(v)
	if err != nil {
		return nil, &HeaderError{Header: name, Reason: err.Error()}
	}
	return p, nil
}

// TargetURI returns the rightmost To-Path URI, the session the request is
// for at an endpoint, without allocating.
func (m *Message) TargetURI() (URI, error) { return lastURI(m.Header, HeaderToPath) }

// SourceURI returns the rightmost From-Path URI: the sending endpoint.
func (m *Message) SourceURI() (URI, error) { return lastURI(m.Header, HeaderFromPath) }

func lastURI(h Header, name string) (URI, error) {
	v, ok := h.Lookup(name)
	if !ok {
		return URI{}, &HeaderError{Header: name, Reason: "missing"}
	}
	v = strings.TrimRight(v, " \t")
	if i := strings.LastIndexAny(v, " \t"); i >= 0 {
		v = v[i+1:]
	}
	u, err := ParseURI(v)
	if err != nil {
		return URI{}, &HeaderError{Header: name, Reason: err.Error()}
	}
	return u, nil
}

// ByteRange returns the parsed Byte-Range header; ok is false when absent.
func (m *Message) ByteRange() (r ByteRange, ok bool, err error) {
	v, ok := m.Header.Lookup(HeaderByteRange)
	if !ok {
		return ByteRange{}, false, nil
	}
	r, err = ParseByteRange(v)
	return r, true, err
}

// FailureMode is the value of a Failure-Report header.
type FailureMode uint8

const (
	FailureYes     FailureMode = iota // the default: respond to every request
	FailureNo                         // never respond, never send failure REPORTs
	FailurePartial                    // respond only with errors
)

func (f FailureMode) String() string {
	switch f {
	case FailureNo:
		return "no"
	case FailurePartial:
		return "partial"
	}
	return "yes"
}

// SuccessReport returns the Success-Report value: true for "yes", false
// for "no" or absent.
func (m *Message) SuccessReport() (bool, error) {
	v, ok := m.Header.Lookup(HeaderSuccessReport)
	if !ok {
		return false, nil
	}
	switch v {
	case "yes":
		return true, nil
	case "no":
		return false, nil
	}
	return false, &HeaderError{Header: HeaderSuccessReport, Reason: "not yes or no"}
}

// FailureReport returns the Failure-Report value; absent means FailureYes.
func (m *Message) FailureReport() (FailureMode, error) {
	v, ok := m.Header.Lookup(HeaderFailureReport)
	if !ok {
		return FailureYes, nil
	}
	switch v {
	case "yes":
		return FailureYes, nil
	case "no":
		return FailureNo, nil
	case "partial":
		return FailurePartial, nil
	}
	return FailureYes, &HeaderError{Header: HeaderFailureReport, Reason: "not yes, no or partial"}
}

// WantsResponse reports whether a receiver must send a transaction response
// with the given code to request m (RFC 4975 §7.2, §7.1.2): never to a
// REPORT; never with Failure-Report "no"; only a non-200 with "partial";
// always otherwise. A malformed Failure-Report counts as "yes".
func (m *Message) WantsResponse(code int) bool {
	if m.Method == MethodREPORT {
		return false
	}
	fr, _ := m.FailureReport()
	switch fr {
	case FailureNo:
		return false
	case FailurePartial:
		return code != StatusOK
	}
	return true
}

// Status is the value of a REPORT's Status header: namespace SP code [SP comment].
type Status struct {
	Namespace int // 0 for the codes of RFC 4975
	Code      int
	Comment   string
}

// ParseStatus parses a Status header value such as "000 200 OK".
func ParseStatus(v string) (Status, error) {
	bad := &HeaderError{Header: HeaderStatus, Reason: "not namespace SP code [SP comment]"}
	if len(v) < 7 || v[3] != ' ' || (len(v) > 7 && v[7] != ' ') {
		return Status{}, bad
	}
	ns, ok1 := threeDigits(v[:3])
	code, ok2 := threeDigits(v[4:7])
	if !ok1 || !ok2 {
		return Status{}, bad
	}
	s := Status{Namespace: ns, Code: code}
	if len(v) > 8 {
		s.Comment = v[8:]
	}
	return s, nil
}

func threeDigits(s string) (int, bool) {
	if len(s) != 3 || !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[2]) {
		return 0, false
	}
	return int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0'), true
}

// Status returns the parsed Status header of a REPORT; ok is false when absent.
func (m *Message) Status() (s Status, ok bool, err error) {
	v, ok := m.Header.Lookup(HeaderStatus)
	if !ok {
		return Status{}, false, nil
	}
	s, err = ParseStatus(v)
	return s, true, err
}

// Nickname returns the nickname of a NICKNAME request's Use-Nickname header
// (see ParseUseNickname); ok is false when the header is absent.
func (m *Message) Nickname() (nick string, ok bool, err error) {
	v, ok := m.Header.Lookup(HeaderUseNickname)
	if !ok {
		return "", false, nil
	}
	nick, err = ParseUseNickname(v)
	return nick, true, err
}

// Clone returns a deep copy of m that does not alias any Reader buffer.
func (m *Message) Clone() *Message {
	c := *m
	c.Header = append(Header(nil), m.Header...)
	if m.Body != nil {
		c.Body = append(make([]byte, 0, len(m.Body)), m.Body...)
	}
	return &c
}

// SizeBound returns an upper bound of len(m.AppendTo(nil)): serialising m
// into a buffer of that capacity allocates once.
func (m *Message) SizeBound() int {
	n := 64 + 2*len(m.TID) + len(m.Method) + len(m.Comment) + len(m.Body)
	for _, f := range m.Header {
		n += len(f.Name) + len(f.Value) + 4
	}
	return n
}

// Response builds the response to request m with the given code and
// comment ("" means StatusText(code)), addressed per RFC 4975 §7.2: a
// response to SEND goes to the previous hop only (the leftmost From-Path
// URI); a response to any other request carries the request's whole
// From-Path. The responder's URI, the From-Path of the response, is the
// rightmost To-Path URI of the request.
func (m *Message) Response(code int, comment string) *Message {
	if comment == "" {
		comment = StatusText(code)
	}
	from := strings.Trim(m.Header.Get(HeaderFromPath), " \t")
	if m.Method == MethodSEND {
		if i := strings.IndexAny(from, " \t"); i >= 0 {
			from = from[:i]
		}
	}
	to := strings.Trim(m.Header.Get(HeaderToPath), " \t")
	if i := strings.LastIndexAny(to, " \t"); i >= 0 {
		to = to[i+1:]
	}
	return &Message{
		TID:     m.TID,
		Code:    code,
		Comment: comment,
		Header:  Header{{HeaderToPath, from}, {HeaderFromPath, to}},
	}
}

// Report builds a REPORT about request m (RFC 4975 §7.1.2, §7.1.3) with a
// new transaction id tid, the status code and comment ("" means
// StatusText(code)) and the Byte-Range of the bytes it covers. It goes to the
// request's whole From-Path, from the rightmost URI of its To-Path, and
// carries the request's Message-ID and no Success-/Failure-Report.
func (m *Message) Report(tid string, code int, comment string, r ByteRange) *Message {
	if comment == "" {
		comment = StatusText(code)
	}
	to := strings.Trim(m.Header.Get(HeaderToPath), " \t")
	if i := strings.LastIndexAny(to, " \t"); i >= 0 {
		to = to[i+1:]
	}
	return &Message{
		TID:    tid,
		Method: MethodREPORT,
		Header: Header{
			{HeaderToPath, strings.Trim(m.Header.Get(HeaderFromPath), " \t")},
			{HeaderFromPath, to},
			{HeaderMessageID, m.MessageID()},
			{HeaderByteRange, r.String()},
			{HeaderStatus, statusNamespaceNone + " " + strconv.Itoa(code) + " " + comment},
		},
	}
}

// Err returns a *StatusError for a non-2xx response, nil otherwise.
func (m *Message) Err() error {
	if m.IsRequest() || (m.Code >= 200 && m.Code < 300) {
		return nil
	}
	return &StatusError{Code: m.Code, Comment: m.Comment}
}
