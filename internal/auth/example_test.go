package auth_test

import (
	"fmt"
	"strings"

	"github.com/parley-im/parley/internal/auth"
)

// The focus challenges, the client answers (here with Credentials built
// by hand, as a test client would), and Verify judges the answer.
func Example() {
	d := auth.New(auth.Config{Realm: "example.com"})
	stored := map[string]string{
		auth.SHA256: auth.HA1(auth.SHA256, "alice", "example.com", "wonderland"),
		auth.MD5:    auth.HA1(auth.MD5, "alice", "example.com", "wonderland"),
	}
	lookup := func(alg string) (string, bool) { h, ok := stored[alg]; return h, ok }

	for _, v := range d.Challenges(false) {
		i := strings.Index(v, `nonce="`) + len(`nonce="`)
		j := i + strings.IndexByte(v[i:], '"')
		fmt.Println(v[:i] + "..." + v[j:]) // the nonce differs every time
	}
	c, err := auth.ParseCredentials(`Digest username="alice", realm="example.com", nonce="forged", uri="sip:room@example.com", response="00"`)
	fmt.Println(err)
	fmt.Println(d.Verify("INVITE", c, lookup))
	c.Response = "0123456789abcdef0123456789abcdef"
	fmt.Println(d.Verify("INVITE", c, lookup))
	// Output:
	// Digest realm="example.com", nonce="...", qop="auth", algorithm=SHA-256
	// Digest realm="example.com", nonce="...", qop="auth", algorithm=MD5
	// <nil>
	// Malformed
	// UnknownNonce
}
