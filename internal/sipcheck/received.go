package sipcheck

import (
	"bytes"
	"net/netip"

	"github.com/emiago/sipgo/sip"
)

// Received stamps the top Via of a request that arrived over an unreliable
// transport with the address it came from (RFC 3261 §18.2.1): when the
// sent-by host is not the source IP (a domain name or another address),
// "received=<ip>" is added, and a received parameter the sender wrote
// itself is removed whatever it says. A response then goes back to the
// source IP (§18.2.2), never to a host named in the request: a forged Via
// cannot aim parleyd's answers at a third party, nor make it look a name
// up. It returns the message to pass on: msg itself when nothing changed,
// else a new slice (dst, grown as needed).
func Received(dst, msg []byte, source netip.Addr) []byte {
	lineStart, start, end, lineEnd, ok := topVia(msg)
	if !ok {
		return msg
	}
	via := msg[start:end]
	params, host := viaParts(via)
	if params < 0 {
		return msg
	}
	ip := source.Unmap().String()
	hostIP, err := netip.ParseAddr(string(bytes.Trim(host, "[]")))
	same := err == nil && hostIP.Unmap() == source.Unmap()

	// Rebuild the Via's parameters without any received of the sender's.
	var kept []byte
	removed := false
	for p := range bytes.SplitSeq(via[params:], []byte(";")) {
		if len(bytes.TrimSpace(p)) == 0 {
			continue
		}
		name, _, _ := bytes.Cut(p, []byte("="))
		if bytes.EqualFold(bytes.TrimSpace(name), []byte("received")) {
			removed = true
			continue
		}
		kept = append(append(kept, ';'), p...)
	}
	if same && !removed {
		return msg
	}
	out := append(dst[:0], msg[:start]...)
	out = append(out, via[:params]...)
	out = append(out, kept...)
	if !same {
		out = append(out, ";received="...)
		out = append(out, ip...)
	}
	grown := len(out) - end
	out = append(out, msg[end:]...)
	// The new Via line must still be one sipgo parses (a value sipgo
	// took with, say, a trailing comma may not survive a parameter more):
	// if not, the request goes on as it came, which is no worse (sipgo
	// answers to the source address in any case).
	line := out[lineStart : lineEnd+grown]
	colon := bytes.IndexByte(line, ':')
	var scratch []byte
	if _, err := parseField(sip.HeadersParser(sip.DefaultHeadersParser()), &scratch, "Via", bytes.TrimSpace(line[colon+1:])); err != nil {
		return msg
	}
	return out
}

// topVia finds the first Via value of a request: from the value's first
// byte to the end of it (a comma or the end of its line), and the line
// that holds it (without its CRLF).
func topVia(msg []byte) (lineStart, start, end, lineEnd int, ok bool) {
	line, rest, ok := cutLine(msg)
	if !ok || isResponseLine(line) {
		return 0, 0, 0, 0, false
	}
	off := len(line) + 2
	for {
		line, rest, ok = cutLine(rest)
		if !ok || len(line) == 0 {
			return 0, 0, 0, 0, false
		}
		lineStart := off
		off += len(line) + 2
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || lookup(bytes.TrimRight(line[:colon], " \t")) != hVia {
			continue
		}
		if len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
			return 0, 0, 0, 0, false // folded: left alone
		}
		v := colon + 1
		for v < len(line) && (line[v] == ' ' || line[v] == '\t') {
			v++
		}
		e := len(line)
		if c := bytes.IndexByte(line[v:], ','); c >= 0 {
			e = v + c
		}
		for e > v && (line[e-1] == ' ' || line[e-1] == '\t') {
			e--
		}
		return lineStart, lineStart + v, lineStart + e, lineStart + len(line), true
	}
}

// viaParts splits a Via value "SIP/2.0/UDP host:port;params": the offset
// where its parameters begin (at the first ';', or the end), and the host;
// params is -1 when the value has no sent-by.
func viaParts(via []byte) (params int, host []byte) {
	i := bytes.IndexAny(via, " \t")
	if i < 0 {
		return -1, nil
	}
	j := i
	for j < len(via) && (via[j] == ' ' || via[j] == '\t') {
		j++
	}
	params = len(via)
	if k := bytes.IndexByte(via[j:], ';'); k >= 0 {
		params = j + k
	}
	sentBy := bytes.TrimSpace(via[j:params])
	if len(sentBy) == 0 {
		return -1, nil
	}
	host = sentBy
	if sentBy[0] == '[' {
		if k := bytes.IndexByte(sentBy, ']'); k >= 0 {
			host = sentBy[:k+1]
		}
	} else if k := bytes.LastIndexByte(sentBy, ':'); k >= 0 {
		host = sentBy[:k]
	}
	// Trailing whitespace before ';' belongs to the sent-by part.
	for params > j && (via[params-1] == ' ' || via[params-1] == '\t') {
		params--
	}
	return params, host
}
