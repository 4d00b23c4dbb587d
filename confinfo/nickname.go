package confinfo

import (
	"encoding/xml"
	"fmt"
	"strconv"
)

// Namespace and MIME type of draft-niemi-simple-chat-00 nickname documents.
// Neither was ever registered; RFC 7701 replaced the exchange with the MSRP
// NICKNAME method.
const (
	NicknameNamespace = "urn:ietf:params:xml:ns:nickname-info"
	NicknameMIMEType  = "application/nickname-info+xml"
)

// NicknameInfo is a niemi-00 <nickname-info> document: a participant's
// nickname offer, or the focus's answer (§4.3.2).
type NicknameInfo struct {
	// Version is required. The offerer starts at 0; each new offer or
	// answer based on a previous document adds one. Marshal always
	// writes it.
	Version uint64

	// State is "", full or partial. The draft's schema requires it but
	// its examples omit it, so Parse accepts absence and Marshal writes
	// it only when set.
	State State

	Entity    string // URI of the participant whose nickname is set; required
	Nicknames []Nickname
	Ext       Extensions
}

// Nickname is a <nickname> of a nickname-info document.
type Nickname struct {
	ID     string         // stable across versions; required
	State  NicknameState  // required
	Reason NicknameReason // only with denied

	// DisplayName is the nickname itself. The schema requires it but the
	// draft omits it on a denied nickname.
	DisplayName string

	// URI is the non-routable IM URI the focus allocates for the nickname.
	// A participant MUST NOT set it.
	URI string

	Ext Extensions
}

// ParseNicknameInfo reads a nickname-info document. It rejects a wrong root
// element or namespace, a missing or non-numeric version and a state other
// than full or partial; Validate checks the rest.
func ParseNicknameInfo(b []byte) (*NicknameInfo, error) {
	d, err := newDecoder(b)
	if err != nil {
		return nil, err
	}
	se, err := d.root(xml.Name{Space: NicknameNamespace, Local: "nickname-info"})
	if err != nil {
		return nil, err
	}
	n := new(NicknameInfo)
	if err := n.decode(d, se); err != nil {
		return nil, err
	}
	if err := d.epilogue(); err != nil {
		return nil, err
	}
	return n, nil
}

// Marshal writes n as a UTF-8 document with an XML declaration. It fails
// (with ErrInvalid) only on a bad root state or characters XML cannot
// carry. It does not call Validate.
func (n *NicknameInfo) Marshal() ([]byte, error) {
	w := newWriter(NicknameNamespace)
	attrs := []xml.Attr{attr("version", strconv.FormatUint(n.Version, 10))}
	if n.State != "" {
		if n.State != StateFull && n.State != StatePartial {
			w.fail("<nickname-info>: bad state %q", n.State)
		}
		attrs = append(attrs, attr("state", string(n.State)))
	}
	if n.Entity != "" {
		attrs = append(attrs, attr("entity", n.Entity))
	}
	w.openRoot("nickname-info", nil, attrs, n.Ext.Attrs)
	for i := range n.Nicknames {
		nn := &n.Nicknames[i]
		attrs := make([]xml.Attr, 0, 3)
		if nn.ID != "" {
			attrs = append(attrs, attr("id", nn.ID))
		}
		if nn.State != "" {
			attrs = append(attrs, attr("state", string(nn.State)))
		}
		if nn.Reason != "" {
			attrs = append(attrs, attr("reason", string(nn.Reason)))
		}
		w.open("nickname", attrs, nn.Ext.Attrs)
		w.optLeaf("display-name", nn.DisplayName)
		w.optLeaf("uri", nn.URI)
		nn.Ext.write(w)
		w.close()
	}
	n.Ext.write(w)
	w.close()
	return w.bytes()
}

func (n *NicknameInfo) decode(d *decoder, se xml.StartElement) error {
	hasVersion := false
	for _, a := range se.Attr {
		switch {
		case isAttr(a, "version"):
			v, err := strconv.ParseUint(trimSpace(a.Value), 10, 64)
			if err != nil {
				return d.invalidf("<nickname-info>: version %q is not a non-negative integer", a.Value)
			}
			n.Version, hasVersion = v, true
		case isAttr(a, "state"):
			s, err := d.state("nickname-info", a.Value, false)
			if err != nil {
				return err
			}
			n.State = s
		case isAttr(a, "entity"):
			n.Entity = a.Value
		default:
			n.Ext.attr(a)
		}
	}
	if !hasVersion {
		return d.invalidf("<nickname-info> without version")
	}
	return d.children(func(se xml.StartElement) error {
		if se.Name != (xml.Name{Space: NicknameNamespace, Local: "nickname"}) {
			return n.Ext.element(d, se)
		}
		var nn Nickname
		err := nn.decode(d, se)
		n.Nicknames = append(n.Nicknames, nn)
		return err
	})
}

func (nn *Nickname) decode(d *decoder, se xml.StartElement) error {
	for _, a := range se.Attr {
		switch {
		case isAttr(a, "id"):
			nn.ID = a.Value
		case isAttr(a, "state"):
			nn.State = NicknameState(trimSpace(a.Value))
		case isAttr(a, "reason"):
			nn.Reason = NicknameReason(trimSpace(a.Value))
		default:
			nn.Ext.attr(a)
		}
	}
	return d.children(func(se xml.StartElement) error {
		if se.Name.Space != NicknameNamespace {
			return nn.Ext.element(d, se)
		}
		var err error
		switch se.Name.Local {
		case "display-name":
			nn.DisplayName, err = d.text(se)
		case "uri":
			nn.URI, err = d.text(se)
		default:
			err = nn.Ext.element(d, se)
		}
		return err
	})
}

// Validate checks the draft's rules for any nickname-info document: entity
// present, state full or partial if set, and for every nickname an id
// (unique in the document), a known state, a display name unless denied,
// and a known reason only on a denied nickname. Errors wrap ErrInvalid.
func (n *NicknameInfo) Validate() error {
	if n.Entity == "" {
		return invalid("<nickname-info> without entity")
	}
	if n.State != "" && n.State != StateFull && n.State != StatePartial {
		return invalid("<nickname-info>: bad state %q", n.State)
	}
	seen := make(map[string]bool, len(n.Nicknames))
	for i := range n.Nicknames {
		nn := &n.Nicknames[i]
		if nn.ID == "" {
			return invalid("nickname %d: no id", i+1)
		}
		if seen[nn.ID] {
			return invalid("nickname %q: id repeated", nn.ID)
		}
		seen[nn.ID] = true
		if !nn.State.Valid() {
			return invalid("nickname %q: bad state %q", nn.ID, nn.State)
		}
		if nn.DisplayName == "" && nn.State != NicknameDenied {
			return invalid("nickname %q: %s without display-name", nn.ID, nn.State)
		}
		if nn.Reason != "" {
			if !nn.Reason.Valid() {
				return invalid("nickname %q: bad reason %q", nn.ID, nn.Reason)
			}
			if nn.State != NicknameDenied {
				return invalid("nickname %q: reason %q on a %s nickname, only denied ones carry a reason", nn.ID, nn.Reason, nn.State)
			}
		}
	}
	return nil
}

// ValidateOffer checks a document sent by a participant: Validate, plus
// every nickname is suggested (only the focus confirms, denies or offers
// alternatives) and carries no <uri> (niemi-00 §4.3.2.1: a participant
// MUST NOT set it).
func (n *NicknameInfo) ValidateOffer() error {
	if err := n.Validate(); err != nil {
		return err
	}
	for i := range n.Nicknames {
		nn := &n.Nicknames[i]
		if nn.State != NicknameSuggested {
			return invalid("nickname %q: a participant may only suggest, not send %s", nn.ID, nn.State)
		}
		if nn.URI != "" {
			return invalid("nickname %q: a participant must not set <uri>", nn.ID)
		}
	}
	return nil
}

// invalid returns an ErrInvalid error.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
