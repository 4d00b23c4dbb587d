package config

import (
	"flag"
	"fmt"
	"io"
	"os"
)

// Action is what cmd/parleyd does after FromArgs.
type Action int

// Actions.
const (
	Run          Action = iota // start the server with the Config
	Check                      // -t: the configuration is valid and was reported OK; exit 0
	PrintDefault               // -print-config: the default configuration was printed; exit 0
)

func (a Action) String() string {
	switch a {
	case Run:
		return "run"
	case Check:
		return "check"
	case PrintDefault:
		return "print-default"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// configFlag is a command-line flag that sets one configuration key.
type configFlag struct {
	name, key, usage string
	field            func(*Config) any // *string or *bool
}

var configFlags = []configFlag{
	{"host", "server.host", "public host `name` used in SIP and MSRP URIs",
		func(c *Config) any { return &c.Server.Host }},
	{"sip-udp", "sip.udp", "SIP UDP listen `address` (\"\" disables; port 0: any free port)",
		func(c *Config) any { return &c.SIP.UDP }},
	{"sip-tcp", "sip.tcp", "SIP TCP listen `address` (\"\" disables; port 0: any free port)",
		func(c *Config) any { return &c.SIP.TCP }},
	{"sip-tls", "sip.tls", "SIP over TLS listen `address` (\"\" disables; port 0: any free port)",
		func(c *Config) any { return &c.SIP.TLS }},
	{"msrp", "msrp.listen", "MSRP TCP listen `address` (port 0: any free port)",
		func(c *Config) any { return &c.MSRP.Listen }},
	{"msrp-tls", "msrp.tls_listen", "MSRP over TLS (msrps) listen `address` (\"\" disables; port 0: any free port)",
		func(c *Config) any { return &c.MSRP.TLSListen }},
	{"https", "https.listen", "HTTPS (WebSocket) listen `address` (\"\" disables; port 0: any free port)",
		func(c *Config) any { return &c.HTTPS.Listen }},
	{"data-dir", "server.data_dir", "`directory` of parleyd's state (rooms and their history, the self-signed TLS certificate)",
		func(c *Config) any { return &c.Server.DataDir }},
	{"store", "store.mode", "where history is kept: `file` (in the data directory) or memory",
		func(c *Config) any { return (*string)(&c.Store.Mode) }},
	{"admin", "admin.listen", "admin listener `address`: metrics, health, the admin API (\"\" disables; docs/ADMIN.md)",
		func(c *Config) any { return &c.Admin.Listen }},
	{"store-url", "store.url", "NATS server or cluster `URL` to keep history in instead of the embedded one",
		func(c *Config) any { return &c.Store.URL }},
	{"log-level", "log.level", "log `level`: debug, info, warn or error",
		func(c *Config) any { return &c.Log.Level }},
	{"trace", "log.trace", "log raw SIP and MSRP traffic",
		func(c *Config) any { return &c.Log.Trace }},
}

// RegisterFlags defines on fs the flags that set configuration keys:
// -host, -sip-udp, -sip-tcp, -sip-tls, -msrp, -msrp-tls, -https,
// -data-dir, -store, -store-url, -log-level and -trace, bound to c's
// fields, with c's values as their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	for _, f := range configFlags {
		switch p := f.field(c).(type) {
		case *string:
			fs.StringVar(p, f.name, *p, f.usage)
		case *bool:
			fs.BoolVar(p, f.name, *p, f.usage)
		}
	}
}

// ApplyFlags copies into c the value of every configuration flag that was
// set on the command line parsed by fs (fs.Visit), whichever Config the
// flags were registered on. Flags left unset change nothing, so a file
// loaded after parsing keeps its values except where a flag was given.
func (c *Config) ApplyFlags(fs *flag.FlagSet) { c.applyFlags(fs) }

// applyFlags is ApplyFlags; it returns the flag name that set each key.
func (c *Config) applyFlags(fs *flag.FlagSet) map[string]string {
	set := map[string]string{}
	fs.Visit(func(fl *flag.Flag) {
		for _, f := range configFlags {
			if f.name != fl.Name {
				continue
			}
			switch p := f.field(c).(type) {
			case *string:
				*p = fl.Value.String()
			case *bool:
				*p = fl.Value.String() == "true"
			}
			set[f.key] = f.name
		}
	})
	return set
}

// FromArgs is parleyd's command line: it parses args (without the program
// name), loads the -config file over the defaults, applies the flags that
// were given (they win over the file, in any order), and validates.
//
//	-config FILE    TOML configuration file (default: the built-in defaults)
//	-t              check the configuration, report, exit
//	-print-config   print the commented default configuration, exit
//	-host, -sip-udp, -sip-tcp, -msrp, -log-level, -trace  (see RegisterFlags)
//
// FromArgs does the reporting itself: usage and flag errors, and every
// configuration problem (one per line, "file:line: key: problem"), go to
// stderr; the default configuration (-print-config) and "configuration OK"
// (-t) go to stdout. The error is flag.ErrHelp after -h, the flag error
// after a bad command line, Errors for a bad configuration; the caller only
// chooses the exit status:
//
//	cfg, action, err := config.FromArgs(os.Args[1:], os.Stdout, os.Stderr)
//	switch {
//	case errors.Is(err, flag.ErrHelp):
//		return
//	case err != nil:
//		os.Exit(2)
//	case action != config.Run:
//		return
//	}
func FromArgs(args []string, stdout, stderr io.Writer) (*Config, Action, error) {
	fs := flag.NewFlagSet("parleyd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "TOML configuration `file` (default: the built-in defaults)")
	check := fs.Bool("t", false, "check the configuration, report the result and exit")
	printDefault := fs.Bool("print-config", false, "print the commented default configuration and exit")
	Default().RegisterFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: parleyd [flags]\n"+
			"       parleyd user add|passwd|del|list …   manage accounts (parleyd user -h)\n"+
			"       parleyd nick register|drop|list …    manage registered nicknames (parleyd nick -h)\n"+
			"       parleyd room list|show|create|delete … manage rooms of a running parleyd (parleyd room -h)\n"+
			"       parleyd participant kick ROOM URI    remove a participant (parleyd participant -h)\n"+
			"       parleyd -version                     print the version and exit\n\n"+
			"Runs the parley chat-room server: a SIP conference focus and an MSRP switch.\n"+
			"Flags override the -config file. Print every setting with -print-config.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, Run, err // flag has printed the problem and the usage
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintln(stderr, "parleyd:", err)
		fs.Usage()
		return nil, Run, err
	}
	if *printDefault {
		_, err := stdout.Write(defaultTOML)
		return nil, PrintDefault, err
	}
	action := Run
	if *check {
		action = Check
	}

	c := Default()
	var src *source
	var errs Errors
	if *file != "" {
		data, err := os.ReadFile(*file)
		if err != nil {
			errs = Errors{{Err: err}}
		} else {
			src, errs = decode(c, *file, data)
		}
		if src == nil { // unreadable, or not TOML: nothing to validate
			return nil, action, report(stderr, errs)
		}
	}
	set := c.applyFlags(fs)
	errs = append(errs, src.locate(c.validate(), set)...)
	if len(errs) > 0 {
		return nil, action, report(stderr, errs)
	}
	c.source = *file
	c.flags = map[string]string{}
	fs.Visit(func(fl *flag.Flag) { c.flags[fl.Name] = fl.Value.String() })
	c.index()
	if action == Check {
		fmt.Fprintln(stdout, "parleyd: configuration OK")
	}
	return c, action, nil
}

// report prints each problem on its own line and returns them.
func report(w io.Writer, errs Errors) error {
	for _, e := range errs {
		fmt.Fprintln(w, "parleyd:", e)
	}
	n := "1 problem"
	if len(errs) != 1 {
		n = fmt.Sprintf("%d problems", len(errs))
	}
	fmt.Fprintf(w, "parleyd: invalid configuration (%s)\n", n)
	return errs
}
