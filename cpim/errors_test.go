package cpim

import (
	"errors"
	"strings"
	"testing"
)

func TestErrorStrings(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&SyntaxError{Line: 3, Reason: "missing colon in header line"}, "cpim: line 3: missing colon in header line"},
		{headerErr("From", ErrMissingHeader), "cpim: From header: missing header"},
		{headerErr("To", invalidAddress("missing '>'")), "cpim: To header: invalid address: missing '>'"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	for _, err := range []error{ErrIncomplete, ErrMissingHeader, ErrRepeatedHeader, ErrInvalidAddress, ErrInvalidValue} {
		if !strings.HasPrefix(err.Error(), "cpim: ") {
			t.Errorf("%q lacks the cpim: prefix", err)
		}
	}
}

func TestHeaderErrorUnwrap(t *testing.T) {
	err := headerErr("To", invalidAddress("empty URI"))
	if !errors.Is(err, ErrInvalidAddress) {
		t.Error("HeaderError does not unwrap to ErrInvalidAddress")
	}
	var he *HeaderError
	if !errors.As(err, &he) || he.Name != "To" {
		t.Error("errors.As *HeaderError")
	}
}
