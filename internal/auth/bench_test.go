package auth

import (
	"testing"
	"time"
)

func BenchmarkChallenges(b *testing.B) {
	clk := newFakeClock()
	d := New(Config{Realm: testRealm, Now: clk.Now})
	b.ReportAllocs()
	for b.Loop() {
		d.Challenges(false)
	}
}

// BenchmarkVerify: an accepted SHA-256 response with qop=auth, each with a
// new nc (the credentials are prepared in batches, off the clock).
func BenchmarkVerify(b *testing.B) {
	clk := newFakeClock()
	d := New(Config{Realm: testRealm, Now: clk.Now, NonceLifetime: time.Hour})
	acc := newAccounts(testRealm, "alice", "wonderland")
	lookup := acc.lookup("alice")
	const batch = 1024
	var creds []Credentials
	b.ReportAllocs()
	for b.Loop() {
		if len(creds) == 0 {
			b.StopTimer()
			ch := parseChallenge(b, d.Challenges(false)[0])
			for i := range uint32(batch) {
				creds = append(creds, alice(i+1).credentials(ch))
			}
			b.StartTimer()
		}
		if r := d.Verify("INVITE", creds[0], lookup); r != OK {
			b.Fatalf("Verify = %v", r)
		}
		creds = creds[1:]
	}
}

func BenchmarkParseCredentials(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCredentials(sampleCredentials); err != nil {
			b.Fatal(err)
		}
	}
}
