package msrp

import (
	"bytes"
	"strings"
)

// Validate checks the header rules of RFC 4975 (§7.1, §7.1.2, §9), RFC 4976
// §8 and RFC 7701 §7.1 that do not depend on session state. It returns a
// *HeaderError naming the first problem; the request deserves a 400.
//
//   - To-Path and From-Path are present and parse; their URIs carry explicit
//     ports (except the To-Path of AUTH, RFC 4976 §5.1, and a WebSocket
//     client's .invalid URI, RFC 7977 §5.2.1).
//   - Message-ID, when present, is an ident; a SEND with a body has one.
//   - Byte-Range, Success-Report, Failure-Report and Status parse.
//   - REPORT has Status and Message-ID and no Success-/Failure-Report.
//   - NICKNAME has Use-Nickname and no Success-/Failure-Report (SPEC §13 row 2).
//   - A request other than SEND has a body of at most 10240 octets.
//   - No header that RFC 4975 or RFC 7701 defines appears twice.
func (m *Message) Validate() error {
	to, err := m.ToPath()
	if err != nil {
		return err
	}
	from, err := m.FromPath()
	if err != nil {
		return err
	}
	if m.Method != MethodAUTH {
		if err := requirePorts(HeaderToPath, to); err != nil {
			return err
		}
	}
	if err := requirePorts(HeaderFromPath, from); err != nil {
		return err
	}
	for _, name := range [...]string{HeaderToPath, HeaderFromPath, HeaderMessageID, HeaderByteRange,
		HeaderSuccessReport, HeaderFailureReport, HeaderStatus, HeaderContentType, HeaderUseNickname} {
		if m.Header.Count(name) > 1 {
			return &HeaderError{Header: name, Reason: "appears more than once"}
		}
	}
	if id, ok := m.Header.Lookup(HeaderMessageID); ok && !isIdent(id) {
		return &HeaderError{Header: HeaderMessageID, Reason: "not an ident"}
	} else if !ok && m.Method == MethodSEND && m.HasBody() {
		return &HeaderError{Header: HeaderMessageID, Reason: "missing on a SEND with a body"}
	}
	if _, _, err := m.ByteRange(); err != nil {
		return err
	}
	if _, err := m.SuccessReport(); err != nil {
		return err
	}
	if _, err := m.FailureReport(); err != nil {
		return err
	}
	reports := m.Header.Has(HeaderSuccessReport) || m.Header.Has(HeaderFailureReport)
	switch m.Method {
	case "":
		return nil
	case MethodREPORT:
		if reports {
			return &HeaderError{Header: HeaderFailureReport, Reason: "REPORT must not carry Success-Report or Failure-Report"}
		}
		if _, ok, err := m.Status(); err != nil {
			return err
		} else if !ok {
			return &HeaderError{Header: HeaderStatus, Reason: "missing on a REPORT"}
		}
		if !m.Header.Has(HeaderMessageID) {
			return &HeaderError{Header: HeaderMessageID, Reason: "missing on a REPORT"}
		}
	case MethodNICKNAME:
		if reports {
			return &HeaderError{Header: HeaderFailureReport, Reason: "NICKNAME must not carry Success-Report or Failure-Report"}
		}
		if !m.Header.Has(HeaderUseNickname) {
			return &HeaderError{Header: HeaderUseNickname, Reason: "missing on a NICKNAME"}
		}
	}
	if m.Method != MethodSEND && len(m.Body) > maxNonSendBody {
		return &HeaderError{Reason: "body of a non-SEND request over 10240 octets"}
	}
	return nil
}

func requirePorts(name string, path []URI) error {
	for _, u := range path {
		if !u.HasPort() && !wsEndpoint(u) {
			return &HeaderError{Header: name, Reason: "URI " + u.String() + " has no explicit port"}
		}
	}
	return nil
}

// wsEndpoint reports whether u is a WebSocket client's URI, which RFC
// 7977 §5.2.1 gives an .invalid host and no port: nobody connects to it.
func wsEndpoint(u URI) bool {
	return strings.EqualFold(u.Transport, "ws") && len(u.Host) > len(".invalid") &&
		strings.EqualFold(u.Host[len(u.Host)-len(".invalid"):], ".invalid")
}

// BodyContainsEndLine reports whether body contains the end-line of
// transaction tid ("-------" tid and a flag), which RFC 4975 §7.1 forbids:
// the sender must then choose another transaction id.
func BodyContainsEndLine(body []byte, tid string) bool {
	pat := []byte(endLineDashes + tid)
	s := body
	for {
		i := bytes.Index(s, pat)
		if i < 0 || i+len(pat) >= len(s) {
			return false
		}
		if isFlag(s[i+len(pat)]) {
			return true
		}
		s = s[i+1:]
	}
}
