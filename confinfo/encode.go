package confinfo

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// xmlHeader starts every document Marshal writes.
const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>`

// xmlNamespace is the namespace bound to the reserved prefix "xml".
const xmlNamespace = "http://www.w3.org/XML/1998/namespace"

// writer serializes a document. encoding/xml's Encoder is not used because
// it repeats xmlns="..." on every namespaced element and invents prefixes
// for namespaced attributes; this writer keeps track of the default
// namespace and of prefix bindings in scope, so known elements come out
// unprefixed under one root declaration and xcon:nickname keeps its
// conventional prefix.
//
// Errors are sticky: the first one is kept, later writes are skipped or
// harmless, and bytes returns it.
type writer struct {
	buf   []byte
	err   error
	space string    // namespace of the known vocabulary
	stack []frame   // open elements
	binds []binding // prefix bindings in scope, innermost last
}

type frame struct {
	qname     string // for the end tag; unprefixed but for <p:xmlns>
	space     string // default namespace inside the element
	nbinds    int    // len(binds) before this element's declarations
	open      bool   // start tag not yet closed with '>'
	indentEnd bool   // has indented children: end tag on its own line
}

type binding struct{ prefix, uri string }

func newWriter(space string) *writer {
	w := &writer{space: space, buf: make([]byte, 0, 4096)}
	w.buf = append(w.buf, xmlHeader...)
	return w
}

// bytes returns the finished document.
func (w *writer) bytes() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	w.buf = append(w.buf, '\n')
	return w.buf, nil
}

func (w *writer) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
}

// newline starts an indented line for a child of the current element.
func (w *writer) newline() {
	if n := len(w.stack); n > 0 {
		w.closeStart()
		w.stack[n-1].indentEnd = true
	}
	w.buf = append(w.buf, '\n')
	for range len(w.stack) {
		w.buf = append(w.buf, "  "...)
	}
}

// open writes the start tag of a known element on its own line. Attribute
// groups are written in order.
func (w *writer) open(local string, attrs ...[]xml.Attr) {
	w.newline()
	w.start(xml.Name{Space: w.space, Local: local}, nil, attrs...)
}

// openRoot writes the root start tag with explicit prefix declarations.
func (w *writer) openRoot(local string, decls []binding, attrs ...[]xml.Attr) {
	w.newline()
	w.start(xml.Name{Space: w.space, Local: local}, decls, attrs...)
}

// close writes the end tag of the innermost element.
func (w *writer) close() {
	if w.err != nil || len(w.stack) == 0 {
		return
	}
	f := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	w.binds = w.binds[:f.nbinds]
	switch {
	case f.open:
		w.buf = append(w.buf, "/>"...)
		return
	case f.indentEnd:
		w.newline()
	}
	w.buf = append(w.buf, "</"...)
	w.buf = append(w.buf, f.qname...)
	w.buf = append(w.buf, '>')
}

// leaf writes a known text-only element on its own line.
func (w *writer) leaf(local, text string) {
	w.open(local)
	w.text(text)
	w.close()
}

// optLeaf writes a known text-only element unless text is empty.
func (w *writer) optLeaf(local, text string) {
	if text != "" {
		w.leaf(local, text)
	}
}

func (w *writer) uintLeaf(local string, v *uint32) {
	if v != nil {
		w.leaf(local, strconv.FormatUint(uint64(*v), 10))
	}
}

func (w *writer) boolLeaf(local string, v *bool) {
	if v != nil {
		w.leaf(local, strconv.FormatBool(*v))
	}
}

func (w *writer) listLeaf(local string, items []string) {
	for _, it := range items {
		if it == "" || strings.ContainsFunc(it, isXMLSpace) {
			w.fail("<%s> item %q is empty or contains white space", local, it)
			return
		}
	}
	if len(items) > 0 {
		w.leaf(local, strings.Join(items, " "))
	}
}

// element writes an extension or opaque element on its own line; its
// content is written as is, without indentation.
func (w *writer) element(e *Element) {
	w.newline()
	w.raw(e)
}

func (w *writer) raw(e *Element) {
	w.start(e.Name, nil, e.Attr)
	for _, n := range e.Children {
		if n.Element != nil {
			w.raw(n.Element)
		} else {
			w.text(n.Text)
		}
	}
	w.close()
}

// closeStart finishes a pending start tag with '>'.
func (w *writer) closeStart() {
	if n := len(w.stack); n > 0 && w.stack[n-1].open {
		w.buf = append(w.buf, '>')
		w.stack[n-1].open = false
	}
}

// text writes character data into the current element.
func (w *writer) text(s string) {
	if s == "" || w.err != nil {
		return
	}
	w.closeStart()
	w.escape(s, false)
}

// start writes a start tag (left open for attributes-only elements to
// become "/>"). The element is unprefixed: if its namespace differs from
// the default namespace in scope, it declares it. Namespaced attributes
// use a prefix in scope or declare a new one.
func (w *writer) start(name xml.Name, decls []binding, attrs ...[]xml.Attr) {
	if w.err != nil {
		return
	}
	if !validName(name.Local) {
		w.fail("bad element name %q", name.Local)
		return
	}
	w.closeStart()
	parent := ""
	if n := len(w.stack); n > 0 {
		parent = w.stack[n-1].space
	}
	f := frame{qname: name.Local, space: name.Space, nbinds: len(w.binds), open: true}
	var prefixDecl *binding
	if name.Local == "xmlns" && name.Space != "" {
		// encoding/xml gives an unprefixed element named xmlns no
		// namespace, whatever the default: this one needs a prefix.
		p := w.prefix(name.Space)
		switch {
		case name.Space == xmlNamespace:
			p = "xml"
		case p == "":
			p = w.freePrefix()
			prefixDecl = &binding{p, name.Space}
		}
		f.qname, f.space = p+":xmlns", parent
	}
	w.stack = append(w.stack, f)
	w.buf = append(w.buf, '<')
	w.buf = append(w.buf, f.qname...)
	if f.space != parent {
		w.buf = append(w.buf, ` xmlns="`...)
		w.escape(name.Space, true)
		w.buf = append(w.buf, '"')
	}
	if prefixDecl != nil {
		w.declare(*prefixDecl)
	}
	for _, b := range decls {
		w.declare(b)
	}
	// Declarations first, so that they precede the attributes using them.
	for _, g := range attrs {
		for _, a := range g {
			if a.Name.Space != "" && a.Name.Space != xmlNamespace && w.prefix(a.Name.Space) == "" {
				w.declare(binding{w.freePrefix(), a.Name.Space})
			}
		}
	}
	for _, g := range attrs {
		for _, a := range g {
			w.attr(a)
		}
	}
}

func (w *writer) declare(b binding) {
	w.binds = append(w.binds, b)
	w.buf = append(w.buf, " xmlns:"...)
	w.buf = append(w.buf, b.prefix...)
	w.buf = append(w.buf, `="`...)
	w.escape(b.uri, true)
	w.buf = append(w.buf, '"')
}

func (w *writer) attr(a xml.Attr) {
	if !validName(a.Name.Local) || isNSDecl(a) {
		w.fail("bad attribute name %q", a.Name.Local)
		return
	}
	w.buf = append(w.buf, ' ')
	switch a.Name.Space {
	case "":
	case xmlNamespace:
		w.buf = append(w.buf, "xml:"...)
	default:
		w.buf = append(w.buf, w.prefix(a.Name.Space)...)
		w.buf = append(w.buf, ':')
	}
	w.buf = append(w.buf, a.Name.Local...)
	w.buf = append(w.buf, `="`...)
	w.escape(a.Value, true)
	w.buf = append(w.buf, '"')
}

// prefix returns the prefix bound to uri in scope, or "".
func (w *writer) prefix(uri string) string {
	for i := len(w.binds) - 1; i >= 0; i-- {
		if w.binds[i].uri == uri {
			return w.binds[i].prefix
		}
	}
	return ""
}

// freePrefix returns the first of ns1, ns2, ... not bound in scope. Since
// a generated prefix never shadows one in scope, every binding found by
// prefix is still in effect.
func (w *writer) freePrefix() string {
	for i := 1; ; i++ {
		p := "ns" + strconv.Itoa(i)
		bound := false
		for _, b := range w.binds {
			if b.prefix == p {
				bound = true
				break
			}
		}
		if !bound {
			return p
		}
	}
}

// escape appends s as character data or, if inAttr, as an attribute value
// in double quotes. Characters outside the XML Char production and invalid
// UTF-8 are an error: they cannot be written so that they read back.
func (w *writer) escape(s string, inAttr bool) {
	last := 0 // s[last:i] is pending, needs no escaping
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '&' && c != '<' && c != '>' && (c != '"' || !inAttr) {
			i++ // the common case: printable ASCII
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		var esc string
		switch {
		case (r == utf8.RuneError && size == 1) || !isXMLChar(r):
			w.fail("character %q at offset %d cannot be written in XML", s[i:i+size], i)
			return
		case r == '&':
			esc = "&amp;"
		case r == '<':
			esc = "&lt;"
		case r == '>':
			esc = "&gt;"
		case r == '"':
			esc = "&quot;"
		case r == '\r':
			esc = "&#xD;" // a literal CR would read back as LF
		case inAttr && r == '\n':
			esc = "&#xA;" // literal white space in an attribute may be normalized
		case inAttr && r == '\t':
			esc = "&#x9;"
		}
		if esc != "" {
			w.buf = append(w.buf, s[last:i]...)
			w.buf = append(w.buf, esc...)
			last = i + size
		}
		i += size
	}
	w.buf = append(w.buf, s[last:]...)
}

// isXMLChar reports whether r matches the XML 1.0 Char production.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// validName is a cheap guard against names that would break the markup.
// Names from a parsed document always pass; it does not implement the
// full XML Name production.
func validName(s string) bool {
	if s == "" || s[0] == '-' || s[0] == '.' || ('0' <= s[0] && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		if r < 0x80 && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' ||
			r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' || r == ':') {
			return false
		}
		i += size
	}
	return true
}
