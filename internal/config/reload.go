package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// ErrNoFile is Reread's error for a configuration that was not read from a
// file (the embedded defaults and flags): there is nothing to read again.
var ErrNoFile = errors.New("config: no configuration file to read again (parleyd runs on the embedded defaults)")

// Source is the file FromArgs read the configuration from (-config); ""
// for the embedded defaults, and for a configuration from Load or Parse
// (which Reread then refuses: they know no command line to apply again).
func (c *Config) Source() string { return c.source }

// Reread reads the configuration file again (SIGHUP, the admin API's
// reload; issue 18) over the defaults, applies the command-line flags
// FromArgs saw again (they still win), and validates the result. On
// failure the error is Errors with every problem; the caller keeps the
// configuration it has. ErrNoFile when c came from no file.
func (c *Config) Reread() (*Config, error) {
	if c.source == "" {
		return nil, ErrNoFile
	}
	data, err := os.ReadFile(c.source)
	if err != nil {
		return nil, Errors{{Err: err}}
	}
	n := Default()
	src, errs := decode(n, c.source, data)
	if src == nil {
		return nil, errs
	}
	set := map[string]string{}
	for name, v := range c.flags {
		for _, f := range configFlags {
			if f.name != name {
				continue
			}
			switch p := f.field(n).(type) {
			case *string:
				*p = v
			case *bool:
				*p = v == "true"
			}
			set[f.key] = f.name
		}
	}
	errs = append(errs, src.locate(n.validate(), set)...)
	if len(errs) > 0 {
		return nil, errs
	}
	n.source, n.flags = c.source, c.flags
	n.index()
	return n, nil
}

// AdminToken is the admin listener's bearer token: the first line of
// admin.token_file when set, else admin.token ("" for none).
func (c *Config) AdminToken() (string, error) {
	if c.Admin.TokenFile == "" {
		return c.Admin.Token, nil
	}
	data, err := os.ReadFile(c.Admin.TokenFile)
	if err != nil {
		return "", fmt.Errorf("admin.token_file: %w", err)
	}
	tok, _, _ := strings.Cut(string(data), "\n")
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", fmt.Errorf("admin.token_file %s: empty", c.Admin.TokenFile)
	}
	return tok, nil
}

// IsLoopback reports whether the host of the listen address addr is a
// loopback address or "localhost" (an empty host, every interface, is not).
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
