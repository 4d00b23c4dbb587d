package confinfo

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	const (
		open  = `<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:r@x" version="1">`
		close = `</conference-info>`
	)
	in := func(s string) string { return open + s + close }
	tests := []struct {
		name, doc string
		want      error
		msg       string
	}{
		{"wrong root", `<conference-infos xmlns="urn:ietf:params:xml:ns:conference-info"/>`, ErrInvalid, "root element is <conference-infos>"},
		{"no namespace", `<conference-info entity="sip:r@x"/>`, ErrInvalid, `in namespace ""`},
		{"wrong namespace", `<conference-info xmlns="urn:ietf:params:xml:ns:xcon-conference-info"/>`, ErrInvalid, "root element"},
		{"nickname-info root", `<nickname-info xmlns="urn:ietf:params:xml:ns:nickname-info" version="0"/>`, ErrInvalid, "root element"},
		{"bad root state", `<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" state="complete"/>`, ErrInvalid, `bad state "complete"`},
		{"empty root state", `<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" state=""/>`, ErrInvalid, "bad state"},
		{"bad users state", in(`<users state="Full"/>`), ErrInvalid, "<users>: bad state"},
		{"bad user state", in(`<users><user entity="a" state="gone"/></users>`), ErrInvalid, "<user>: bad state"},
		{"bad endpoint state", in(`<users><user entity="a"><endpoint state="x"/></user></users>`), ErrInvalid, "<endpoint>: bad state"},
		{"bad uris state", in(`<conference-description><conf-uris state="x"/></conference-description>`), ErrInvalid, "<conf-uris>: bad state"},
		{"non-numeric version", `<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" version="v1"/>`, ErrInvalid, `version "v1"`},
		{"negative version", `<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" version="-1"/>`, ErrInvalid, "version"},
		{"version overflow", `<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" version="4294967296"/>`, ErrInvalid, "32-bit"},
		{"empty version", `<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" version=""/>`, ErrInvalid, "version"},
		{"media without id", in(`<users><user entity="a"><endpoint entity="e"><media><type>message</type></media></endpoint></user></users>`), ErrInvalid, "<media> without id"},
		{"media with empty id", in(`<users><user entity="a"><endpoint entity="e"><media id=""/></endpoint></user></users>`), ErrInvalid, "<media> without id"},
		{"media with qualified id only", in(`<users><user entity="a"><endpoint entity="e"><media xmlns:o="urn:o" o:id="1"/></endpoint></user></users>`), ErrInvalid, "<media> without id"},
		{"bad user-count", in(`<conference-state><user-count>two</user-count></conference-state>`), ErrInvalid, "<user-count>"},
		{"bad maximum-user-count", in(`<conference-description><maximum-user-count>-3</maximum-user-count></conference-description>`), ErrInvalid, "<maximum-user-count>"},
		{"bad boolean", in(`<conference-state><active>yes</active></conference-state>`), ErrInvalid, "not a boolean"},
		{"element in text", in(`<conference-description><subject>a<b>c</b></subject></conference-description>`), ErrInvalid, "inside text-only <subject>"},
		{"mismatched tags", in(`<users></user>`), ErrSyntax, "XML syntax error"},
		{"unclosed root", open, ErrSyntax, ""},
		{"undefined entity", in(`<conference-description><subject>&nbsp;</subject></conference-description>`), ErrSyntax, "entity"},
		{"bad character", in("<conference-description><subject>\x01</subject></conference-description>"), ErrSyntax, "illegal character"},
		{"invalid UTF-8", in("<conference-description><subject>\xff</subject></conference-description>"), ErrSyntax, "UTF-8"},
		{"latin-1 declared", `<?xml version="1.0" encoding="ISO-8859-1"?>` + in(""), ErrSyntax, "ISO-8859-1"},
		{"doctype", `<!DOCTYPE conference-info>` + in(""), ErrSyntax, "DOCTYPE"},
		{"text before root", `hello` + in(""), ErrSyntax, "text before"},
		{"second root", in("") + `<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"/>`, ErrSyntax, "after the root"},
		{"text after root", in("") + `bye`, ErrSyntax, "text after"},
		{"empty", ``, ErrSyntax, "no root element"},
		{"only a comment", `<!-- nothing -->`, ErrSyntax, "no root element"},
		{"empty prefix declaration", in(`<users xmlns:p=""><user p:entity="sip:a@x"/></users>`), ErrSyntax, `empty namespace declaration for prefix "p"`},
		{"local part not a name", in(`<p:0 xmlns:p="urn:p"/>`), ErrSyntax, "local part is not an XML name"},
		{"attribute local part not a name", in(`<users xmlns:p="urn:p" p:-a="1"/>`), ErrSyntax, "local part is not an XML name"},
		{"non-ASCII local part not a name", in(`<p:٠ xmlns:p="urn:p"/>`), ErrSyntax, "local part is not an XML name"},
		{"root local part not a name", `<p:0 xmlns:p="urn:ietf:params:xml:ns:conference-info"/>`, ErrSyntax, "local part"},
		{"too deep", in(strings.Repeat("<x:a xmlns:x='urn:x'>", MaxDepth) + strings.Repeat("</x:a>", MaxDepth)), ErrSyntax, "nested deeper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.doc))
			if c != nil || !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, %v; want %v", c, err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "confinfo: ") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
		})
	}
}

func TestParseErrorsCarryLine(t *testing.T) {
	doc := "<conference-info xmlns='urn:ietf:params:xml:ns:conference-info'>\n<users>\n<user state='bogus'/>\n</users>\n</conference-info>"
	_, err := Parse([]byte(doc))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("error %v does not name line 3", err)
	}
}

func TestParseSizeCap(t *testing.T) {
	doc := `<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"/>`
	pad := MaxDocumentSize - len(doc)
	ok := append([]byte(doc), bytes.Repeat([]byte("\n"), pad)...)
	if _, err := Parse(ok); err != nil {
		t.Fatalf("document of exactly MaxDocumentSize bytes: %v", err)
	}
	_, err := Parse(append(ok, '\n'))
	if !errors.Is(err, ErrTooLarge) || !strings.HasPrefix(err.Error(), "confinfo: ") {
		t.Errorf("one byte more: %v", err)
	}
}
