package confinfo

import "fmt"

// Apply updates c, the subscriber's local copy of the conference state,
// with a document received over the same subscription (RFC 4575 §4.6):
//
//   - an update without a version is rejected (ErrInvalid);
//   - an update for another conference entity is rejected (ErrInvalid);
//   - version ≤ the local version: ErrStaleVersion, c is unchanged (discard
//     the update);
//   - full or deleted: c becomes the update (check c.State == StateDeleted
//     to end the subscription);
//   - partial with version = local + 1: merged, see below; a user (or an
//     endpoint of a partial user) without the entity to merge it by is
//     rejected (ErrInvalid) before anything changes;
//   - partial with a larger version, or before any full document:
//     ErrVersionGap, c is unchanged (refresh the subscription).
//
// A partial merge replaces <conference-description>, <host-info>,
// <conference-state> and the sidebars when the update carries them (they
// have no state attribute, so they are sent whole). <users> with state full
// replaces the list and deleted empties it; otherwise (partial, or absent:
// a bare <users> in a partial document carries changes, not the whole list)
// users are merged by entity: a deleted user is removed, a partial one is
// merged (its endpoints by entity, the same way, and their media by id),
// a full one (or one without state, the schema default) replaces the local
// user or is added. Unknown attributes and elements of a merged element are
// replaced when the update has some. Merged elements end up with state full.
//
// Apply takes ownership of update: c may share memory with it afterwards.
// Versions are scoped to one subscription; start a new local copy for a new
// subscription.
func (c *ConferenceInfo) Apply(update *ConferenceInfo) error {
	if !update.HasVersion {
		return invalid("update without version")
	}
	if c.Entity != "" && update.Entity != c.Entity {
		return invalid("update for %q, local copy is %q", update.Entity, c.Entity)
	}
	if c.HasVersion && update.Version <= c.Version {
		return fmt.Errorf("%w: version %d, local %d", ErrStaleVersion, update.Version, c.Version)
	}
	switch update.State {
	case "", StateFull, StateDeleted:
		*c = *update
		return nil
	case StatePartial:
	default:
		return invalid("update has bad state %q", update.State)
	}
	if !c.HasVersion {
		return fmt.Errorf("%w: partial version %d before any full document", ErrVersionGap, update.Version)
	}
	if update.Version != c.Version+1 {
		return fmt.Errorf("%w: partial version %d, local %d", ErrVersionGap, update.Version, c.Version)
	}
	if err := checkKeys(update.Users); err != nil {
		return err
	}
	if update.Description != nil {
		c.Description = update.Description
	}
	if update.HostInfo != nil {
		c.HostInfo = update.HostInfo
	}
	if update.ConferenceState != nil {
		c.ConferenceState = update.ConferenceState
	}
	if update.Users != nil {
		c.mergeUsers(update.Users)
	}
	if update.SidebarsByRef != nil {
		c.SidebarsByRef = update.SidebarsByRef
	}
	if update.SidebarsByVal != nil {
		c.SidebarsByVal = update.SidebarsByVal
	}
	c.Ext.mergeFrom(update.Ext)
	c.Version = update.Version
	return nil
}

// checkKeys verifies, before anything is changed, that every user and
// endpoint a partial <users> would merge has its key.
func checkKeys(u *Users) error {
	if u == nil || u.State == StateFull || u.State == StateDeleted {
		return nil
	}
	for i := range u.Users {
		usr := &u.Users[i]
		if usr.Entity == "" {
			return invalid("partial update: <user> without entity")
		}
		if usr.State != StatePartial {
			continue
		}
		for j := range usr.Endpoints {
			if usr.Endpoints[j].Entity == "" {
				return invalid("partial update: <user> %q: <endpoint> without entity", usr.Entity)
			}
		}
	}
	return nil
}

func (c *ConferenceInfo) mergeUsers(u *Users) {
	switch u.State {
	case StateFull:
		c.Users = u
		return
	case StateDeleted:
		c.Users = &Users{}
		return
	}
	if c.Users == nil {
		c.Users = &Users{}
	}
	local := c.Users
	for _, nu := range u.Users {
		i := findUser(local.Users, nu.Entity)
		switch nu.State {
		case StateDeleted:
			if i >= 0 {
				local.Users = append(local.Users[:i], local.Users[i+1:]...)
			}
		case StatePartial:
			if i < 0 {
				// Nothing to merge into: the partial user, with its
				// deleted endpoints dropped, is all there is.
				var u User
				u.merge(nu)
				local.Users = append(local.Users, u)
			} else {
				local.Users[i].merge(nu)
			}
		default:
			if i < 0 {
				local.Users = append(local.Users, nu)
			} else {
				local.Users[i] = nu
			}
		}
	}
	local.Ext.mergeFrom(u.Ext)
}

func findUser(users []User, entity string) int {
	for i := range users {
		if users[i].Entity == entity {
			return i
		}
	}
	return -1
}

// merge applies a partial <user> to u.
func (u *User) merge(p User) {
	u.Entity = p.Entity
	u.State = StateFull
	if p.Nickname != "" {
		u.Nickname = p.Nickname
	}
	if p.DisplayText != "" {
		u.DisplayText = p.DisplayText
	}
	if p.AssociatedAORs != nil {
		u.AssociatedAORs = p.AssociatedAORs
	}
	if p.Roles != nil {
		u.Roles = p.Roles
	}
	if p.Languages != nil {
		u.Languages = p.Languages
	}
	if p.CascadedFocus != "" {
		u.CascadedFocus = p.CascadedFocus
	}
	for _, ne := range p.Endpoints {
		i := -1
		for j := range u.Endpoints {
			if u.Endpoints[j].Entity == ne.Entity {
				i = j
				break
			}
		}
		switch ne.State {
		case StateDeleted:
			if i >= 0 {
				u.Endpoints = append(u.Endpoints[:i], u.Endpoints[i+1:]...)
			}
		case StatePartial:
			if i < 0 {
				var e Endpoint
				e.merge(ne)
				u.Endpoints = append(u.Endpoints, e)
			} else {
				u.Endpoints[i].merge(ne)
			}
		default:
			if i < 0 {
				u.Endpoints = append(u.Endpoints, ne)
			} else {
				u.Endpoints[i] = ne
			}
		}
	}
	u.Ext.mergeFrom(p.Ext)
}

// merge applies a partial <endpoint> to e: what p carries replaces what e
// has; media are merged by id (a <media> has no state, so it is replaced
// whole or added).
func (e *Endpoint) merge(p Endpoint) {
	e.Entity = p.Entity
	e.State = StateFull
	if p.DisplayText != "" {
		e.DisplayText = p.DisplayText
	}
	if p.Referred != nil {
		e.Referred = p.Referred
	}
	if p.Status != "" {
		e.Status = p.Status
	}
	if p.JoiningMethod != "" {
		e.JoiningMethod = p.JoiningMethod
	}
	if p.JoiningInfo != nil {
		e.JoiningInfo = p.JoiningInfo
	}
	if p.DisconnectionMethod != "" {
		e.DisconnectionMethod = p.DisconnectionMethod
	}
	if p.DisconnectionInfo != nil {
		e.DisconnectionInfo = p.DisconnectionInfo
	}
	for _, m := range p.Media {
		replaced := false
		for j := range e.Media {
			if e.Media[j].ID == m.ID {
				e.Media[j] = m
				replaced = true
				break
			}
		}
		if !replaced {
			e.Media = append(e.Media, m)
		}
	}
	if p.CallInfo != nil {
		e.CallInfo = p.CallInfo
	}
	e.Ext.mergeFrom(p.Ext)
}
