package confinfo

// State is the RFC 4575 state-type: the value of the state attribute of
// <conference-info>, <users>, <user>, <endpoint> and the uris-type lists, and
// of <nickname-info> (full or partial only). The empty State means the
// attribute is absent, which RFC 4575 defines as full.
type State string

// State values (RFC 4575 §5.1).
const (
	StateFull    State = "full"
	StatePartial State = "partial"
	StateDeleted State = "deleted"
)

// Valid reports whether s is full, partial or deleted.
func (s State) Valid() bool {
	switch s {
	case StateFull, StatePartial, StateDeleted:
		return true
	}
	return false
}

// EndpointStatus is the RFC 4575 endpoint-status-type (§5.7.3): the value of
// <endpoint><status>.
type EndpointStatus string

// EndpointStatus values.
const (
	StatusPending       EndpointStatus = "pending"
	StatusDialingOut    EndpointStatus = "dialing-out"
	StatusDialingIn     EndpointStatus = "dialing-in"
	StatusAlerting      EndpointStatus = "alerting"
	StatusOnHold        EndpointStatus = "on-hold"
	StatusConnected     EndpointStatus = "connected"
	StatusMutedViaFocus EndpointStatus = "muted-via-focus"
	StatusDisconnecting EndpointStatus = "disconnecting"
	StatusDisconnected  EndpointStatus = "disconnected"
)

// Valid reports whether s is one of the nine RFC 4575 values.
func (s EndpointStatus) Valid() bool {
	switch s {
	case StatusPending, StatusDialingOut, StatusDialingIn, StatusAlerting,
		StatusOnHold, StatusConnected, StatusMutedViaFocus,
		StatusDisconnecting, StatusDisconnected:
		return true
	}
	return false
}

// JoiningMethod is the RFC 4575 joining-type (§5.7.4).
type JoiningMethod string

// JoiningMethod values.
const (
	JoinedDialedIn   JoiningMethod = "dialed-in"
	JoinedDialedOut  JoiningMethod = "dialed-out"
	JoinedFocusOwner JoiningMethod = "focus-owner"
)

// Valid reports whether m is one of the three RFC 4575 values.
func (m JoiningMethod) Valid() bool {
	switch m {
	case JoinedDialedIn, JoinedDialedOut, JoinedFocusOwner:
		return true
	}
	return false
}

// DisconnectionMethod is the RFC 4575 disconnection-type (§5.7.6).
type DisconnectionMethod string

// DisconnectionMethod values.
const (
	DisconnectedDeparted DisconnectionMethod = "departed"
	DisconnectedBooted   DisconnectionMethod = "booted"
	DisconnectedFailed   DisconnectionMethod = "failed"
	DisconnectedBusy     DisconnectionMethod = "busy"
)

// Valid reports whether m is one of the four RFC 4575 values.
func (m DisconnectionMethod) Valid() bool {
	switch m {
	case DisconnectedDeparted, DisconnectedBooted, DisconnectedFailed,
		DisconnectedBusy:
		return true
	}
	return false
}

// MediaStatus is the RFC 4575 media-status-type (§5.3.4, §5.7.8): the
// direction of a stream from the participant's point of view.
type MediaStatus string

// MediaStatus values.
const (
	MediaRecvOnly MediaStatus = "recvonly"
	MediaSendOnly MediaStatus = "sendonly"
	MediaSendRecv MediaStatus = "sendrecv"
	MediaInactive MediaStatus = "inactive"
)

// Valid reports whether s is one of the four RFC 4575 values.
func (s MediaStatus) Valid() bool {
	switch s {
	case MediaRecvOnly, MediaSendOnly, MediaSendRecv, MediaInactive:
		return true
	}
	return false
}

// NicknameState is the state attribute of a niemi-00 <nickname>.
type NicknameState string

// NicknameState values. NicknameAvailable is not in the draft's schema but
// its examples use it for alternatives the focus offers; it is accepted.
const (
	NicknameSuggested NicknameState = "suggested"
	NicknameConfirmed NicknameState = "confirmed"
	NicknameDenied    NicknameState = "denied"
	NicknameAvailable NicknameState = "available"
)

// Valid reports whether s is suggested, confirmed, denied or available.
func (s NicknameState) Valid() bool {
	switch s {
	case NicknameSuggested, NicknameConfirmed, NicknameDenied, NicknameAvailable:
		return true
	}
	return false
}

// NicknameReason is the reason attribute of a denied niemi-00 <nickname>.
type NicknameReason string

// NicknameReason values.
const (
	ReasonInUse  NicknameReason = "in-use" // taken by another participant
	ReasonPolicy NicknameReason = "policy" // refused by policy, e.g. offensive
)

// Valid reports whether r is in-use or policy.
func (r NicknameReason) Valid() bool {
	return r == ReasonInUse || r == ReasonPolicy
}
