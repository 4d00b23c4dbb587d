package focus

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/confinfo"
)

// Media types of the bodies the focus reads and writes.
const (
	sdpType   = "application/sdp"
	mixedType = "multipart/mixed"
)

// maxBodyParts bounds the parts of a multipart/mixed INVITE body; an INVITE
// with a nickname offer has two.
const maxBodyParts = 16

// inviteBody is what an INVITE's body offers: an SDP offer, and maybe a
// draft-niemi-00 nickname-info offer beside it.
type inviteBody struct {
	sdp  []byte // nil: no SDP
	nick []byte // nil: no nickname offer
}

// splitInviteBody reads the body of an INVITE whose Content-Type is mt with
// params: application/sdp alone, or multipart/mixed (RFC 2046 §5.1.3; RFC
// 5621) holding one application/sdp part and at most one
// application/nickname-info+xml part, in any order; parts of other types
// are ignored. The error says why a multipart body is malformed (no
// boundary, bad framing, a type twice, too many parts). Any other media
// type gives an empty inviteBody.
func splitInviteBody(mt string, params map[string]string, body []byte) (inviteBody, error) {
	switch mt {
	case sdpType:
		return inviteBody{sdp: body}, nil
	case mixedType:
	default:
		return inviteBody{}, nil
	}
	boundary := params["boundary"]
	if boundary == "" {
		return inviteBody{}, errors.New("multipart/mixed without boundary")
	}
	var b inviteBody
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	for n := 0; ; n++ {
		part, err := r.NextRawPart() // raw: no Content-Transfer-Encoding decoding; SIP bodies are binary
		if err == io.EOF {
			if n == 0 {
				return inviteBody{}, errors.New("multipart/mixed without parts")
			}
			return b, nil
		}
		if err != nil {
			return inviteBody{}, fmt.Errorf("bad multipart/mixed body: %v", err)
		}
		if n == maxBodyParts {
			return inviteBody{}, fmt.Errorf("multipart/mixed with more than %d parts", maxBodyParts)
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return inviteBody{}, fmt.Errorf("bad multipart/mixed body: %v", err)
		}
		pt, _ := contentTypeValue(part.Header.Get("Content-Type"))
		var slot *[]byte
		switch pt {
		case sdpType:
			slot = &b.sdp
		case confinfo.NicknameMIMEType:
			slot = &b.nick
		default:
			continue // RFC 2046 §5.1.3: parts we do not understand are ignored
		}
		if *slot != nil {
			return inviteBody{}, fmt.Errorf("multipart/mixed with two %s parts", pt)
		}
		if data == nil {
			data = []byte{}
		}
		*slot = data
	}
}

// bodyPart is one part of a multipart body we write.
type bodyPart struct {
	contentType string
	data        []byte
}

// mixedBody builds a multipart/mixed body (RFC 2046 §5.1.3) and returns it
// with its Content-Type value, boundary included. The boundary is short
// (22 characters; mime/multipart's own has 60, and every octet counts over
// UDP) and in none of the parts.
func mixedBody(parts ...bodyPart) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.SetBoundary(newBoundary(parts)) // valid: [0-9a-z-] only
	for _, p := range parts {
		pw, _ := w.CreatePart(textproto.MIMEHeader{"Content-Type": {p.contentType}}) // writes to a bytes.Buffer: no error
		pw.Write(p.data)
	}
	w.Close()
	return buf.Bytes(), mixedType + ";boundary=" + w.Boundary()
}

// newBoundary returns a random boundary that occurs in no part.
func newBoundary(parts []bodyPart) string {
	for {
		var b [8]byte
		rand.Read(b[:])
		boundary := "parley-" + hex.EncodeToString(b[:])
		clash := false
		for _, p := range parts {
			clash = clash || bytes.Contains(p.data, []byte(boundary))
		}
		if !clash {
			return boundary
		}
	}
}

// contentType returns the lowercased media type of a Content-Type header
// and its parameters; see contentTypeValue.
func contentType(h *sip.ContentTypeHeader) (string, map[string]string) {
	if h == nil {
		return "", nil
	}
	return contentTypeValue(h.Value())
}

// contentTypeValue returns the lowercased media type of a Content-Type
// value and its parameters: "" for an empty value; the type alone, without
// parameters, when the value does not parse as RFC 2045 says.
func contentTypeValue(v string) (string, map[string]string) {
	if mt, params, err := mime.ParseMediaType(v); err == nil {
		return mt, params
	}
	mt, _, _ := strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(mt)), nil
}
