package focus

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/sdp"
)

// within reports whether s's bytes lie inside text's.
func within(s, text string) bool {
	if len(s) == 0 || len(text) == 0 {
		return false
	}
	p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(text)))
	return p >= lo && p < lo+uintptr(len(text))
}

// What the focus keeps of an offer does not hold on to the SDP text, and
// the accept lists of two participants who offer the same are one list
// (issue 20: memory per participant).
func TestOfferInfoDetached(t *testing.T) {
	var lists formatLists
	var kept []offerInfo
	for i := range 2 {
		offer, err := sdp.Parse(fmt.Appendf(nil, chatOffer, fmt.Sprint("sid", i)))
		if err != nil {
			t.Fatal(err)
		}
		info, err := pickMSRP(offer, msrpTransports{}, false)
		if err != nil {
			t.Fatal(err)
		}
		m := offer.Media[info.index]
		info.detach(m, &lists)
		path, _ := m.Attr(sdp.AttrPath)
		accept, _ := m.Attr(sdp.AttrAcceptTypes)
		wrapped, _ := m.Attr(sdp.AttrAcceptWrappedTypes)
		if len(info.path) != 1 || within(info.path[0].Host, path) || within(info.path[0].SessionID, path) {
			t.Fatalf("the path %v still points into the offer", info.path)
		}
		if !info.accept.Accepts("message/cpim") || within(info.accept[0].Type, accept) {
			t.Fatalf("accept-types %v still point into the offer", info.accept)
		}
		if !info.wrapped.Accepts("text/plain") || within(info.wrapped[0].Type, wrapped) {
			t.Fatalf("accept-wrapped-types %v still point into the offer", info.wrapped)
		}
		kept = append(kept, info)
	}
	if &kept[0].accept[0] != &kept[1].accept[0] || &kept[0].wrapped[0] != &kept[1].wrapped[0] {
		t.Fatal("the same accept lists were kept twice")
	}
	if kept[0].path[0].SessionID == kept[1].path[0].SessionID {
		t.Fatal("two participants' paths mixed up")
	}
}

// A dialog keeps its To and From as text; parsed again they are the
// headers it was given (the BYE and the in-dialog NOTIFYs carry them).
func TestAddrHeaderRoundTrip(t *testing.T) {
	for _, v := range []string{
		`<sip:lobby@example.com>;tag=abc123`,
		`"Alice Example" <sip:alice@example.com:5061;transport=tls>;tag=x-1;foo`,
		`<sips:bob@[2001:db8::1]>;tag=9`,
	} {
		var h sip.ToHeader
		h.Params = sip.NewParams()
		name, err := sip.ParseAddressValue(v, &h.Address, &h.Params)
		if err != nil {
			t.Fatal(err)
		}
		h.DisplayName = name
		a := addrHeader(h.Value())
		to, from := a.to(), a.from()
		if to.Value() != h.Value() || from.Value() != h.Value() {
			t.Fatalf("%q: kept %q, parsed again To %q From %q", v, a, to.Value(), from.Value())
		}
		if tag, _ := from.Params.Get("tag"); tag == "" {
			t.Fatalf("%q: the tag is lost", v)
		}
	}
	d := &dialog{target: (&sip.Uri{Scheme: "sip", User: "alice", Host: "192.0.2.1", Port: 5070}).String()}
	if u := d.targetURI(); u.Host != "192.0.2.1" || u.Port != 5070 || u.User != "alice" {
		t.Fatalf("target parsed again: %+v", u)
	}
}
