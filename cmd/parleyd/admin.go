package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/parley-im/parley/internal/buildinfo"
	"github.com/parley-im/parley/internal/config"
)

// The admin listener's defaults (docs/ADMIN.md).
const (
	adminDefaultListen = "127.0.0.1:9560"
	adminDefaultPort   = "9560"
)

// adminTimeout bounds each request to the admin listener (a variable for
// the tests).
var adminTimeout = 30 * time.Second

// adminMaxAnswer bounds the answer read from the admin listener.
const adminMaxAnswer = 32 << 20

// adminFlagsHelp describes the flags every admin API command takes.
const adminFlagsHelp = `These talk to the running parleyd through its admin listener (docs/ADMIN.md):
its address and token are those of the [admin] table of the -config file
(listen, token, token_file), or -admin and -token-file. Flags:
  -config file       parleyd's TOML configuration file, for admin.listen,
                     admin.token and admin.token_file
  -admin address     the admin listener: a URL, or host:port, which is
                     http:// on a loopback address and https:// otherwise
                     (default: admin.listen, else 127.0.0.1:9560)
  -token-file file   a file holding the admin token (one line), sent as
                     Authorization: Bearer (default: admin.token_file,
                     else admin.token)
  -insecure          do not verify the admin listener's TLS certificate: for
                     the self-signed certificate parleyd makes in its data
                     directory when [tls] names none
  -json              print the server's JSON answer as it is
Exit status: 0 done, 1 refused or failed (the server's error on stderr),
2 a bad command line or configuration.
`

// adminFlags are the flags every admin API command takes.
type adminFlags struct {
	config, admin, tokenFile string
	insecure, json           bool
}

func (f *adminFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "parleyd's TOML configuration `file`, for admin.listen, admin.token and admin.token_file")
	fs.StringVar(&f.admin, "admin", "", "the admin listener's `address`: a URL, or host:port (http:// on a loopback address, https:// otherwise) (default: admin.listen, else "+adminDefaultListen+")")
	fs.StringVar(&f.tokenFile, "token-file", "", "`file` holding the admin token (default: admin.token_file, else admin.token)")
	fs.BoolVar(&f.insecure, "insecure", false, "do not verify the admin listener's TLS certificate (for parleyd's self-signed default certificate)")
	fs.BoolVar(&f.json, "json", false, "print the server's JSON answer as it is")
}

// adminClient calls the admin API of a running parleyd.
type adminClient struct {
	cmd    string // "parleyd room list": the prefix of messages
	base   string // scheme://host:port[/path], without a trailing slash
	origin string // where the address comes from, for messages
	token  string // "" sends no Authorization
	hc     *http.Client
}

// newAdminClient resolves the admin listener's address and token from the
// flags and the -config file. An error is a bad command line or
// configuration (exit status 2).
func newAdminClient(cmd string, f adminFlags) (*adminClient, error) {
	listen, origin := adminDefaultListen, "admin.listen "+adminDefaultListen+", the default"
	ac := config.Default().Admin
	if f.config != "" {
		cfg, err := config.Load(f.config)
		if err != nil {
			return nil, err
		}
		ac = cfg.Admin
		listen, origin = ac.Listen, fmt.Sprintf("admin.listen %s in %s", ac.Listen, f.config)
		if listen == "" && f.admin == "" {
			return nil, fmt.Errorf("%s: the admin listener is off (admin.listen = \"\"): set admin.listen, or give -admin", f.config)
		}
	}
	if f.admin != "" {
		listen, origin = f.admin, "-admin "+f.admin
	}
	if f.tokenFile != "" {
		ac.TokenFile = f.tokenFile
	}
	token, err := (&config.Config{Admin: ac}).AdminToken()
	if err != nil {
		return nil, err
	}
	base, err := adminURL(listen)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", origin, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if f.insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return &adminClient{cmd: cmd, base: base, origin: origin, token: token,
		hc: &http.Client{Transport: tr, Timeout: adminTimeout}}, nil
}

// adminURL is the base URL of the admin listener at addr: a http:// or
// https:// URL as it is, or host:port (the port 9560 if none), which is
// http:// on a loopback address and https:// on any other — as the server
// itself decides. An unspecified address (":9560", "0.0.0.0:9560", what
// admin.listen may say) is reached on 127.0.0.1, over https://.
func adminURL(addr string) (string, error) {
	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil {
			return "", err
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return "", fmt.Errorf("%q is not an http:// or https:// URL of the admin listener", addr)
		}
		return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil { // no port
		host, port = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"), adminDefaultPort
	}
	switch {
	case port == "":
		port = adminDefaultPort
	case port == "0":
		return "", fmt.Errorf("%q has port 0 (any free port): give -admin with the port the server took", addr)
	}
	if strings.ContainsAny(host, "/ ") {
		return "", fmt.Errorf("%q is not a host:port or URL", addr)
	}
	scheme := "https"
	ip := net.ParseIP(host)
	switch {
	case host == "" || ip != nil && ip.IsUnspecified():
		host = "127.0.0.1"
	case strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback():
		scheme = "http"
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// adminAPIError is an answer of the admin listener that is not a success.
type adminAPIError struct {
	status  int
	message string   // "error"
	errs    []string // "errors"
	body    string   // the answer, when it is not a JSON error
}

func (e *adminAPIError) Error() string { return e.message }

// do sends method path?query with body (JSON-encoded unless nil) and
// returns the answer to a success (2xx). Any other answer is an
// *adminAPIError; a failure to get one is a transport error.
func (c *adminClient) do(method, path string, query url.Values, body any) ([]byte, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "parleyd/"+buildinfo.Read().Version)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, adminMaxAnswer))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, u, err)
	}
	if res.StatusCode/100 == 2 {
		return data, nil
	}
	e := &adminAPIError{status: res.StatusCode}
	var j struct {
		Error  string   `json:"error"`
		Errors []string `json:"errors"`
	}
	if json.Unmarshal(data, &j) == nil && (j.Error != "" || len(j.Errors) > 0) {
		e.message, e.errs = j.Error, j.Errors
	} else {
		e.body = string(data)
	}
	return nil, e
}

// fail reports err, an error of do, on stderr and returns the exit status.
func (c *adminClient) fail(stderr io.Writer, err error) int {
	p := c.cmd + ": "
	var api *adminAPIError
	var uerr *url.Error
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var notTLS tls.RecordHeaderError
	switch {
	case errors.As(err, &api):
		if api.message == "" && len(api.errs) == 0 {
			line, _, _ := strings.Cut(strings.TrimSpace(api.body), "\n")
			if len(line) > 200 {
				line = line[:200] + "…"
			}
			msg := fmt.Sprintf("%d %s", api.status, http.StatusText(api.status))
			if line != "" {
				msg += ": " + line
			}
			fmt.Fprintln(stderr, p+msg)
		}
		if api.message != "" {
			fmt.Fprintln(stderr, p+api.message)
		}
		for _, e := range api.errs {
			fmt.Fprintln(stderr, p+e)
		}
		if api.status == http.StatusUnauthorized {
			if c.token == "" {
				fmt.Fprintln(stderr, p+"the admin listener wants a token: give -token-file, or -config with admin.token_file or admin.token")
			} else {
				fmt.Fprintln(stderr, p+"the admin listener refused the token")
			}
		}
	case errors.Is(err, syscall.ECONNREFUSED):
		fmt.Fprintf(stderr, "%scannot reach the admin listener at %s: is parleyd running? (%s)\n", p, c.base, c.origin)
	case errors.As(err, &unknownCA), errors.As(err, &hostname):
		fmt.Fprintf(stderr, "%s%v\n%sthe admin listener's certificate is not trusted: parleyd's self-signed one? -insecure skips the verification\n", p, err, p)
	case errors.As(err, &notTLS), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		fmt.Fprintf(stderr, "%s%v\n%sthe admin listener does not speak TLS: give -admin http://…\n", p, err, p)
	case errors.As(err, &uerr) && uerr.Timeout():
		fmt.Fprintf(stderr, "%sthe admin listener at %s did not answer in %v (%s)\n", p, c.base, adminTimeout, c.origin)
	default:
		fmt.Fprintln(stderr, p+err.Error())
	}
	return 1
}

// parseAdminArgs parses args — positional arguments and flags in any order,
// all positional after "--" — on fs and returns the positional ones.
func parseAdminArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		if !strings.HasPrefix(args[0], "-") || args[0] == "-" {
			pos, args = append(pos, args[0]), args[1:]
			continue
		}
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		args = rest
	}
	return pos, nil
}

// answer does the request; with -json it prints the answer as it came,
// and done says there is nothing more to print.
func (c *adminClient) answer(f adminFlags, stdout io.Writer, method, path string, query url.Values, body any) (data []byte, done bool, err error) {
	data, err = c.do(method, path, query, body)
	if err != nil || !f.json {
		return data, false, err
	}
	printJSON(stdout, data)
	return data, true, nil
}

// printJSON writes an answer as it came, ending with a newline.
func printJSON(w io.Writer, data []byte) {
	w.Write(data)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		io.WriteString(w, "\n")
	}
}
