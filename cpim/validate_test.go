package cpim

import (
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	const ok = "From: <sip:a@h>\nTo: <sip:r@h>\n"
	tests := []struct {
		name    string
		headers string
		is      error
		header  string // HeaderError.Name
	}{
		{"minimal", ok, nil, ""},
		{"several To, cc and NS", ok + "To: <sip:s@h>\ncc: <sip:c@h>\ncc: <sip:d@h>\nNS: a <urn:a>\nNS: b <urn:b>\n", nil, ""},
		{"Subjects with distinct langs", ok + "Subject: hi\nSubject:;lang=fr salut\nSubject:;lang=de hallo\n", nil, ""},
		{"niemi Cc is an unknown header", ok + "Cc: <sip:c@h>\n", nil, ""},
		{"unknown Require is not checked", ok + "Require: X.Y\n", nil, ""},
		{"missing From", "To: <sip:r@h>\n", ErrMissingHeader, "From"},
		{"missing To", "From: <sip:a@h>\n", ErrMissingHeader, "To"},
		{"repeated From", ok + "From: <sip:b@h>\n", ErrRepeatedHeader, "From"},
		{"repeated DateTime", ok + "DateTime: 2009-03-02T15:02:31Z\nDateTime: 2009-03-02T15:02:31Z\n", ErrRepeatedHeader, "DateTime"},
		{"repeated Require", ok + "Require: A\nRequire: B\n", ErrRepeatedHeader, "Require"},
		{"repeated extension", ok + "X.Y: 1\nX.Y: 2\n", ErrRepeatedHeader, "X.Y"},
		{"repeated Cc", ok + "Cc: <sip:c@h>\nCc: <sip:d@h>\n", ErrRepeatedHeader, "Cc"},
		{"Subjects with the same lang", ok + "Subject:;lang=fr a\nSubject:;lang=FR b\n", ErrRepeatedHeader, "Subject"},
		{"two Subjects without lang", ok + "Subject: a\nSubject: b\n", ErrRepeatedHeader, "Subject"},
		{"bad From", "From: nobody\nTo: <sip:r@h>\n", ErrInvalidAddress, "From"},
		{"bad To", "From: <sip:a@h>\nTo: <sip:r@h\n", ErrInvalidAddress, "To"},
		{"bad cc", ok + "cc: x\n", ErrInvalidAddress, "cc"},
		{"bad DateTime", ok + "DateTime: noon\n", ErrInvalidValue, "DateTime"},
		{"bad NS", ok + "NS: x\n", ErrInvalidValue, "NS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, tt.headers+"\nContent-Type: t/p\n\n")
			err := m.Validate()
			if tt.is == nil {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			var he *HeaderError
			if !errors.Is(err, tt.is) || !errors.As(err, &he) || he.Name != tt.header {
				t.Errorf("Validate = %v, want %v on %s", err, tt.is, tt.header)
			}
		})
	}
}

// TestValidateManyHeaders covers the map path used for large header blocks.
func TestValidateManyHeaders(t *testing.T) {
	hs := "From: <sip:a@h>\nTo: <sip:r@h>\n"
	for i := 0; i < 40; i++ {
		hs += "To: <sip:r@h>\nX" + string(rune('A'+i%26)) + string(rune('a'+i/26)) + ": v\n"
	}
	m := mustParse(t, hs+"Subject: a\nSubject:;lang=fr b\n\nContent-Type: t/p\n\n")
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	m = mustParse(t, hs+"Subject:;lang=fr a\nSubject:;lang=Fr b\n\nContent-Type: t/p\n\n")
	var he *HeaderError
	if err := m.Validate(); !errors.As(err, &he) || he.Name != "Subject" || !errors.Is(err, ErrRepeatedHeader) {
		t.Errorf("Validate = %v", err)
	}
	m = mustParse(t, hs+"XAa: again\n\nContent-Type: t/p\n\n")
	if err := m.Validate(); !errors.As(err, &he) || he.Name != "XAa" {
		t.Errorf("Validate = %v", err)
	}
}
