package confinfo

import (
	"fmt"
	"testing"
)

func TestEnumerations(t *testing.T) {
	type validator interface{ Valid() bool }
	tests := []struct {
		valid   []validator
		invalid []validator
	}{
		{[]validator{StateFull, StatePartial, StateDeleted}, []validator{State(""), State("Full"), State("gone")}},
		{[]validator{StatusPending, StatusDialingOut, StatusDialingIn, StatusAlerting, StatusOnHold,
			StatusConnected, StatusMutedViaFocus, StatusDisconnecting, StatusDisconnected},
			[]validator{EndpointStatus(""), EndpointStatus("online"), EndpointStatus("on hold")}},
		{[]validator{JoinedDialedIn, JoinedDialedOut, JoinedFocusOwner}, []validator{JoiningMethod(""), JoiningMethod("dialed_in")}},
		{[]validator{DisconnectedDeparted, DisconnectedBooted, DisconnectedFailed, DisconnectedBusy},
			[]validator{DisconnectionMethod(""), DisconnectionMethod("kicked")}},
		{[]validator{MediaRecvOnly, MediaSendOnly, MediaSendRecv, MediaInactive}, []validator{MediaStatus(""), MediaStatus("SENDRECV")}},
		{[]validator{NicknameSuggested, NicknameConfirmed, NicknameDenied, NicknameAvailable},
			[]validator{NicknameState(""), NicknameState("taken")}},
		{[]validator{ReasonInUse, ReasonPolicy}, []validator{NicknameReason(""), NicknameReason("in_use")}},
	}
	for _, tc := range tests {
		for _, v := range tc.valid {
			if !v.Valid() {
				t.Errorf("%T(%q).Valid() = false", v, v)
			}
		}
		for _, v := range tc.invalid {
			if v.Valid() {
				t.Errorf("%T(%q).Valid() = true", v, v)
			}
		}
	}
	// The wire spellings (RFC 4575 §5.7.3–§5.7.8, niemi-00 §4.3.2.1).
	for v, want := range map[any]string{
		StatusDialingOut: "dialing-out", StatusMutedViaFocus: "muted-via-focus", StatusOnHold: "on-hold",
		JoinedFocusOwner: "focus-owner", DisconnectedBooted: "booted", MediaRecvOnly: "recvonly",
		ReasonInUse: "in-use", NicknameAvailable: "available",
	} {
		if s := fmt.Sprint(v); s != want {
			t.Errorf("%T = %q, want %q", v, s, want)
		}
	}
}
