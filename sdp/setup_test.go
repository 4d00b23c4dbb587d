package sdp

import "testing"

func TestSetup(t *testing.T) {
	tests := []struct {
		attrs     []string
		want      Setup
		effective Setup
	}{
		{nil, SetupNone, SetupNone},
		{[]string{"a=setup:active"}, SetupActive, SetupActive},
		{[]string{"a=setup:passive"}, SetupPassive, SetupPassive},
		{[]string{"a=setup:actpass"}, SetupActpass, SetupActpass},
		{[]string{"a=setup:holdconn"}, SetupHoldconn, SetupNone},
		{[]string{"a=setup:ACTPASS"}, SetupActpass, SetupActpass},
		{[]string{"a=setup: passive "}, SetupPassive, SetupPassive},
		{[]string{"a=setup:bogus"}, SetupNone, SetupNone},
		{[]string{"a=setup:"}, SetupNone, SetupNone},
		{[]string{"a=setup"}, SetupNone, SetupNone},
		{[]string{"a=setup:passive", "a=setup:active"}, SetupPassive, SetupPassive},
		{[]string{"a=connection:new", "a=setup:active"}, SetupActive, SetupActive},
	}
	for _, tt := range tests {
		_, m := msrpLine(t, mMSRP, tt.attrs...)
		if got := m.Setup(); got != tt.want || got.Effective() != tt.effective {
			t.Errorf("%q: Setup = %v (effective %v), want %v (%v)", tt.attrs, got, got.Effective(), tt.want, tt.effective)
		}
	}
}

func TestSetSetup(t *testing.T) {
	_, m := msrpLine(t, mMSRP, "a=setup:actpass", "a=x")
	for _, s := range []Setup{SetupActive, SetupPassive, SetupActpass, SetupHoldconn} {
		m.SetSetup(s)
		if got := m.Attrs("setup"); len(got) != 1 || got[0] != s.String() || m.Setup() != s {
			t.Errorf("SetSetup(%v): %q", s, got)
		}
	}
	m.SetSetup(SetupNone)
	if m.HasAttr("setup") || !m.HasAttr("x") {
		t.Errorf("SetSetup(SetupNone): %v", m.Attributes)
	}
}

func TestSetupString(t *testing.T) {
	for s, want := range map[Setup]string{
		SetupNone: "", SetupActive: "active", SetupPassive: "passive",
		SetupActpass: "actpass", SetupHoldconn: "holdconn", Setup(99): "",
	} {
		if got := s.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(s), got, want)
		}
		if s != SetupNone && want != "" && ParseSetup(want) != s {
			t.Errorf("ParseSetup(%q) != %v", want, s)
		}
	}
}

func TestAnswerSetup(t *testing.T) {
	for offer, want := range map[Setup]Setup{
		SetupNone:     SetupPassive,
		SetupActpass:  SetupPassive,
		SetupActive:   SetupPassive,
		SetupPassive:  SetupActive,
		SetupHoldconn: SetupPassive,
	} {
		if got := AnswerSetup(offer); got != want {
			t.Errorf("AnswerSetup(%v) = %v, want %v", offer, got, want)
		}
	}
}
