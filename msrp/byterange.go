package msrp

import (
	"fmt"
	"strconv"
)

// Unknown marks a range-end or total given as "*" in a Byte-Range.
const Unknown = -1

// ByteRange is the value of a Byte-Range header (RFC 4975 §7.1.1):
// range-start "-" range-end "/" total, with 1-based, inclusive positions.
// End or Total may be Unknown ("*"). An empty message is 1-0/0.
type ByteRange struct {
	Start int64
	End   int64
	Total int64
}

// maxRangeDigits bounds each number so that int64 arithmetic cannot overflow.
const maxRangeDigits = 18

// ParseByteRange parses and sanity-checks a Byte-Range value.
func ParseByteRange(s string) (ByteRange, error) {
	var r ByteRange
	dash := indexByte(s, '-')
	slash := indexByte(s, '/')
	if dash <= 0 || slash <= dash+1 || slash == len(s)-1 {
		return r, rangeError(s, "not start-end/total")
	}
	var ok bool
	if r.Start, ok = parseRangeNum(s[:dash], false); !ok || r.Start < 1 {
		return r, rangeError(s, "range-start must be a positive integer")
	}
	if r.End, ok = parseRangeNum(s[dash+1:slash], true); !ok {
		return r, rangeError(s, "bad range-end")
	}
	if r.Total, ok = parseRangeNum(s[slash+1:], true); !ok {
		return r, rangeError(s, "bad total")
	}
	if err := r.check(); err != "" {
		return r, rangeError(s, err)
	}
	return r, nil
}

func (r ByteRange) check() string {
	if r.End != Unknown && r.End < r.Start-1 {
		return "range-end before range-start"
	}
	if r.Total != Unknown {
		if r.Start-1 > r.Total {
			return "range-start beyond total"
		}
		if r.End != Unknown && r.End > r.Total {
			return "range-end beyond total"
		}
	}
	return ""
}

func parseRangeNum(s string, star bool) (int64, bool) {
	if star && s == "*" {
		return Unknown, true
	}
	if s == "" || len(s) > maxRangeDigits {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

func rangeError(s, reason string) error {
	return &HeaderError{Header: HeaderByteRange, Reason: fmt.Sprintf("%q: %s", s, reason)}
}

// AppendTo appends the formatted range to dst.
func (r ByteRange) AppendTo(dst []byte) []byte {
	dst = strconv.AppendInt(dst, r.Start, 10)
	dst = append(dst, '-')
	dst = appendRangeNum(dst, r.End)
	dst = append(dst, '/')
	return appendRangeNum(dst, r.Total)
}

func appendRangeNum(dst []byte, n int64) []byte {
	if n == Unknown {
		return append(dst, '*')
	}
	return strconv.AppendInt(dst, n, 10)
}

func (r ByteRange) String() string { return string(r.AppendTo(make([]byte, 0, 24))) }

// Whole reports whether the range describes a complete message in one chunk
// when the chunk ends with "$": it starts at byte 1.
func (r ByteRange) Whole() bool { return r.Start == 1 }

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
