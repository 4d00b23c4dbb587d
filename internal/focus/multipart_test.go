package focus

import (
	"bytes"
	"log/slog"
	"mime"
	"reflect"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/confinfo"
)

// What mixedBody writes, splitInviteBody reads back.
func TestMixedBodyRoundTrip(t *testing.T) {
	sdpBody := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n")
	nick := []byte(nickOffer(0, "sip:a@x", "Daisy"))
	body, ct := mixedBody(bodyPart{sdpType, sdpBody}, bodyPart{confinfo.NicknameMIMEType, nick})
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != mixedType || len(params["boundary"]) > 30 {
		t.Fatalf("Content-Type %q: %v", ct, err)
	}
	parts, err := splitInviteBody(mt, params, body)
	if err != nil || !bytes.Equal(parts.sdp, sdpBody) || !bytes.Equal(parts.nick, nick) {
		t.Fatalf("split: %v\nsdp %q\nnick %q", err, parts.sdp, parts.nick)
	}
	// A part containing a would-be boundary does not clash with the real one.
	if b := newBoundary([]bodyPart{{"text/plain", []byte("--parley-")}}); !strings.HasPrefix(b, "parley-") || len(b) != len("parley-")+16 {
		t.Errorf("boundary %q", b)
	}
}

func TestSplitInviteBody(t *testing.T) {
	for _, tc := range []struct {
		name, ct, body string
		sdp, nick      string
		bad            bool
	}{
		{"plain SDP", "application/sdp", "v=0", "v=0", "", false},
		{"other type", "text/plain", "hi", "", "", false},
		{"empty SDP part", "multipart/mixed;boundary=b", "--b\r\nContent-Type: application/sdp\r\n\r\n\r\n--b--", "", "", false},
		{"default part type ignored", "multipart/mixed;boundary=b", "--b\r\n\r\nhello\r\n--b\r\nContent-Type: application/SDP\r\n\r\nv=0\r\n--b--", "v=0", "", false},
		{"params on part types", "multipart/mixed;boundary=b", "--b\r\nContent-Type: application/nickname-info+xml; charset=utf-8\r\n\r\n<x/>\r\n--b--", "", "<x/>", false},
		{"LF line ends", "multipart/mixed;boundary=b", "--b\nContent-Type: application/sdp\n\nv=0\n--b--\n", "v=0", "", false},
		{"no boundary", "multipart/mixed", "--b\r\n\r\n--b--", "", "", true},
		{"no closing delimiter", "multipart/mixed;boundary=b", "--b\r\nContent-Type: application/sdp\r\n\r\nv=0", "", "", true},
		{"too many parts", "multipart/mixed;boundary=b", strings.Repeat("--b\r\n\r\nx\r\n", 17) + "--b--", "", "", true},
	} {
		mt, params := contentTypeValue(tc.ct)
		parts, err := splitInviteBody(mt, params, []byte(tc.body))
		if (err != nil) != tc.bad || string(parts.sdp) != tc.sdp || string(parts.nick) != tc.nick {
			t.Errorf("%s: err %v, sdp %q, nick %q", tc.name, err, parts.sdp, parts.nick)
		}
		if tc.name == "empty SDP part" && parts.sdp == nil {
			t.Errorf("%s: an empty SDP part is not a missing one", tc.name)
		}
	}
}

// The answer without indentation is the same document; lean answers keep
// the first suggestions.
func TestNicknameBody(t *testing.T) {
	ans := &confinfo.NicknameInfo{Version: 1, State: confinfo.StateFull, Entity: "sip:a@x", Nicknames: []confinfo.Nickname{
		{ID: "n1", State: confinfo.NicknameDenied, Reason: confinfo.ReasonInUse},
		{ID: "s1", State: confinfo.NicknameAvailable, DisplayName: "Daisy  2 > 1"},
		{ID: "s2", State: confinfo.NicknameAvailable, DisplayName: "Daisy3"},
	}}
	doc, err := nicknameBody(ans, 2)
	if err != nil || bytes.Contains(bytes.TrimSpace(doc), []byte("\n")) {
		t.Fatalf("%v\n%s", err, doc)
	}
	back, err := confinfo.ParseNicknameInfo(doc)
	if err != nil || !reflect.DeepEqual(back.Nicknames, ans.Nicknames) || back.Version != 1 || back.Entity != "sip:a@x" {
		t.Fatalf("%v\n%+v", err, back)
	}
	doc, _ = nicknameBody(ans, 1)
	if back, _ = confinfo.ParseNicknameInfo(doc); len(back.Nicknames) != 2 || back.Nicknames[1].ID != "s1" {
		t.Fatalf("keep 1: %s", doc)
	}
	doc, _ = nicknameBody(ans, 0)
	if back, _ = confinfo.ParseNicknameInfo(doc); len(back.Nicknames) != 1 || len(ans.Nicknames) != 3 {
		t.Fatalf("keep 0: %s", doc)
	}
}

// An answer too large for the transport loses suggestions, the last first,
// then is left out.
func TestFitNicknameAnswer(t *testing.T) {
	f := &Focus{log: slog.New(slog.DiscardHandler)}
	ans := &confinfo.NicknameInfo{Version: 1, State: confinfo.StateFull, Entity: "sip:a@x", Nicknames: []confinfo.Nickname{
		{ID: "n1", State: confinfo.NicknameDenied, Reason: confinfo.ReasonInUse},
		{ID: "s1", State: confinfo.NicknameAvailable, DisplayName: "Daisy2"},
		{ID: "s2", State: confinfo.NicknameAvailable, DisplayName: "Daisy3"},
	}}
	build := func(doc []byte) *sip.Response {
		res := sip.NewResponseFromRequest(sip.NewRequest(sip.INFO, sip.Uri{Host: "x"}), 200, "OK", doc)
		return res
	}
	size := func(keep int) int {
		doc, _ := nicknameBody(ans, keep)
		return len(build(doc).String())
	}
	for _, tc := range []struct {
		limit int
		ids   string // "" : left out
	}{
		{0, "n1 s1 s2"},
		{size(2), "n1 s1 s2"},
		{size(2) - 1, "n1 s1"},
		{size(1) - 1, "n1"},
		{size(0) - 1, ""},
	} {
		res := f.fitNicknameAnswer(tc.limit, ans, build)
		var ids []string
		if len(res.Body()) > 0 {
			back, err := confinfo.ParseNicknameInfo(res.Body())
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range back.Nicknames {
				ids = append(ids, n.ID)
			}
		}
		if got := strings.Join(ids, " "); got != tc.ids {
			t.Errorf("limit %d: %q, want %q", tc.limit, got, tc.ids)
		}
	}
}
