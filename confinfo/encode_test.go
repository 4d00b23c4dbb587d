package confinfo

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
)

func TestMarshalExtensionNamespaces(t *testing.T) {
	const a, b = "urn:a", "urn:b"
	c := &ConferenceInfo{
		Entity: "sip:r@x",
		Ext: Extensions{
			Attrs: []xml.Attr{
				{Name: xml.Name{Space: a, Local: "x"}, Value: "1"},
				{Name: xml.Name{Space: XConNamespace, Local: "y"}, Value: "2"},
			},
			Elements: []Element{
				{Name: xml.Name{Space: a, Local: "e"}, Attr: []xml.Attr{
					{Name: xml.Name{Space: a, Local: "p"}, Value: "reuses ns1"},
					{Name: xml.Name{Space: b, Local: "q"}, Value: "declares ns2"},
					{Name: xml.Name{Space: xmlNamespace, Local: "lang"}, Value: "en"},
				}, Children: []Node{
					{Text: "t"},
					{Element: &Element{Name: xml.Name{Space: a, Local: "same"}}},
					{Element: &Element{Name: xml.Name{Local: "none"}, Children: []Node{
						{Element: &Element{Name: xml.Name{Local: "inner"}}},
					}}},
					{Element: &Element{Name: xml.Name{Space: Namespace, Local: "back"}}},
				}},
				{Name: xml.Name{Space: b, Local: "f"}, Attr: []xml.Attr{
					{Name: xml.Name{Space: b, Local: "q"}, Value: "ns2 again: the binding ended"},
				}},
			},
		},
	}
	out := roundTrip(t, c)
	const want = `<?xml version="1.0" encoding="UTF-8"?>
<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" xmlns:xcon="urn:ietf:params:xml:ns:xcon-conference-info" xmlns:ns1="urn:a" entity="sip:r@x" ns1:x="1" xcon:y="2">
  <e xmlns="urn:a" xmlns:ns2="urn:b" ns1:p="reuses ns1" ns2:q="declares ns2" xml:lang="en">t<same/><none xmlns=""><inner/></none><back xmlns="urn:ietf:params:xml:ns:conference-info"/></e>
  <f xmlns="urn:b" xmlns:ns2="urn:b" ns2:q="ns2 again: the binding ended"/>
</conference-info>
`
	if string(out) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", out, want)
	}
}

func TestMarshalEscaping(t *testing.T) {
	c := NewFull("sip:r@x?a=1&b=<2>", 1)
	c.Description.Subject = "tab\tquote\" apos' amp& lt< gt> cr\r lf\n é 𝄞 \ufffd"
	c.AddUser(User{Entity: "sip:a@x", Nickname: "tab\tquote\" lf\n cr\r <&>"})
	out := roundTrip(t, c)
	for _, s := range []string{
		`entity="sip:r@x?a=1&amp;b=&lt;2&gt;"`,
		"<subject>tab\tquote\" apos' amp&amp; lt&lt; gt&gt; cr&#xD; lf\n é 𝄞 \ufffd</subject>",
		`xcon:nickname="tab&#x9;quote&quot; lf&#xA; cr&#xD; &lt;&amp;&gt;"`,
	} {
		if !strings.Contains(string(out), s) {
			t.Errorf("output lacks %s\n%s", s, out)
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*ConferenceInfo)
		msg    string
	}{
		{"bad root state", func(c *ConferenceInfo) { c.State = "done" }, `<conference-info>: bad state "done"`},
		{"bad users state", func(c *ConferenceInfo) { c.Users.State = "x" }, "<users>: bad state"},
		{"bad user state", func(c *ConferenceInfo) { c.Users.Users[0].State = "x" }, "<user>: bad state"},
		{"bad endpoint state", func(c *ConferenceInfo) { c.Users.Users[0].Endpoints[0].State = "x" }, "<endpoint>: bad state"},
		{"bad uris state", func(c *ConferenceInfo) { c.Description.ConfURIs = &URIs{State: "x"} }, "<conf-uris>: bad state"},
		{"media without id", func(c *ConferenceInfo) { c.Users.Users[0].Endpoints[0].Media[0].ID = "" }, "<media> without id"},
		{"control character", func(c *ConferenceInfo) { c.Description.Subject = "a\x00b" }, "cannot be written"},
		{"invalid UTF-8", func(c *ConferenceInfo) { c.Users.Users[0].Nickname = "\xff" }, "cannot be written"},
		{"noncharacter", func(c *ConferenceInfo) { c.Description.FreeText = "\ufffe" }, "cannot be written"},
		{"keyword with space", func(c *ConferenceInfo) { c.Description.Keywords = []string{"a b"} }, "<keywords> item"},
		{"empty keyword", func(c *ConferenceInfo) { c.Users.Users[0].Languages = []string{""} }, "<languages> item"},
		{"bad element name", func(c *ConferenceInfo) {
			c.Ext.Elements = []Element{{Name: xml.Name{Local: "a b"}}}
		}, "bad element name"},
		{"empty element name", func(c *ConferenceInfo) { c.Ext.Elements = []Element{{}} }, "bad element name"},
		{"bad attribute name", func(c *ConferenceInfo) {
			c.Ext.Attrs = []xml.Attr{{Name: xml.Name{Local: "a=b"}}}
		}, "bad attribute name"},
		{"namespace declaration as attribute", func(c *ConferenceInfo) {
			c.Users.Ext.Attrs = []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: "urn:x"}}
		}, "bad attribute name"},
		{"prefix declaration as attribute", func(c *ConferenceInfo) {
			c.Users.Ext.Attrs = []xml.Attr{{Name: xml.Name{Space: "xmlns", Local: "p"}, Value: "urn:x"}}
		}, "bad attribute name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewChatRoom("sip:r@x", "Room", 1)
			c.AddUser(ChatUser("sip:a@x", "Ann", "", ChatEndpoint("sip:a@pc", "1")))
			if _, err := c.Marshal(); err != nil {
				t.Fatalf("before mutation: %v", err)
			}
			tc.mutate(c)
			out, err := c.Marshal()
			if out != nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Marshal = %q, %v; want error with %q", out, err, tc.msg)
			}
		})
	}
}

func TestMarshalOmitsAbsentParts(t *testing.T) {
	c := &ConferenceInfo{Entity: "sip:r@x"}
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	const want = `<?xml version="1.0" encoding="UTF-8"?>
<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" xmlns:xcon="urn:ietf:params:xml:ns:xcon-conference-info" entity="sip:r@x"/>
`
	if string(out) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", out, want)
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"a": true, "a-b.c_d": true, "x:y": true, ":a": true, "é": true, "日本": true,
		"": false, "0": false, "-a": false, ".a": false, "a b": false, "a>": false, "a/": false, "a\"": false, "\xff": false,
	} {
		if got := validName(name); got != want {
			t.Errorf("validName(%q) = %v", name, got)
		}
	}
}
