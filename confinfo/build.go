package confinfo

// ChatMediaLabel is the available-media label NewChatRoom uses for the
// room's MSRP stream.
const ChatMediaLabel = "chat"

// NewFull returns a full document with the given version, an empty
// <conference-description> and an empty <users>: the minimum a full
// document must include (RFC 4575 §5.2).
func NewFull(entity string, version uint32) *ConferenceInfo {
	return &ConferenceInfo{
		Entity:      entity,
		State:       StateFull,
		Version:     version,
		HasVersion:  true,
		Description: &Description{},
		Users:       &Users{},
	}
}

// NewChatRoom returns a full document for an RFC 7701 chat room: NewFull,
// plus the display text, one available-media entry (label ChatMediaLabel,
// type message, sendrecv) and a conference-state saying the room is active
// and unlocked. Add participants with AddUser and ChatUser; set the count
// with SetUserCount.
func NewChatRoom(entity, displayText string, version uint32) *ConferenceInfo {
	c := NewFull(entity, version)
	c.Description.DisplayText = displayText
	c.Description.AvailableMedia = &AvailableMedia{Entries: []AvailableMedium{{
		Label:  ChatMediaLabel,
		Type:   "message",
		Status: MediaSendRecv,
	}}}
	active, locked := true, false
	c.ConferenceState = &ConferenceState{Active: &active, Locked: &locked}
	return c
}

// NewPartial returns a partial document with an empty partial <users>, for
// AddUser with changed users (ChatUser replaces a user whole, DeletedUser
// removes one).
func NewPartial(entity string, version uint32) *ConferenceInfo {
	return &ConferenceInfo{
		Entity:     entity,
		State:      StatePartial,
		Version:    version,
		HasVersion: true,
		Users:      &Users{State: StatePartial},
	}
}

// AddUser appends u to <users>, creating it if needed.
func (c *ConferenceInfo) AddUser(u User) {
	if c.Users == nil {
		c.Users = &Users{}
	}
	c.Users.Users = append(c.Users.Users, u)
}

// SetUserCount sets <conference-state><user-count>, creating
// <conference-state> if needed.
func (c *ConferenceInfo) SetUserCount(n uint32) {
	if c.ConferenceState == nil {
		c.ConferenceState = &ConferenceState{}
	}
	c.ConferenceState.UserCount = &n
}

// User returns the user with the given entity, or nil. The pointer is
// valid until the users list changes.
func (c *ConferenceInfo) User(entity string) *User {
	if c.Users == nil {
		return nil
	}
	if i := findUser(c.Users.Users, entity); i >= 0 {
		return &c.Users.Users[i]
	}
	return nil
}

// ChatUser returns a full <user> for a chat participant: its URI (the
// anonymous URI if it asked for privacy), its nickname ("" if it has not
// reserved one; written as xcon:nickname), its display text and its
// endpoints (see ChatEndpoint).
func ChatUser(entity, nickname, displayText string, endpoints ...Endpoint) User {
	return User{
		Entity:      entity,
		State:       StateFull,
		Nickname:    nickname,
		DisplayText: displayText,
		Endpoints:   endpoints,
	}
}

// ChatEndpoint returns a connected, dialed-in <endpoint> with one MSRP
// <media>: type message, status sendrecv, the given id.
func ChatEndpoint(entity, mediaID string) Endpoint {
	return Endpoint{
		Entity:        entity,
		Status:        StatusConnected,
		JoiningMethod: JoinedDialedIn,
		Media:         []Media{{ID: mediaID, Type: "message", Status: MediaSendRecv}},
	}
}

// DeletedUser returns a <user state="deleted"> for a partial document: the
// participant left.
func DeletedUser(entity string) User {
	return User{Entity: entity, State: StateDeleted}
}

// DepartedEndpoint returns a partial <endpoint> saying that one device of a
// user left (disconnected, departed) while the user stays, for a partial
// <user> in a partial document.
func DepartedEndpoint(entity string) Endpoint {
	return Endpoint{
		Entity:              entity,
		State:               StatePartial,
		Status:              StatusDisconnected,
		DisconnectionMethod: DisconnectedDeparted,
	}
}
