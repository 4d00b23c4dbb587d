package confinfo

import (
	"reflect"
	"strings"
	"testing"
)

// Parse is lenient where leniency cannot change the meaning.
func TestParseLenient(t *testing.T) {
	doc := "\xef\xbb\xbf" + `<?xml version="1.0" encoding="utf-8"?>
<!-- a comment before the root -->
<?app processing instruction?>
<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:r@x" state=" partial " version=" 9 ">
  stray text in element-only content is ignored
  <conference-state>
    <user-count> 007 </user-count><!-- comment -->
    <active>1</active>
    <locked> 0 </locked>
  </conference-state>
  <users>
    <user entity="sip:a@x">
      <display-text> Ann <![CDATA[<&>]]> Lee </display-text>
      <roles><entry>participant</entry><x:junk xmlns:x="urn:x">dropped</x:junk></roles>
      <languages>
        en   de
      </languages>
      <endpoint entity="e">
        <status>
          connected
        </status>
        <media id="m"><status> sendrecv </status></media>
      </endpoint>
    </user>
  </users>
</conference-info>
<!-- a comment after the root -->
`
	c, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if c.State != StatePartial || c.Version != 9 {
		t.Errorf("state %q version %d", c.State, c.Version)
	}
	if !reflect.DeepEqual(c.ConferenceState, &ConferenceState{UserCount: u32(7), Active: boolp(true), Locked: boolp(false)}) {
		t.Errorf("conference-state = %+v", c.ConferenceState)
	}
	u := c.Users.Users[0]
	if u.DisplayText != " Ann <&> Lee " {
		t.Errorf("display-text = %q (text is kept verbatim)", u.DisplayText)
	}
	if !reflect.DeepEqual(u.Roles, []string{"participant"}) || !reflect.DeepEqual(u.Languages, []string{"en", "de"}) {
		t.Errorf("roles %q languages %q", u.Roles, u.Languages)
	}
	e := u.Endpoints[0]
	if e.Status != StatusConnected || e.Media[0].Status != MediaSendRecv {
		t.Errorf("status %q media status %q", e.Status, e.Media[0].Status)
	}
	roundTrip(t, c)
}

func TestParseKeepsUnknownEnumerations(t *testing.T) {
	c, err := Parse([]byte(`<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"><users><user entity="a">
		<endpoint entity="e"><status>sleeping</status><joining-method>teleported</joining-method>
		<disconnection-method>vanished</disconnection-method><media id="1"><status>both</status></media></endpoint>
		</user></users></conference-info>`))
	if err != nil {
		t.Fatalf("Parse rejects what Validate should: %v", err)
	}
	e := c.Users.Users[0].Endpoints[0]
	if e.Status != "sleeping" || e.JoiningMethod != "teleported" || e.DisconnectionMethod != "vanished" || e.Media[0].Status != "both" {
		t.Errorf("endpoint = %+v", e)
	}
	roundTrip(t, c)
}

func TestParseDepthLimit(t *testing.T) {
	// The root plus MaxDepth-1 nested elements is the deepest accepted.
	n := MaxDepth - 1
	doc := `<conference-info xmlns="urn:ietf:params:xml:ns:conference-info">` +
		strings.Repeat("<x:a xmlns:x='urn:x'>", n) + strings.Repeat("</x:a>", n) + `</conference-info>`
	c, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("depth %d: %v", MaxDepth, err)
	}
	roundTrip(t, c)
}

func TestParseRepeatedSingleElementLastWins(t *testing.T) {
	c, err := Parse([]byte(`<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" version="1" version="2">
		<conference-description><subject>one</subject><subject>two</subject></conference-description></conference-info>`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 2 || c.Description.Subject != "two" {
		t.Errorf("version %d subject %q", c.Version, c.Description.Subject)
	}
}

func TestSplitSpace(t *testing.T) {
	// Only XML white space separates list items; U+00A0 does not.
	got := splitSpace(" a\tb\r\nc\u00a0d ")
	if !reflect.DeepEqual(got, []string{"a", "b", "c\u00a0d"}) {
		t.Errorf("splitSpace = %q", got)
	}
	if splitSpace(" \n ") != nil {
		t.Error("empty list is not nil")
	}
}
