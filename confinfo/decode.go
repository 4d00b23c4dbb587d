package confinfo

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxDocumentSize is the largest input, in bytes, that Parse and
// ParseNicknameInfo accept. A full conference-info document for a room of a
// few hundred participants is a few hundred kilobytes at most.
const MaxDocumentSize = 1 << 20

// MaxDepth is the deepest element nesting Parse and ParseNicknameInfo
// accept, counting the root as 1. Known conference-info elements nest six
// deep; the rest is room for extensions.
const MaxDepth = 64

// decoder reads one document token by token. Known elements are matched on
// namespace and local name; everything else is captured as an Element.
type decoder struct {
	x     *xml.Decoder
	depth int // open elements, root included
}

var utf8BOM = []byte("\xef\xbb\xbf")

func newDecoder(b []byte) (*decoder, error) {
	if len(b) > MaxDocumentSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxDocumentSize)
	}
	b = bytes.TrimPrefix(b, utf8BOM)
	// Strict (the default): undefined entities and mismatched tags are
	// errors. No CharsetReader: a declared encoding other than UTF-8 is
	// rejected, as RFC 4575 §5 and niemi-00 require UTF-8.
	return &decoder{x: xml.NewDecoder(bytes.NewReader(b))}, nil
}

// invalidf returns an ErrInvalid error located at the current line.
func (d *decoder) invalidf(format string, args ...any) error {
	line, _ := d.x.InputPos()
	return fmt.Errorf("%w: line %d: %s", ErrInvalid, line, fmt.Sprintf(format, args...))
}

// syntaxf returns an ErrSyntax error located at the current line.
func (d *decoder) syntaxf(format string, args ...any) error {
	line, _ := d.x.InputPos()
	return fmt.Errorf("%w: line %d: %s", ErrSyntax, line, fmt.Sprintf(format, args...))
}

// token returns the next token; the end of input is an error because it is
// only called inside the root element.
func (d *decoder) token() (xml.Token, error) {
	t, err := d.x.Token()
	if err == nil {
		if se, ok := t.(xml.StartElement); ok {
			err = d.checkNames(se)
		}
		return t, err
	}
	if errors.Is(err, io.EOF) {
		return nil, d.syntaxf("unexpected end of document")
	}
	return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
}

// root skips the prolog and returns the root start element, which must be
// want.
func (d *decoder) root(want xml.Name) (xml.StartElement, error) {
	for {
		t, err := d.x.Token()
		if errors.Is(err, io.EOF) {
			return xml.StartElement{}, d.syntaxf("no root element")
		}
		if err != nil {
			return xml.StartElement{}, fmt.Errorf("%w: %w", ErrSyntax, err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			if err := d.checkNames(t); err != nil {
				return xml.StartElement{}, err
			}
			if t.Name != want {
				return xml.StartElement{}, d.invalidf("root element is <%s> in namespace %q, want <%s> in %q",
					t.Name.Local, t.Name.Space, want.Local, want.Space)
			}
			d.depth = 1
			return t, nil
		case xml.CharData:
			if !isSpace(string(t)) {
				return xml.StartElement{}, d.syntaxf("text before the root element")
			}
		case xml.Directive:
			return xml.StartElement{}, d.syntaxf("DOCTYPE or other directive not allowed")
		}
	}
}

// epilogue checks that only white space, comments and processing
// instructions follow the root element.
func (d *decoder) epilogue() error {
	for {
		t, err := d.x.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrSyntax, err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			return d.syntaxf("element <%s> after the root element", t.Name.Local)
		case xml.CharData:
			if !isSpace(string(t)) {
				return d.syntaxf("text after the root element")
			}
		case xml.Directive:
			return d.syntaxf("DOCTYPE or other directive not allowed")
		}
	}
}

// checkNames enforces two Namespaces in XML 1.0 §3 rules encoding/xml
// does not: a prefix declaration must not be empty (xmlns:p="" is XML 1.1),
// and the local part of a prefixed name must be a name by itself ("p:0" is
// a well-formed XML name but not a QName). Marshal writes elements without
// prefixes, and attributes whose prefix was bound to "" without one, so
// either would otherwise produce a name that does not read back.
func (d *decoder) checkNames(se xml.StartElement) error {
	if !validLocal(se.Name.Local) {
		return d.syntaxf("element <%s>: local part is not an XML name", se.Name.Local)
	}
	for _, a := range se.Attr {
		if a.Name.Space == "xmlns" && a.Value == "" {
			return d.syntaxf("empty namespace declaration for prefix %q", a.Name.Local)
		}
		if !validLocal(a.Name.Local) {
			return d.syntaxf("attribute %s: local part is not an XML name", a.Name.Local)
		}
	}
	return nil
}

// validLocal reports whether a local name read by encoding/xml can start a
// name on its own. The decoder has already checked every character but the
// first may follow a colon.
func validLocal(local string) bool {
	r, _ := utf8.DecodeRuneInString(local)
	if r < utf8.RuneSelf {
		return r == '_' || r == ':' || 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z'
	}
	// Beyond ASCII ask encoding/xml itself: its name tables (XML 1.0
	// fourth edition) are not exported. Rare enough not to matter.
	_, err := xml.NewDecoder(strings.NewReader("<" + local + "/>")).Token()
	return err == nil
}

// children reads the content of an element-only element up to its end tag,
// calling fn for every child start element; fn must consume the child up to
// and including its end tag. Character data, comments and processing
// instructions are skipped.
func (d *decoder) children(fn func(xml.StartElement) error) error {
	for {
		t, err := d.token()
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if err := d.enter(); err != nil {
				return err
			}
			if err := fn(t); err != nil {
				return err
			}
			d.depth--
		case xml.EndElement:
			return nil
		}
	}
}

// skip consumes the rest of an element that is dropped.
func (d *decoder) skip() error {
	if err := d.x.Skip(); err != nil {
		return fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	return nil
}

// enter accounts for one more open element.
func (d *decoder) enter() error {
	d.depth++
	if d.depth > MaxDepth {
		return d.syntaxf("elements nested deeper than %d", MaxDepth)
	}
	return nil
}

// text reads the character data of a text-only element up to its end tag.
// A child element is an error; attributes of se are ignored.
func (d *decoder) text(se xml.StartElement) (string, error) {
	var sb strings.Builder
	for {
		t, err := d.token()
		if err != nil {
			return "", err
		}
		switch t := t.(type) {
		case xml.CharData:
			sb.Write(t)
		case xml.StartElement:
			return "", d.invalidf("element <%s> inside text-only <%s>", t.Name.Local, se.Name.Local)
		case xml.EndElement:
			return sb.String(), nil
		}
	}
}

// trimmed reads a text-only element and strips XML white space around the
// value, as XML Schema does for numbers, booleans and tokens.
func (d *decoder) trimmed(se xml.StartElement) (string, error) {
	s, err := d.text(se)
	return trimSpace(s), err
}

// uint32Value reads an xs:unsignedInt element.
func (d *decoder) uint32Value(se xml.StartElement) (*uint32, error) {
	s, err := d.trimmed(se)
	if err != nil {
		return nil, err
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return nil, d.invalidf("<%s>: %q is not an unsigned 32-bit integer", se.Name.Local, s)
	}
	v := uint32(n)
	return &v, nil
}

// boolValue reads an xs:boolean element: true, false, 1 or 0.
func (d *decoder) boolValue(se xml.StartElement) (*bool, error) {
	s, err := d.trimmed(se)
	if err != nil {
		return nil, err
	}
	var v bool
	switch s {
	case "true", "1":
		v = true
	case "false", "0":
		v = false
	default:
		return nil, d.invalidf("<%s>: %q is not a boolean", se.Name.Local, s)
	}
	return &v, nil
}

// list reads an xs:list element: items separated by XML white space.
func (d *decoder) list(se xml.StartElement) ([]string, error) {
	s, err := d.text(se)
	if err != nil {
		return nil, err
	}
	return splitSpace(s), nil
}

// state parses a state attribute value; allowDeleted is false for
// nickname-info.
func (d *decoder) state(elem, value string, allowDeleted bool) (State, error) {
	s := State(trimSpace(value))
	if !s.Valid() || (!allowDeleted && s == StateDeleted) {
		return "", d.invalidf("<%s>: bad state %q", elem, value)
	}
	return s, nil
}

// element captures an unknown element (whose start tag has been read and
// counted by enter) with its whole content.
func (d *decoder) element(se xml.StartElement) (Element, error) {
	e := Element{Name: se.Name}
	for _, a := range se.Attr {
		if !isNSDecl(a) {
			e.Attr = append(e.Attr, a)
		}
	}
	// Adjacent character data (split by comments, CDATA sections or
	// processing instructions) is merged into one text node.
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			e.Children = append(e.Children, Node{Text: text.String()})
			text.Reset()
		}
	}
	for {
		t, err := d.token()
		if err != nil {
			return Element{}, err
		}
		switch t := t.(type) {
		case xml.CharData:
			text.Write(t)
		case xml.StartElement:
			flush()
			if err := d.enter(); err != nil {
				return Element{}, err
			}
			c, err := d.element(t)
			if err != nil {
				return Element{}, err
			}
			d.depth--
			e.Children = append(e.Children, Node{Element: &c})
		case xml.EndElement:
			flush()
			return e, nil
		}
	}
}

// isNSDecl reports whether a is a namespace declaration (xmlns or
// xmlns:prefix); declarations are not kept, Marshal writes its own.
func isNSDecl(a xml.Attr) bool {
	return a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns")
}

// isAttr reports whether a is the unqualified attribute local.
func isAttr(a xml.Attr, local string) bool {
	return a.Name.Space == "" && a.Name.Local == local
}

// isXMLSpace reports whether c is XML white space (#x20 | #x9 | #xD | #xA).
func isXMLSpace(c rune) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

func isSpace(s string) bool {
	return strings.TrimFunc(s, isXMLSpace) == ""
}

func trimSpace(s string) string {
	return strings.TrimFunc(s, isXMLSpace)
}

func splitSpace(s string) []string {
	f := strings.FieldsFunc(s, isXMLSpace)
	if len(f) == 0 {
		return nil
	}
	return f
}
