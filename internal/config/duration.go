package config

import (
	"fmt"
	"time"
)

// Duration is a time.Duration written in TOML as a string that
// time.ParseDuration accepts: "30s", "1m30s", "250ms", "0s".
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d as time.Duration does ("9m0s").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want a number with a unit, such as \"30s\" or \"1m30s\")", text)
	}
	*d = Duration(v)
	return nil
}
