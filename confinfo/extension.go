package confinfo

import "encoding/xml"

// Extensions holds what a structured element carried beyond this package's
// vocabulary, so that it survives a parse → Marshal → parse round trip:
// RFC 4575 and niemi-00 allow attributes and elements from other namespaces
// almost everywhere (xs:anyAttribute, xs:any namespace="##other"). Unknown
// elements in the document's own namespace are kept too.
type Extensions struct {
	// Attrs are the unknown attributes in document order, without
	// namespace declarations. Name.Space is the namespace URI ("" for an
	// unqualified attribute). They must not repeat an attribute the
	// package writes itself.
	Attrs []xml.Attr

	// Elements are the unknown child elements in document order. Marshal
	// writes them after the known children.
	Elements []Element
}

// Element is an XML element kept verbatim, up to namespace prefixes and
// comments: an unknown extension element, or an element this package
// treats as opaque (<sidebars-by-ref>, <sidebars-by-val>).
type Element struct {
	Name     xml.Name   // Name.Space is the namespace URI, "" for none
	Attr     []xml.Attr // as Extensions.Attrs
	Children []Node     // mixed content in document order
}

// Node is one item of an Element's content: character data when Element is
// nil, otherwise a child element. Adjacent character data is one Node.
type Node struct {
	Text    string
	Element *Element
}

// Text returns the concatenated character data of e and its descendants.
func (e *Element) Text() string {
	var b []byte
	var walk func(*Element)
	walk = func(e *Element) {
		for _, n := range e.Children {
			if n.Element != nil {
				walk(n.Element)
			} else {
				b = append(b, n.Text...)
			}
		}
	}
	walk(e)
	return string(b)
}

// attr keeps a unless it is a namespace declaration.
func (x *Extensions) attr(a xml.Attr) {
	if !isNSDecl(a) {
		x.Attrs = append(x.Attrs, a)
	}
}

// element captures the unknown element se.
func (x *Extensions) element(d *decoder, se xml.StartElement) error {
	e, err := d.element(se)
	if err != nil {
		return err
	}
	x.Elements = append(x.Elements, e)
	return nil
}

// write writes the extension elements, each on its own indented line.
func (x *Extensions) write(w *writer) {
	for i := range x.Elements {
		w.element(&x.Elements[i])
	}
}

// mergeFrom replaces the attributes and the elements of x by those of u,
// each only where u has some. Used by partial-notification merges, which
// cannot know what unknown content means.
func (x *Extensions) mergeFrom(u Extensions) {
	if len(u.Attrs) > 0 {
		x.Attrs = u.Attrs
	}
	if len(u.Elements) > 0 {
		x.Elements = u.Elements
	}
}
