package confinfo

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// nicknameGoldens are the nickname-info documents under testdata/: the four
// niemi-00 §4.3.2.3 documents verbatim (SPEC §2.3), then one with
// extensions.
var nicknameGoldens = []string{
	"niemi-1-offer.xml",
	"niemi-2-denied.xml",
	"niemi-3-offer.xml",
	"niemi-4-confirmed.xml",
	"niemi-extensions.xml",
}

func mustParseNickname(tb testing.TB, name string) *NicknameInfo {
	tb.Helper()
	n, err := ParseNicknameInfo(readGolden(tb, name))
	if err != nil {
		tb.Fatalf("ParseNicknameInfo(%s): %v", name, err)
	}
	return n
}

func roundTripNickname(tb testing.TB, n *NicknameInfo) []byte {
	tb.Helper()
	out, err := n.Marshal()
	if err != nil {
		tb.Fatalf("Marshal: %v", err)
	}
	n2, err := ParseNicknameInfo(out)
	if err != nil {
		tb.Fatalf("ParseNicknameInfo(Marshal()): %v\n%s", err, out)
	}
	if !reflect.DeepEqual(n, n2) {
		tb.Fatalf("round trip changed the document\nfirst:  %#v\nsecond: %#v\n%s", n, n2, out)
	}
	return out
}

func TestGoldenNiemiExchange(t *testing.T) {
	tests := []struct {
		file    string
		version uint64
		want    []Nickname
		offer   bool // sent by the participant
	}{
		{"niemi-1-offer.xml", 0, []Nickname{
			{ID: "486586ds", State: NicknameSuggested, DisplayName: "Daisy"},
		}, true},
		{"niemi-2-denied.xml", 1, []Nickname{
			{ID: "486586ds", State: NicknameDenied, Reason: ReasonInUse},
			{ID: "d82ms938", State: NicknameAvailable, DisplayName: "Daisy44"},
			{ID: "bkid92as", State: NicknameAvailable, DisplayName: "Daisy49"},
		}, false},
		{"niemi-3-offer.xml", 2, []Nickname{
			{ID: "m239wd4", State: NicknameSuggested, DisplayName: "Blue Arrow"},
		}, true},
		{"niemi-4-confirmed.xml", 3, []Nickname{
			{ID: "m239wd4", State: NicknameConfirmed, DisplayName: "Blue Arrow", URI: "im:bluearrow@example.com.invalid"},
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			n := mustParseNickname(t, tc.file)
			if n.Entity != "sip:blue@example.com" || n.Version != tc.version || n.State != "" {
				t.Errorf("root = %q %d %q", n.Entity, n.Version, n.State)
			}
			if !reflect.DeepEqual(n.Nicknames, tc.want) {
				t.Errorf("nicknames = %+v\nwant        %+v", n.Nicknames, tc.want)
			}
			if err := n.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if err := n.ValidateOffer(); (err == nil) != tc.offer {
				t.Errorf("ValidateOffer = %v, offer %v", err, tc.offer)
			}
			out := roundTripNickname(t, n)
			// No state attribute was received, so none is written.
			root := xmlHeader + "\n<nickname-info xmlns=\"urn:ietf:params:xml:ns:nickname-info\" version="
			if !bytes.HasPrefix(out, []byte(root)) || bytes.Contains(out, []byte(" state=\"full\"")) {
				t.Errorf("unexpected root:\n%s", out)
			}
		})
	}
}

func TestGoldenNiemiExtensions(t *testing.T) {
	const ns = "http://example.com/nick-ext"
	n := mustParseNickname(t, "niemi-extensions.xml")
	if n.State != StateFull || n.Version != 12 {
		t.Errorf("root = %q %d", n.State, n.Version)
	}
	if len(n.Ext.Attrs) != 1 || n.Ext.Attrs[0].Name.Space != ns || n.Ext.Attrs[0].Value != "parley" {
		t.Errorf("root attributes = %+v", n.Ext.Attrs)
	}
	if len(n.Ext.Elements) != 1 || n.Ext.Elements[0].Name.Local != "note" || n.Ext.Elements[0].Text() != "kept as is" {
		t.Errorf("root elements = %+v", n.Ext.Elements)
	}
	nn := n.Nicknames[0]
	if len(nn.Ext.Attrs) != 1 || len(nn.Ext.Elements) != 1 || nn.Ext.Elements[0].Name.Space != ns {
		t.Errorf("nickname extensions = %+v", nn.Ext)
	}
	out := roundTripNickname(t, n)
	if !bytes.Contains(out, []byte(`state="full"`)) {
		t.Errorf("state not written:\n%s", out)
	}
}

func TestMarshalNicknameExact(t *testing.T) {
	n := &NicknameInfo{Version: 0, Entity: "sip:blue@example.com", Nicknames: []Nickname{
		{ID: "486586ds", State: NicknameDenied, Reason: ReasonInUse},
		{ID: "x", State: NicknameSuggested, DisplayName: "Daisy & Co"},
	}}
	out := roundTripNickname(t, n)
	const want = `<?xml version="1.0" encoding="UTF-8"?>
<nickname-info xmlns="urn:ietf:params:xml:ns:nickname-info" version="0" entity="sip:blue@example.com">
  <nickname id="486586ds" state="denied" reason="in-use"/>
  <nickname id="x" state="suggested">
    <display-name>Daisy &amp; Co</display-name>
  </nickname>
</nickname-info>
`
	if string(out) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", out, want)
	}
	n.State = StateDeleted
	if _, err := n.Marshal(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Marshal with state deleted: %v", err)
	}
}

func TestParseNicknameInfoErrors(t *testing.T) {
	const head = `<nickname-info xmlns="urn:ietf:params:xml:ns:nickname-info" `
	tests := []struct {
		name, doc string
		want      error
		msg       string
	}{
		{"wrong namespace", `<nickname-info xmlns="urn:ietf:params:xml:ns:conference-info" version="0"/>`, ErrInvalid, "root element"},
		{"conference-info", `<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"/>`, ErrInvalid, "root element"},
		{"no version", head + `entity="sip:a@b"/>`, ErrInvalid, "without version"},
		{"negative version", head + `version="-1" entity="sip:a@b"/>`, ErrInvalid, "non-negative"},
		{"text version", head + `version="one" entity="sip:a@b"/>`, ErrInvalid, "non-negative"},
		{"deleted state", head + `version="0" state="deleted"/>`, ErrInvalid, "bad state"},
		{"bad state", head + `version="0" state="whole"/>`, ErrInvalid, "bad state"},
		{"element in display-name", head + `version="0"><nickname id="a" state="suggested"><display-name>A<b/></display-name></nickname></nickname-info>`, ErrInvalid, "inside text-only"},
		{"unclosed", head + `version="0"><nickname id="a">`, ErrSyntax, ""},
		{"empty", ``, ErrSyntax, "no root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseNicknameInfo([]byte(tc.doc))
			if !errors.Is(err, tc.want) || n != nil {
				t.Fatalf("ParseNicknameInfo = %v, %v; want %v", n, err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "confinfo: ") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
		})
	}
	big := append([]byte(head+`version="0">`), bytes.Repeat([]byte(" "), MaxDocumentSize)...)
	if _, err := ParseNicknameInfo(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: %v", err)
	}
}

func TestNicknameValidate(t *testing.T) {
	valid := func() *NicknameInfo {
		return &NicknameInfo{Version: 1, Entity: "sip:blue@example.com", Nicknames: []Nickname{
			{ID: "a", State: NicknameSuggested, DisplayName: "Daisy"},
		}}
	}
	tests := []struct {
		name   string
		mutate func(*NicknameInfo)
		msg    string // "" = valid
	}{
		{"valid", func(*NicknameInfo) {}, ""},
		{"no nicknames", func(n *NicknameInfo) { n.Nicknames = nil }, ""},
		{"partial", func(n *NicknameInfo) { n.State = StatePartial }, ""},
		{"denied without display-name", func(n *NicknameInfo) {
			n.Nicknames[0] = Nickname{ID: "a", State: NicknameDenied, Reason: ReasonPolicy}
		}, ""},
		{"no entity", func(n *NicknameInfo) { n.Entity = "" }, "without entity"},
		{"deleted", func(n *NicknameInfo) { n.State = StateDeleted }, "bad state"},
		{"no id", func(n *NicknameInfo) { n.Nicknames[0].ID = "" }, "no id"},
		{"repeated id", func(n *NicknameInfo) { n.Nicknames = append(n.Nicknames, n.Nicknames[0]) }, "repeated"},
		{"no state", func(n *NicknameInfo) { n.Nicknames[0].State = "" }, "bad state"},
		{"bad state", func(n *NicknameInfo) { n.Nicknames[0].State = "taken" }, "bad state"},
		{"no display-name", func(n *NicknameInfo) { n.Nicknames[0].DisplayName = "" }, "without display-name"},
		{"bad reason", func(n *NicknameInfo) {
			n.Nicknames[0].State, n.Nicknames[0].Reason = NicknameDenied, "rude"
		}, "bad reason"},
		{"reason without denied", func(n *NicknameInfo) { n.Nicknames[0].Reason = ReasonInUse }, "only denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := valid()
			tc.mutate(n)
			err := n.Validate()
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Validate = %v, want %q", err, tc.msg)
			}
		})
	}
}

func TestNicknameValidateOffer(t *testing.T) {
	offer := &NicknameInfo{Version: 0, Entity: "sip:blue@example.com", Nicknames: []Nickname{
		{ID: "a", State: NicknameSuggested, DisplayName: "Daisy"},
	}}
	if err := offer.ValidateOffer(); err != nil {
		t.Fatal(err)
	}
	offer.Nicknames[0].URI = "im:daisy@example.com.invalid"
	if err := offer.ValidateOffer(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "must not set <uri>") {
		t.Errorf("offer with uri: %v", err)
	}
	offer.Nicknames[0].URI = ""
	offer.Nicknames[0].State = NicknameConfirmed
	if err := offer.ValidateOffer(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "only suggest") {
		t.Errorf("offer confirming: %v", err)
	}
	offer.Entity = ""
	if err := offer.ValidateOffer(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "entity") {
		t.Errorf("offer without entity: %v", err)
	}
}
