package cpim

import "testing"

func TestSplitSIP(t *testing.T) {
	tests := []struct {
		in   string
		want sipURI
	}{
		{"alice@atlanta.com", sipURI{userinfo: "alice", host: "atlanta.com", hasUser: true}},
		{"alice:pw@h:5060;transport=tcp?x=1", sipURI{userinfo: "alice:pw", host: "h", port: "5060", params: "transport=tcp", headers: "x=1", hasUser: true, hasPort: true}},
		{"+1;phone-context=x?y@h;user=phone", sipURI{userinfo: "+1;phone-context=x?y", host: "h", params: "user=phone", hasUser: true}},
		{"chat.example.com", sipURI{host: "chat.example.com"}},
		{"[::1]:5070", sipURI{host: "[::1]", port: "5070", hasPort: true}},
		{"[::1]", sipURI{host: "[::1]"}},
		{"[::1", sipURI{host: "[::1"}},
		{"h?a=b;c", sipURI{host: "h", headers: "a=b;c"}},
		{"", sipURI{}},
	}
	for _, tt := range tests {
		if got := splitSIP(tt.in); got != tt.want {
			t.Errorf("splitSIP(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestUnitsEqual(t *testing.T) {
	tests := []struct {
		a, b string
		fold bool
		want bool
	}{
		{"abc", "abc", false, true},
		{"abc", "ABC", false, false},
		{"abc", "ABC", true, true},
		{"%61bc", "abc", false, true},
		{"%7e", "~", false, true},
		{"%3b", "%3B", false, true},
		{"%3b", ";", false, false},
		{"%25", "%", false, false},
		{"%", "%", false, true},
		{"%4", "%4", false, true},
		{"%zz", "%zz", false, true},
		{"ab", "abc", false, false},
		{"", "", true, true},
	}
	for _, tt := range tests {
		if got := unitsEqual(tt.a, tt.b, tt.fold); got != tt.want {
			t.Errorf("unitsEqual(%q, %q, %v) = %v", tt.a, tt.b, tt.fold, got)
		}
	}
}

func TestParamsAndHeaders(t *testing.T) {
	if !paramsEqual("a=1;b", "B;A=1", sipMustMatch) {
		t.Error("params order/case")
	}
	if paramsEqual("ttl=1", "", sipMustMatch) || paramsEqual("", "method=BYE", sipMustMatch) {
		t.Error("must-match params present on one side only")
	}
	if !paramsEqual(";;transport=tcp;", "", sipMustMatch) {
		t.Error("empty segments")
	}
	if !headersEqual("a=1&b=2&a=1", "b=2&a=1") || headersEqual("a", "a=") || headersEqual("a=1", "") {
		t.Error("headersEqual")
	}
}
