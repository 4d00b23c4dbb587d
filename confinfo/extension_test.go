package confinfo

import (
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
)

func TestExtensionCapture(t *testing.T) {
	c, err := Parse([]byte(`<conference-info xmlns="urn:ietf:params:xml:ns:conference-info">` +
		`<e:x xmlns:e="urn:e" xmlns:f="urn:f" f:a="1" b="2">one<!-- c --><![CDATA[ two ]]><?pi x?>three` +
		`<f:y/>  <z xmlns="urn:z">in z</z>tail</e:x></conference-info>`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Element{{
		Name: xml.Name{Space: "urn:e", Local: "x"},
		Attr: []xml.Attr{
			{Name: xml.Name{Space: "urn:f", Local: "a"}, Value: "1"},
			{Name: xml.Name{Local: "b"}, Value: "2"},
		},
		Children: []Node{
			{Text: "one two three"}, // comment and PI dropped, text merged
			{Element: &Element{Name: xml.Name{Space: "urn:f", Local: "y"}}},
			{Text: "  "},
			{Element: &Element{Name: xml.Name{Space: "urn:z", Local: "z"}, Children: []Node{{Text: "in z"}}}},
			{Text: "tail"},
		},
	}}
	if !reflect.DeepEqual(c.Ext.Elements, want) {
		t.Errorf("captured %#v\nwant     %#v", c.Ext.Elements, want)
	}
	if got := c.Ext.Elements[0].Text(); got != "one two three  in ztail" {
		t.Errorf("Text = %q", got)
	}
	out := roundTrip(t, c)
	const wantOut = `<x xmlns="urn:e" xmlns:ns1="urn:f" ns1:a="1" b="2">one two three<y xmlns="urn:f"/>  <z xmlns="urn:z">in z</z>tail</x>`
	if !strings.Contains(string(out), wantOut) {
		t.Errorf("output lacks %s:\n%s", wantOut, out)
	}
}

func TestExtensionsMergeFrom(t *testing.T) {
	a := []xml.Attr{{Name: xml.Name{Local: "a"}}}
	e := []Element{{Name: xml.Name{Local: "e"}}}
	x := Extensions{Attrs: a, Elements: e}
	x.mergeFrom(Extensions{})
	if !reflect.DeepEqual(x, Extensions{Attrs: a, Elements: e}) {
		t.Errorf("empty update changed %+v", x)
	}
	b := []xml.Attr{{Name: xml.Name{Local: "b"}}}
	x.mergeFrom(Extensions{Attrs: b})
	if !reflect.DeepEqual(x, Extensions{Attrs: b, Elements: e}) {
		t.Errorf("attrs not replaced alone: %+v", x)
	}
}

func TestNamespaceDeclarationsAreNotKept(t *testing.T) {
	c, err := Parse([]byte(`<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" xmlns:unused="urn:u"><users xmlns="urn:ietf:params:xml:ns:conference-info" xmlns:p="urn:p"/></conference-info>`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Ext.Attrs != nil || c.Users.Ext.Attrs != nil {
		t.Errorf("declarations kept: %+v %+v", c.Ext.Attrs, c.Users.Ext.Attrs)
	}
}

// Namespace corner cases encoding/xml lets through must round-trip too.
var trickyNamespaceDocs = []string{
	// Unbound prefixes: encoding/xml uses the prefix as the namespace.
	`<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"><p:x q:a="1"/></conference-info>`,
	// Undeclared default namespace, and an element named xmlns.
	`<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"><users xmlns=""><user/><xmlns/></users></conference-info>`,
	// The xml prefix, a prefix bound to the xml namespace, names with
	// leading or trailing colons.
	`<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" xmlns:w="http://www.w3.org/XML/1998/namespace" w:space="preserve" xml:lang="en"><:a b:="1"/></conference-info>`,
	// Elements named xmlns in a namespace, and a non-ASCII local part.
	`<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" xmlns:p="urn:p" xmlns:x="urn:ietf:params:xml:ns:xcon-conference-info"><p:xmlns><x:xmlns a="1"><xml:xmlns/><ci:xmlns xmlns:ci="urn:ietf:params:xml:ns:conference-info"/></x:xmlns></p:xmlns><p:é/></conference-info>`,
	// The known vocabulary under another prefix, redeclared inside.
	`<c:conference-info xmlns:c="urn:ietf:params:xml:ns:conference-info"><c:users><u:user xmlns:u="urn:ietf:params:xml:ns:conference-info" entity="e"><c:display-text>d</c:display-text></u:user></c:users></c:conference-info>`,
	// Attributes in the conference-info and xcon namespaces on unknown
	// and known elements.
	`<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" xmlns:c="urn:ietf:params:xml:ns:conference-info" xmlns:x="urn:ietf:params:xml:ns:xcon-conference-info" c:entity="q" x:nickname="root"><e xmlns="urn:e" c:state="full" x:other="o"/></conference-info>`,
}

func TestTrickyNamespacesRoundTrip(t *testing.T) {
	for _, d := range trickyNamespaceDocs {
		c, err := Parse([]byte(d))
		if err != nil {
			t.Errorf("Parse(%s): %v", d, err)
			continue
		}
		roundTrip(t, c)
	}
	// Spot checks of what the cases above mean.
	c, _ := Parse([]byte(trickyNamespaceDocs[4]))
	if u := c.Users.Users[0]; u.Entity != "e" || u.DisplayText != "d" {
		t.Errorf("vocabulary under other prefixes: %+v", u)
	}
	c, _ = Parse([]byte(trickyNamespaceDocs[5]))
	if c.Entity != "" || len(c.Ext.Attrs) != 2 {
		t.Errorf("qualified entity and root nickname are extensions: %q %+v", c.Entity, c.Ext.Attrs)
	}
}
