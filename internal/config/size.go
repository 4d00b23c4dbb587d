package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ByteSize is a number of bytes. In TOML it is an integer (1048576) or a
// string made of an integer and a unit (case-insensitive): "B", binary
// "KiB", "MiB", "GiB" (powers of 1024) or decimal "KB", "MB", "GB" (powers
// of 1000), optionally separated by spaces: "1MiB", "16 KiB", "4000000".
type ByteSize int64

// Size units.
const (
	KiB ByteSize = 1 << 10
	MiB ByteSize = 1 << 20
	GiB ByteSize = 1 << 30
)

var sizeUnits = map[string]ByteSize{
	"":    1,
	"b":   1,
	"kib": KiB,
	"mib": MiB,
	"gib": GiB,
	"kb":  1000,
	"mb":  1000 * 1000,
	"gb":  1000 * 1000 * 1000,
}

// String formats s in the largest binary unit that divides it ("4MiB"),
// or in bytes ("1000").
func (s ByteSize) String() string {
	switch {
	case s != 0 && s%GiB == 0:
		return strconv.FormatInt(int64(s/GiB), 10) + "GiB"
	case s != 0 && s%MiB == 0:
		return strconv.FormatInt(int64(s/MiB), 10) + "MiB"
	case s != 0 && s%KiB == 0:
		return strconv.FormatInt(int64(s/KiB), 10) + "KiB"
	}
	return strconv.FormatInt(int64(s), 10)
}

// MarshalText implements encoding.TextMarshaler.
func (s ByteSize) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *ByteSize) UnmarshalText(text []byte) error {
	v, err := parseSize(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

func parseSize(text string) (ByteSize, error) {
	t := strings.TrimSpace(text)
	i := 0
	if i < len(t) && t[i] == '-' {
		i++
	}
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	unit, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if !ok || err != nil {
		return 0, fmt.Errorf("invalid size %q (want bytes, or a number with a unit such as \"16KiB\" or \"4MiB\")", text)
	}
	if n > math.MaxInt64/int64(unit) || n < math.MinInt64/int64(unit) {
		return 0, fmt.Errorf("size %q is too large", text)
	}
	return ByteSize(n) * unit, nil
}
