package config

import (
	"errors"
	"strconv"
	"strings"
)

// Error is one problem with the configuration: where it is, which key, and
// what is wrong. Load, Parse, Validate and FromArgs return every problem
// they find at once, as Errors.
type Error struct {
	File string // configuration file; "" when the value is a default or a flag
	Line int    // 1-based line in File; 0 when unknown
	Col  int    // 1-based column; 0 when unknown (TOML syntax errors have one)
	Flag string // the command-line flag that set Key, without "-"; "" if none
	Key  string // dotted key path: "msrp.max_chunk", "room[1].name"; "" for the whole file
	Err  error
}

// Error formats e as "file:line:col: key: message", or
// "flag -name: key: message" for a value given on the command line.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.Flag != "":
		b.WriteString("flag -" + e.Flag)
	case e.File != "":
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
			if e.Col > 0 {
				b.WriteString(":" + strconv.Itoa(e.Col))
			}
		}
	}
	if e.Key != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Key)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem found in a configuration, in the order found:
// file errors in file order, then validation errors in key order.
type Errors []*Error

// Error lists the problems, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// add appends a problem with key.
func (es *Errors) add(key string, err error) {
	*es = append(*es, &Error{Key: key, Err: err})
}

// addf appends a problem with key and a message.
func (es *Errors) addf(key, msg string) {
	es.add(key, errors.New(msg))
}

// err returns es as an error, or nil when there is no problem.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}
