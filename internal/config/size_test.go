package config

import (
	"testing"
	"time"
)

func TestByteSizeText(t *testing.T) {
	good := map[string]ByteSize{
		"0": 0, "1048576": MiB, "16KiB": 16 * KiB, "16 kib": 16 * KiB, "4MiB": 4 * MiB, "1GiB": GiB,
		"1MB": 1000 * 1000, "2kb": 2000, "1GB": 1000 * 1000 * 1000, "512B": 512, " 3 MiB ": 3 * MiB, "-1": -1,
	}
	for in, want := range good {
		var s ByteSize
		if err := s.UnmarshalText([]byte(in)); err != nil || s != want {
			t.Errorf("UnmarshalText(%q) = %d, %v; want %d", in, s, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "1.5MiB", "4 MiBs", "1TiB", "0x10", "9223372036854775807KiB", "1 2"} {
		var s ByteSize
		if err := s.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("UnmarshalText(%q) = %d, want an error", in, s)
		}
	}
	for s, want := range map[ByteSize]string{0: "0", 1000: "1000", 1024: "1KiB", 4 * MiB: "4MiB", 2 * GiB: "2GiB", MiB + 1: "1048577"} {
		b, _ := s.MarshalText()
		if string(b) != want {
			t.Errorf("MarshalText(%d) = %q, want %q", int64(s), b, want)
		}
		var back ByteSize
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("round trip of %d: %d, %v", int64(s), back, err)
		}
	}
}

func TestDurationText(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("1m30s")); err != nil || d.Std() != 90*time.Second {
		t.Errorf("UnmarshalText(1m30s) = %v, %v", d, err)
	}
	if b, _ := Duration(540 * time.Second).MarshalText(); string(b) != "9m0s" {
		t.Errorf("MarshalText(540s) = %q", b)
	}
	for _, in := range []string{"", "30", "soon", "1 s"} {
		if err := d.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("UnmarshalText(%q) succeeded", in)
		}
	}
}

func TestSlogLevel(t *testing.T) {
	for level, want := range map[string]string{"debug": "DEBUG", "info": "INFO", "warn": "WARN", "error": "ERROR", "bad": "INFO"} {
		if got := (LogConfig{Level: level}).SlogLevel().String(); got != want {
			t.Errorf("SlogLevel(%s) = %s, want %s", level, got, want)
		}
	}
}
