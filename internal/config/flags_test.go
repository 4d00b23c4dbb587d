package config

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
)

const flagFile = `
[server]
host = "file.example"
[sip]
udp = "127.0.0.1:6060"
tcp = "127.0.0.1:6060"
[msrp]
listen = "127.0.0.1:3000"
[log]
level = "warn"
trace = true
`

// A flag given on the command line wins over the file, before or after
// -config; a flag not given leaves the file's value.
func TestFromArgsFlagsOverrideFile(t *testing.T) {
	path := writeFile(t, flagFile)
	orders := map[string][]string{
		"flags after":  {"-config", path, "-sip-udp", "", "-host", "flag.example", "-trace=false"},
		"flags before": {"-sip-udp", "", "-host", "flag.example", "-trace=false", "-config", path},
		"interleaved":  {"-host", "flag.example", "-config", path, "-trace=false", "-sip-udp="},
	}
	for name, args := range orders {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			c, action, err := FromArgs(args, &stdout, &stderr)
			if err != nil || action != Run {
				t.Fatalf("FromArgs = %v, %v\n%s", action, err, stderr.String())
			}
			if c.Server.Host != "flag.example" || c.SIP.UDP != "" || c.Log.Trace {
				t.Errorf("flags lost: host %q, sip.udp %q, trace %v", c.Server.Host, c.SIP.UDP, c.Log.Trace)
			}
			if c.SIP.TCP != "127.0.0.1:6060" || c.MSRP.Listen != "127.0.0.1:3000" || c.Log.Level != LevelWarn {
				t.Errorf("file values lost: sip.tcp %q, msrp.listen %q, log.level %q", c.SIP.TCP, c.MSRP.Listen, c.Log.Level)
			}
			if stdout.Len()+stderr.Len() != 0 {
				t.Errorf("output %q %q", stdout.String(), stderr.String())
			}
		})
	}
}

func TestFromArgsNoFile(t *testing.T) {
	c, action, err := FromArgs([]string{"-sip-udp", ":0", "-sip-tcp", ":0", "-msrp", ":0", "-log-level", "debug", "-trace"}, io.Discard, io.Discard)
	if err != nil || action != Run {
		t.Fatalf("FromArgs = %v, %v", action, err)
	}
	want := Default()
	want.SIP.UDP, want.SIP.TCP = ":0", ":0"
	want.MSRP.Listen = ":0"
	want.Log.Level, want.Log.Trace = LevelDebug, true
	if !reflect.DeepEqual(c.SIP, want.SIP) || c.MSRP != want.MSRP || c.Log != want.Log || !reflect.DeepEqual(c.Server, want.Server) {
		t.Errorf("FromArgs = %+v", *c)
	}
}

func TestFromArgsCheck(t *testing.T) {
	var stdout, stderr bytes.Buffer
	c, action, err := FromArgs([]string{"-t", "-config", writeFile(t, flagFile)}, &stdout, &stderr)
	if err != nil || action != Check || c == nil {
		t.Fatalf("FromArgs(-t) = %v, %v, %v", c, action, err)
	}
	if got := stdout.String(); got != "parleyd: configuration OK\n" || stderr.Len() != 0 {
		t.Errorf("stdout %q, stderr %q", got, stderr.String())
	}
}

// -t with a bad file and bad flags prints every problem, with the file
// line or the flag, and fails.
func TestFromArgsCheckInvalid(t *testing.T) {
	path := writeFile(t, "[msrp]\nmax_chunk = 0\n[log]\nlevel = \"loud\"\nformat = \"xml\"\n")
	var stdout, stderr bytes.Buffer
	_, action, err := FromArgs([]string{"-t", "-config", path, "-sip-udp", "nowhere", "-host", ""}, &stdout, &stderr)
	if action != Check {
		t.Errorf("action %v, want Check", action)
	}
	if es := problems(t, err); len(es) != 5 {
		t.Errorf("%d problems, want 5:\n%v", len(es), err)
	}
	want := []string{
		"parleyd: flag -host: server.host: must be set",
		`parleyd: flag -sip-udp: sip.udp: invalid address "nowhere"`,
		"parleyd: " + path + ":2: msrp.max_chunk: must be between 1 and",
		"parleyd: " + path + `:4: log.level: must be one of`,
		"parleyd: " + path + `:5: log.format: must be one of`,
		"parleyd: invalid configuration (5 problems)",
	}
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("stderr:\n%s", stderr.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: %q, want prefix %q", i+1, lines[i], w)
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout %q", stdout.String())
	}
}

func TestFromArgsBadFile(t *testing.T) {
	path := writeFile(t, "[server]\nhost = \"a\" \"b\"\n")
	var stderr bytes.Buffer
	_, _, err := FromArgs([]string{"-config", path, "-host", "x.example"}, io.Discard, &stderr)
	if es := problems(t, err); len(es) != 1 || es[0].Line != 2 {
		t.Errorf("problems %v", err)
	}
	if !strings.Contains(stderr.String(), path+":2:") {
		t.Errorf("stderr %q lacks the position", stderr.String())
	}
}

func TestFromArgsCommandLineErrors(t *testing.T) {
	tests := []struct {
		args []string
		is   error
		out  string
	}{
		{[]string{"-h"}, flag.ErrHelp, "Usage: parleyd"},
		{[]string{"-nope"}, nil, "flag provided but not defined: -nope"},
		{[]string{"-trace", "extra"}, nil, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		c, _, err := FromArgs(tt.args, &stdout, &stderr)
		if err == nil || c != nil {
			t.Errorf("FromArgs(%q) = %v, %v; want an error", tt.args, c, err)
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("FromArgs(%q) = %v, want %v", tt.args, err, tt.is)
		}
		if !strings.Contains(stderr.String(), tt.out) || !strings.Contains(stderr.String(), "-print-config") {
			t.Errorf("FromArgs(%q) stderr %q, want %q and the usage", tt.args, stderr.String(), tt.out)
		}
	}
}

// -print-config wins over everything else and loads nothing.
func TestFromArgsPrintConfig(t *testing.T) {
	var stdout, stderr bytes.Buffer
	c, action, err := FromArgs([]string{"-config", "/nonexistent.toml", "-t", "-print-config"}, &stdout, &stderr)
	if err != nil || action != PrintDefault || c != nil {
		t.Fatalf("FromArgs = %v, %v, %v", c, action, err)
	}
	if !bytes.Equal(stdout.Bytes(), defaultTOML) || stderr.Len() != 0 {
		t.Errorf("stdout %d bytes, stderr %q", stdout.Len(), stderr.String())
	}
}

// RegisterFlags and ApplyFlags used on their own, as another command
// would.
func TestRegisterApplyFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fromFlags := Default()
	fromFlags.RegisterFlags(fs)
	if err := fs.Parse([]string{"-msrp", ":0", "-trace"}); err != nil {
		t.Fatal(err)
	}
	c := Default()
	c.Server.Host = "file.example"
	c.MSRP.Listen = "127.0.0.1:9999"
	c.ApplyFlags(fs)
	if c.MSRP.Listen != ":0" || !c.Log.Trace || c.Server.Host != "file.example" {
		t.Errorf("ApplyFlags: %+v", *c)
	}
	for _, f := range configFlags {
		if fs.Lookup(f.name) == nil {
			t.Errorf("flag -%s not registered", f.name)
		}
	}
	if Run.String() != "run" || Check.String() != "check" || PrintDefault.String() != "print-default" || Action(9).String() != "Action(9)" {
		t.Error("Action.String")
	}
}
