package main

import (
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/rivo/tview"
)

// nameColors are the colors names are drawn in, picked by a hash of the
// name so that each person keeps one.
var nameColors = []string{"green", "yellow", "blue", "fuchsia", "aqua", "lime", "orange", "violet", "teal", "olive"}

func nameColor(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	return nameColors[h.Sum32()%uint32(len(nameColors))]
}

// mentionStyle is how the text of a message that mentions us is drawn:
// black on yellow, bold, every line of it.
const mentionStyle = "[black:yellow:b]"

// markup is the event as the terminal UI shows it, in tview's color tags;
// everything that came from the network is escaped. A message of several
// lines gives several lines ("\n" between them), its further lines
// indented under the first. It is "" for events the message pane does not
// show (typing: the status line does).
func markup(e Event) string {
	ts := "[gray]" + stamp(e) + "[-] "
	esc := func(s string) string { return tview.Escape(sanitizeLine(s)) }
	name := func(n string) string { return "[" + nameColor(n) + "::b]" + esc(n) + "[-::-]" }
	// body styles each line of the text and joins them, indented.
	body := func(style, end string) string {
		if e.Mention && !e.Self {
			style, end = mentionStyle, "[-:-:-]"
		}
		lines := textLines(e.Text)
		var b strings.Builder
		for i, l := range lines {
			if i > 0 {
				b.WriteString("\n" + continuation(e))
			}
			if l != "" {
				b.WriteString(style + esc(l) + end)
			}
		}
		return b.String()
	}
	switch e.Type {
	case evMessage:
		text := body("", "")
		if e.ContentType != "" {
			text += " [gray](" + esc(e.ContentType) + ")[-]"
		}
		if e.Action {
			return ts + "[aqua]* [-]" + name(e.Name) + " " + body("[aqua]", "[-]")
		}
		return ts + name(e.Name) + ": " + text
	case evPrivate:
		if e.Self {
			return ts + "[fuchsia::b]private[-::-] you → " + name(strings.Join(e.To, ", ")) + ": " + body("[fuchsia]", "[-]")
		}
		return ts + "[fuchsia::b]private[-::-] " + name(e.Name) + " → you: " + body("[fuchsia]", "[-]")
	case evHistory:
		text := body("[::d]", "[-::-]")
		if e.ContentType != "" {
			text += " [::d](" + esc(e.ContentType) + ")[-::-]"
		}
		if e.Action {
			return ts + "[::d]* [-::-]" + name(e.Name) + " " + text
		}
		return ts + name(e.Name) + ": " + text
	case evReconnecting:
		if e.Attempt > 1 {
			return "" // said once, at the first attempt; the input line counts the others
		}
		return ts + "[orange::b]==[-::-] [orange]" + esc(reconnectingText(e)) + "[-]"
	case evReconnected:
		return ts + "[green::b]== " + esc(e.Text) + "[-::-]"
	case evTyping:
		return ""
	case evError:
		return ts + "[red::b]!![-::-] [red]" + esc(e.Text) + "[-]"
	case evEnded:
		return ts + "[red::b]== " + esc(e.Text) + " (/quit to close)[-::-]"
	case evInfo:
		return ts + "[darkcyan]" + esc(e.Text) + "[-]"
	}
	// Notices and roster changes: the plain line without its time.
	line := e.Line()
	if line == "" {
		return ""
	}
	if i := strings.IndexByte(line, ' '); i >= 0 {
		line = line[i+1:]
	}
	return ts + "[yellow]" + tview.Escape(line) + "[-]"
}

// historyDivider is a divider line of the message pane, dim.
func historyDivider(text string) string { return "[gray::d]" + text + "[-::-]" }

// typingLine is the status line for the names of who is typing.
func typingLine(names []string) string {
	switch n := len(names); {
	case n == 0:
		return ""
	case n == 1:
		return names[0] + " is typing…"
	case n == 2:
		return names[0] + " and " + names[1] + " are typing…"
	case n == 3:
		return names[0] + ", " + names[1] + " and " + names[2] + " are typing…"
	default:
		return strconv.Itoa(n) + " people are typing…"
	}
}
