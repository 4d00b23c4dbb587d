package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/store"
)

// userUsage is the help of parleyd user.
const userUsage = `Usage:
  parleyd user add <name> [flags]      create an account (password asked for, or read from stdin)
  parleyd user passwd <name> [flags]   set an account's password
  parleyd user del <name> [flags]      delete an account
  parleyd user list [flags]            list the accounts

Accounts are kept in parleyd's store (issue 17): the account alice is
sip:alice@<server.host>, and its password is kept only as SIP digest hashes
(SHA-256 and MD5, RFC 8760) for the realm server.host. The flags are
parleyd's (-config, -data-dir, -host, -store, -store-url …): use the ones
the server runs with. While a parleyd runs on the embedded store (its data
directory locked), they go through its control socket
(<data_dir>/parleyd.sock); with store.url, to the NATS server. Either way
a running parleyd sees the change at once.
`

// runUser runs parleyd user <op> ….
func runUser(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, userUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	op, rest := args[0], args[1:]
	var name string
	switch op {
	case "add", "passwd", "del":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			fmt.Fprintf(stderr, "parleyd user %s: the account's name is missing\n\n%s", op, userUsage)
			return 2
		}
		name, rest = rest[0], rest[1:]
	case "list":
	default:
		fmt.Fprintf(stderr, "parleyd user: unknown command %q\n\n%s", op, userUsage)
		return 2
	}
	cfg, status, ok := commandConfig(rest, stdout, stderr)
	if !ok {
		return status
	}
	var err error
	var password string
	if op == "add" || op == "passwd" {
		if password, err = readPassword(stdin, stderr, name); err != nil {
			fmt.Fprintf(stderr, "parleyd user %s: %v\n", op, err)
			return 1
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, code := openCLIStore(ctx, cfg, "user", stderr)
	if st == nil {
		return code
	}
	defer st.Close(context.Background())
	realm := cfg.Server.Host
	switch op {
	case "add", "passwd":
		a := store.Account{Username: name, Realm: realm, HA1: auth.HA1s(name, realm, password)}
		if op == "add" {
			err = st.CreateAccount(ctx, a)
		} else {
			old, ok, gerr := st.GetAccount(ctx, name)
			switch {
			case gerr != nil:
				err = gerr
			case !ok:
				err = fmt.Errorf("no account %q", name)
			default:
				a.Display, a.Created = old.Display, old.Created
				err = st.PutAccount(ctx, a)
			}
		}
	case "del":
		err = st.DeleteAccount(ctx, name)
	case "list":
		var as []store.Account
		if as, err = st.Accounts(ctx); err == nil {
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ACCOUNT\tURI\tCREATED")
			for _, a := range as {
				fmt.Fprintf(tw, "%s\tsip:%s@%s\t%s\n", a.Username, a.Username, a.Realm, a.Created.UTC().Format(time.RFC3339))
			}
			err = tw.Flush()
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "parleyd user %s: %v\n", op, err)
		return 1
	}
	if op != "list" {
		fmt.Fprintf(stdout, "account %s: %s (sip:%s@%s)\n", name, map[string]string{"add": "created", "passwd": "password set", "del": "deleted"}[op], name, realm)
	}
	return 0
}

// readPassword asks for the password twice on a terminal (without echo),
// or reads one line from stdin otherwise.
func readPassword(stdin io.Reader, stderr io.Writer, name string) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "password for %s: ", name)
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(p1) != string(p2) {
			return "", errors.New("the passwords differ")
		}
		return checkPassword(string(p1))
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	return checkPassword(strings.TrimRight(line, "\r\n"))
}

// checkPassword refuses an empty password.
func checkPassword(p string) (string, error) {
	if p == "" {
		return "", errors.New("empty password")
	}
	return p, nil
}
