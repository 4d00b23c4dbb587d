package focus

import (
	"bytes"
	"mime"
	"testing"

	"github.com/parley-im/parley/confinfo"
)

// FuzzSplitInviteBody: any INVITE body and boundary is split or refused
// without panicking, and what it splits out, mixedBody writes back so that
// it splits the same again.
func FuzzSplitInviteBody(f *testing.F) {
	good, ct := mixedBody(bodyPart{sdpType, []byte("v=0\r\n")}, bodyPart{confinfo.NicknameMIMEType, []byte("<nickname-info/>")})
	_, params, _ := mime.ParseMediaType(ct)
	f.Add(good, params["boundary"])
	f.Add([]byte("--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b--\r\n"), "b")
	f.Add([]byte("--b\r\n\r\n--b\r\nContent-Type: application/sdp\r\n\r\nx\r\n--b"), "b")
	f.Add([]byte("preamble\r\n--b\r\nContent-Type: text/plain\r\n\r\n--b--"), "b")
	f.Add([]byte(""), "")
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		parts, err := splitInviteBody(mixedType, map[string]string{"boundary": boundary}, body)
		if err != nil || parts.sdp == nil {
			return
		}
		in := []bodyPart{{sdpType, parts.sdp}}
		if parts.nick != nil {
			in = append(in, bodyPart{confinfo.NicknameMIMEType, parts.nick})
		}
		again, ct := mixedBody(in...)
		_, p, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatalf("mixedBody wrote Content-Type %q: %v", ct, err)
		}
		back, err := splitInviteBody(mixedType, p, again)
		if err != nil || !bytes.Equal(back.sdp, parts.sdp) || !bytes.Equal(back.nick, parts.nick) {
			t.Fatalf("round trip: %v\nsdp %q → %q\nnick %q → %q", err, parts.sdp, back.sdp, parts.nick, back.nick)
		}
	})
}
