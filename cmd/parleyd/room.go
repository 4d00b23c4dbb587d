package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"unicode"
)

// roomUsage is the help of parleyd room.
const roomUsage = `Usage:
  parleyd room list [flags]                        list the rooms
  parleyd room show <name> [flags]                 show a room: its policy, participants
                                                   and subscriptions
  parleyd room create <name> [-subject S] [-set key=value …] [flags]
                                                   create a room, kept until deleted
  parleyd room delete <name> [-reason R] [flags]   delete a room: every participant gets
                                                   a BYE, every subscriber a final NOTIFY

A room created here has the policy [rooms] gives every room, with the keys
of -subject and -set over it, as a [[room]] entry of the configuration file
would (its delete_when defaults to never). -set key=value sets one such key
(may be repeated): a value that is JSON (200, true, ["a","b"]) is sent as
such, anything else as a string:
  parleyd room create ops -subject 'On call' -set history=200 -set history_max_age=48h

` + adminFlagsHelp

// participantUsage is the help of parleyd participant.
const participantUsage = `Usage:
  parleyd participant kick <room> <uri> [-reason R] [flags]
                                   remove a participant from a room (a BYE,
                                   with the reason)

  parleyd participant kick ops sip:mallory@example.com -reason spam

` + adminFlagsHelp

// adminRoom is a room in the admin API's answers.
type adminRoom struct {
	Name          string                     `json:"name"`
	URI           string                     `json:"uri"`
	Configured    bool                       `json:"configured"`
	Policy        map[string]json.RawMessage `json:"policy"`
	Participants  []adminParticipant         `json:"participants"`
	Subscriptions int                        `json:"subscriptions"`
}

// adminParticipant is a participant of an adminRoom.
type adminParticipant struct {
	URI       string `json:"uri"`
	Nickname  string `json:"nickname"`
	Anonymous bool   `json:"anonymous"`
	Guest     bool   `json:"guest"`
	Account   string `json:"account"`
	Transport string `json:"transport"`
}

// subject is the room's policy's subject, "" if none.
func (r adminRoom) subject() string {
	var s string
	_ = json.Unmarshal(r.Policy["subject"], &s)
	return s
}

// setFlags collects the -set key=value flags, in order.
type setFlags []string

func (s *setFlags) String() string { return strings.Join(*s, " ") }

func (s *setFlags) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || strings.TrimSpace(k) == "" {
		return errors.New("want key=value")
	}
	*s = append(*s, v)
	return nil
}

// adminCommand is one parleyd room or parleyd participant command.
type adminCommand struct {
	args  []string // the names of its positional arguments
	flags func(fs *flag.FlagSet, v *adminValues)
	run   func(c *adminClient, f adminFlags, v *adminValues, pos []string, stdout io.Writer) error
}

// adminValues are the values of the commands' own flags.
type adminValues struct {
	subject, reason string
	set             setFlags
	fs              *flag.FlagSet
}

var roomCommands = map[string]adminCommand{
	"list":   {run: roomList},
	"show":   {args: []string{"name"}, run: roomShow},
	"create": {args: []string{"name"}, flags: createFlags, run: roomCreate},
	"delete": {args: []string{"name"}, flags: reasonFlag, run: roomDelete},
}

var participantCommands = map[string]adminCommand{
	"kick": {args: []string{"room", "uri"}, flags: reasonFlag, run: participantKick},
}

// runRoom runs parleyd room <op> ….
func runRoom(args []string, stdout, stderr io.Writer) int {
	return runAdminCommand("room", roomUsage, roomCommands, args, stdout, stderr)
}

// runParticipant runs parleyd participant <op> ….
func runParticipant(args []string, stdout, stderr io.Writer) int {
	return runAdminCommand("participant", participantUsage, participantCommands, args, stdout, stderr)
}

func runAdminCommand(group, usage string, cmds map[string]adminCommand, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	op, rest := args[0], args[1:]
	cmd, ok := cmds[op]
	if !ok {
		fmt.Fprintf(stderr, "parleyd %s: unknown command %q\n\n%s", group, op, usage)
		return 2
	}
	name := "parleyd " + group + " " + op
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f adminFlags
	f.register(fs)
	v := &adminValues{fs: fs}
	if cmd.flags != nil {
		cmd.flags(fs, v)
	}
	synopsis := name
	for _, a := range cmd.args {
		synopsis += " <" + a + ">"
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s [flags]\n(parleyd %s -h for more)\n\n", synopsis, group)
		fs.PrintDefaults()
	}
	pos, err := parseAdminArgs(fs, rest)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		return 2 // flag has printed the problem and the usage
	case len(pos) < len(cmd.args):
		fmt.Fprintf(stderr, "%s: the %s is missing\nUsage: %s [flags]\n", name, cmd.args[len(pos)], synopsis)
		return 2
	case len(pos) > len(cmd.args):
		fmt.Fprintf(stderr, "%s: unexpected argument %q\nUsage: %s [flags]\n", name, pos[len(cmd.args)], synopsis)
		return 2
	}
	for i, p := range pos {
		if p == "" {
			fmt.Fprintf(stderr, "%s: the %s is empty\n", name, cmd.args[i])
			return 2
		}
	}
	c, err := newAdminClient(name, f)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	if err := cmd.run(c, f, v, pos, stdout); err != nil {
		var usage usageError
		if errors.As(err, &usage) {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return 2
		}
		return c.fail(stderr, err)
	}
	return 0
}

// usageError is a bad command line found by a command's run.
type usageError struct{ error }

func createFlags(fs *flag.FlagSet, v *adminValues) {
	fs.StringVar(&v.subject, "subject", "", "the room's `subject`")
	fs.Var(&v.set, "set", "set a [[room]] `key=value` of the room's policy (repeatable); a JSON value (200, true, [\"a\"]) is sent as such, anything else as a string")
}

func reasonFlag(fs *flag.FlagSet, v *adminValues) {
	fs.StringVar(&v.reason, "reason", "", "the `reason` given to the participants")
}

// roomPath is the API path of the room name.
func roomPath(name string) string { return "/api/v1/rooms/" + url.PathEscape(name) }

func roomList(c *adminClient, f adminFlags, _ *adminValues, _ []string, stdout io.Writer) error {
	data, done, err := c.answer(f, stdout, "GET", "/api/v1/rooms", nil, nil)
	if err != nil || done {
		return err
	}
	var ans struct {
		Rooms []adminRoom `json:"rooms"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return fmt.Errorf("the admin listener's answer: %w", err)
	}
	sort.SliceStable(ans.Rooms, func(i, j int) bool { return ans.Rooms[i].Name < ans.Rooms[j].Name })
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROOM\tPARTICIPANTS\tSUBSCRIPTIONS\tSUBJECT")
	for _, r := range ans.Rooms {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", printable(r.Name), len(r.Participants), r.Subscriptions, printable(r.subject()))
	}
	return tw.Flush()
}

func roomShow(c *adminClient, f adminFlags, _ *adminValues, pos []string, stdout io.Writer) error {
	data, done, err := c.answer(f, stdout, "GET", roomPath(pos[0]), nil, nil)
	if err != nil || done {
		return err
	}
	var r adminRoom
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("the admin listener's answer: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "room\t%s\n", printable(r.Name))
	fmt.Fprintf(tw, "uri\t%s\n", printable(r.URI))
	fmt.Fprintf(tw, "configured\t%t\n", r.Configured)
	fmt.Fprintf(tw, "subscriptions\t%d\n", r.Subscriptions)
	fmt.Fprintf(tw, "participants\t%d\n", len(r.Participants))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "policy:")
	keys := make([]string, 0, len(r.Policy))
	for k := range r.Policy {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := string(r.Policy[k])
		var s string
		if json.Unmarshal(r.Policy[k], &s) == nil {
			v = s
		}
		fmt.Fprintf(tw, "  %s\t%s\n", printable(k), printable(v))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Participants) == 0 {
		return nil
	}
	fmt.Fprintln(stdout, "participants:")
	fmt.Fprintln(tw, "  NICKNAME\tURI\tTRANSPORT")
	for _, p := range r.Participants {
		var notes string
		if p.Account != "" {
			notes += "  account " + printable(p.Account)
		}
		if p.Guest {
			notes += "  guest"
		}
		if p.Anonymous {
			notes += "  anonymous"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s%s\n", cell(p.Nickname), printable(p.URI), cell(p.Transport), notes)
	}
	return tw.Flush()
}

func roomCreate(c *adminClient, f adminFlags, v *adminValues, pos []string, stdout io.Writer) error {
	body, err := roomBody(pos[0], v)
	if err != nil {
		return usageError{err}
	}
	data, done, err := c.answer(f, stdout, "POST", "/api/v1/rooms", nil, body)
	if err != nil || done {
		return err
	}
	var r adminRoom
	if json.Unmarshal(data, &r) == nil && r.URI != "" {
		fmt.Fprintf(stdout, "room %s: created (%s)\n", pos[0], printable(r.URI))
	} else {
		fmt.Fprintf(stdout, "room %s: created\n", pos[0])
	}
	return nil
}

// roomBody is the body of POST /api/v1/rooms: the name, -subject if
// given, and each -set key=value, its value JSON if it is valid JSON and a
// string otherwise.
func roomBody(name string, v *adminValues) (map[string]json.RawMessage, error) {
	body := map[string]json.RawMessage{}
	put := func(k string, val any) {
		b, _ := json.Marshal(val) // a string: cannot fail
		body[k] = b
	}
	put("name", name)
	v.fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "subject" {
			put("subject", v.subject)
		}
	})
	for _, kv := range v.set {
		k, val, _ := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if _, dup := body[k]; dup {
			if k == "name" {
				return nil, errors.New("-set name: the name is the command's argument")
			}
			return nil, fmt.Errorf("-set %s: %s given twice", k, k)
		}
		if json.Valid([]byte(val)) {
			body[k] = json.RawMessage(val)
		} else {
			put(k, val)
		}
	}
	return body, nil
}

func roomDelete(c *adminClient, f adminFlags, v *adminValues, pos []string, stdout io.Writer) error {
	var q url.Values
	if v.reason != "" {
		q = url.Values{"reason": {v.reason}}
	}
	data, done, err := c.answer(f, stdout, "DELETE", roomPath(pos[0]), q, nil)
	if err != nil || done {
		return err
	}
	var ans struct {
		Removed       int `json:"removed"`
		Subscriptions int `json:"subscriptions"`
	}
	_ = json.Unmarshal(data, &ans) // the room is deleted either way
	fmt.Fprintf(stdout, "room %s: deleted (%s removed, %s ended)\n", pos[0],
		plural(ans.Removed, "participant"), plural(ans.Subscriptions, "subscription"))
	return nil
}

func participantKick(c *adminClient, f adminFlags, v *adminValues, pos []string, stdout io.Writer) error {
	body := struct {
		URI    string `json:"uri"`
		Reason string `json:"reason,omitempty"`
	}{pos[1], v.reason}
	_, done, err := c.answer(f, stdout, "POST", roomPath(pos[0])+"/kick", nil, body)
	if err != nil || done {
		return err
	}
	fmt.Fprintf(stdout, "%s: removed from room %s\n", pos[1], pos[0])
	return nil
}

// plural is "1 thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// printable replaces the control characters of s (a subject's tab or
// newline) with spaces, so that it keeps to its table cell.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// cell is printable(s), or "-" for "".
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return printable(s)
}
