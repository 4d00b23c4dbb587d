package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/internal/store"
)

// nickUsage is the help of parleyd nick.
const nickUsage = `Usage:
  parleyd nick register <nickname> <account> [flags]   register a nickname to an account
  parleyd nick drop <nickname> [flags]                 drop a registration
  parleyd nick list [flags]                            list the registered nicknames

A registered nickname, and every nickname that looks like it (RFC 8266
comparison and Unicode TR39 confusables: another script's letters,
zero-width characters), is refused (425) to everyone but the participants
of its account, in every room (issue 17). A participant of an account can
register the nickname it holds itself (/nick register in parley). The flags
are parleyd's, as for parleyd user.
`

// runNick runs parleyd nick <op> ….
func runNick(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, nickUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	op, rest := args[0], args[1:]
	want := map[string]int{"register": 2, "drop": 1, "list": 0}
	n, ok := want[op]
	if !ok {
		fmt.Fprintf(stderr, "parleyd nick: unknown command %q\n\n%s", op, nickUsage)
		return 2
	}
	var pos []string
	for len(pos) < n {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			fmt.Fprintf(stderr, "parleyd nick %s: missing arguments\n\n%s", op, nickUsage)
			return 2
		}
		pos, rest = append(pos, rest[0]), rest[1:]
	}
	cfg, status, ok := commandConfig(rest, stdout, stderr)
	if !ok {
		return status
	}
	var err error
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, code := openCLIStore(ctx, cfg, "nick", stderr)
	if st == nil {
		return code
	}
	defer st.Close(context.Background())
	switch op {
	case "register":
		display, key, kerr := room.NicknameKey(pos[0])
		if kerr != nil {
			err = kerr
			break
		}
		if _, ok, aerr := st.GetAccount(ctx, pos[1]); aerr != nil || !ok {
			err = aerr
			if err == nil {
				err = fmt.Errorf("no account %q", pos[1])
			}
			break
		}
		err = st.RegisterNickname(ctx, store.NicknameRegistration{Key: key, Nickname: display, Account: pos[1]})
		if err == nil {
			fmt.Fprintf(stdout, "nickname %s: registered to %s\n", display, pos[1])
		}
	case "drop":
		_, key, kerr := room.NicknameKey(pos[0])
		if kerr != nil {
			err = kerr
			break
		}
		if err = st.DropNickname(ctx, key); err == nil {
			fmt.Fprintf(stdout, "nickname %s: dropped\n", pos[0])
		}
	case "list":
		var rs []store.NicknameRegistration
		if rs, err = st.NicknameRegistrations(ctx); err == nil {
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NICKNAME\tACCOUNT\tREGISTERED")
			for _, r := range rs {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Nickname, r.Account, r.Created.UTC().Format(time.RFC3339))
			}
			err = tw.Flush()
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "parleyd nick %s: %v\n", op, err)
		return 1
	}
	return 0
}
