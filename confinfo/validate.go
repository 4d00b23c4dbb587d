package confinfo

import (
	"fmt"
	"time"
)

// Validate checks the RFC 4575 rules a sender must follow, beyond what
// Parse enforces, and returns the first violation (wrapping ErrInvalid):
//
//   - <conference-info> has an entity and a version (§5.2);
//   - a full document includes <conference-description> and <users> (§5.2);
//   - state attributes are full, partial or deleted, and inside a full
//     document every element with a state is full;
//   - enumerated values are known: endpoint <status>, <joining-method>,
//     <disconnection-method>, media and available-media <status>;
//   - required parts are present: user and endpoint entity (the keys of a
//     partial merge), media id, available-media label and type, uri of a
//     uris-type entry, the three identifiers of <call-info><sip>;
//   - keys are unique: user entity in <users>, endpoint entity in a user,
//     media id in an endpoint, available-media label;
//   - <when> is an xs:dateTime.
func (c *ConferenceInfo) Validate() error {
	v := validator{}
	v.check(c.Entity != "", "<conference-info> without entity")
	v.check(c.HasVersion, "<conference-info> without version")
	full := v.state("conference-info", c.State, false)
	v.check(!full || (c.Description != nil && c.Users != nil),
		"a full document must include <conference-description> and <users> (RFC 4575 §5.2)")
	if d := c.Description; d != nil {
		v.uris("conf-uris", d.ConfURIs, full)
		v.uris("service-uris", d.ServiceURIs, full)
		if m := d.AvailableMedia; m != nil {
			labels := make(map[string]bool, len(m.Entries))
			for _, e := range m.Entries {
				v.check(e.Label != "", "<available-media> entry without label")
				v.check(!labels[e.Label], "<available-media> label %q repeated", e.Label)
				labels[e.Label] = true
				v.check(e.Type != "", "<available-media> entry %q without type", e.Label)
				v.check(e.Status == "" || e.Status.Valid(), "<available-media> entry %q: bad status %q", e.Label, e.Status)
			}
		}
	}
	if h := c.HostInfo; h != nil {
		v.uris("uris", h.URIs, full)
	}
	if u := c.Users; u != nil {
		usersFull := v.state("users", u.State, full)
		entities := make(map[string]bool, len(u.Users))
		for i := range u.Users {
			v.user(&u.Users[i], usersFull, entities)
		}
	}
	return v.err
}

// validator keeps the first error.
type validator struct{ err error }

func (v *validator) check(ok bool, format string, args ...any) {
	if !ok && v.err == nil {
		v.err = fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
}

// state checks a state attribute under a parent that is full (or not) and
// reports whether the element is full. An absent state means full (the
// schema default), except on <users>, where it inherits the document's
// state, as Apply treats it.
func (v *validator) state(elem string, s State, parentFull bool) bool {
	if s == "" {
		return parentFull || elem != "users"
	}
	v.check(s.Valid(), "<%s>: bad state %q", elem, s)
	v.check(!parentFull || s == StateFull, "<%s>: state %q inside a full element", elem, s)
	return s == StateFull
}

func (v *validator) uris(elem string, u *URIs, parentFull bool) {
	if u == nil {
		return
	}
	v.state(elem, u.State, parentFull)
	for _, e := range u.Entries {
		v.check(e.URI != "", "<%s> entry without uri", elem)
		v.execution(elem+" entry <modified>", e.Modified)
	}
}

func (v *validator) user(u *User, parentFull bool, entities map[string]bool) {
	v.check(u.Entity != "", "<user> without entity")
	v.check(!entities[u.Entity], "<user> %q repeated", u.Entity)
	entities[u.Entity] = true
	full := v.state("user", u.State, parentFull)
	v.uris("associated-aors", u.AssociatedAORs, full)
	endpoints := make(map[string]bool, len(u.Endpoints))
	for i := range u.Endpoints {
		e := &u.Endpoints[i]
		where := fmt.Sprintf("<user> %q: <endpoint> %q", u.Entity, e.Entity)
		v.check(e.Entity != "", "<user> %q: <endpoint> without entity", u.Entity)
		v.check(!endpoints[e.Entity], "%s repeated", where)
		endpoints[e.Entity] = true
		v.state("endpoint", e.State, full)
		v.check(e.Status == "" || e.Status.Valid(), "%s: bad status %q", where, e.Status)
		v.check(e.JoiningMethod == "" || e.JoiningMethod.Valid(), "%s: bad joining-method %q", where, e.JoiningMethod)
		v.check(e.DisconnectionMethod == "" || e.DisconnectionMethod.Valid(),
			"%s: bad disconnection-method %q", where, e.DisconnectionMethod)
		v.execution(where+": <referred>", e.Referred)
		v.execution(where+": <joining-info>", e.JoiningInfo)
		v.execution(where+": <disconnection-info>", e.DisconnectionInfo)
		ids := make(map[string]bool, len(e.Media))
		for _, m := range e.Media {
			v.check(m.ID != "", "%s: <media> without id", where)
			v.check(!ids[m.ID], "%s: <media> id %q repeated", where, m.ID)
			ids[m.ID] = true
			v.check(m.Status == "" || m.Status.Valid(), "%s: <media> %q: bad status %q", where, m.ID, m.Status)
		}
		if ci := e.CallInfo; ci != nil && ci.SIP != nil {
			s := ci.SIP
			v.check(s.CallID != "" && s.FromTag != "" && s.ToTag != "",
				"%s: <call-info><sip> needs call-id, from-tag and to-tag", where)
		}
	}
}

func (v *validator) execution(where string, x *Execution) {
	if x == nil || x.When == "" {
		return
	}
	v.check(validDateTime(x.When), "%s: <when> %q is not an xs:dateTime", where, x.When)
}

// validDateTime accepts the xs:dateTime forms a conference server sends:
// RFC 3339 with optional fractional seconds, and the same without a time
// zone.
func validDateTime(s string) bool {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}
