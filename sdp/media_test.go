package sdp

import (
	"reflect"
	"testing"
)

func TestIsMSRP(t *testing.T) {
	for mline, want := range map[string][2]bool{
		"m=message 1 TCP/MSRP *":     {true, false},
		"m=message 1 TCP/TLS/MSRP *": {true, true},
		"m=Message 1 tcp/tls/msrp *": {true, true},
		"m=message 0 TCP/MSRP *":     {true, false},
		"m=message 1 TCP/WS/MSRP *":  {false, false},
		"m=audio 1 TCP/MSRP *":       {false, false},
		"m=message 1 RTP/AVP 0":      {false, false},
		"m=application 1 TCP/MSRP *": {false, false},
	} {
		_, m := msrpLine(t, mline)
		if m.IsMSRP() != want[0] || m.IsSecureMSRP() != want[1] {
			t.Errorf("%s: IsMSRP %v IsSecureMSRP %v, want %v", mline, m.IsMSRP(), m.IsSecureMSRP(), want)
		}
	}
}

func TestMediaClone(t *testing.T) {
	_, m := msrpLine(t, mMSRP, "c=IN IP4 192.0.2.5", "b=AS:1", "a=path:msrp://192.0.2.5:2855/s;tcp")
	c := m.Clone()
	if !reflect.DeepEqual(m, c) {
		t.Fatal("clone differs")
	}
	c.Formats[0] = "x"
	c.Connection.Address = "x"
	c.Lines[0].Value = "x"
	c.Attributes[0].Value = "x"
	c.SetAttr("new", "1")
	if m.Formats[0] != "*" || m.Connection.Address != "192.0.2.5" || m.Lines[0].Value != "AS:1" ||
		m.Attributes[0].Value != "msrp://192.0.2.5:2855/s;tcp" || m.HasAttr("new") {
		t.Errorf("changing the clone changed the original: %+v", m)
	}
}
