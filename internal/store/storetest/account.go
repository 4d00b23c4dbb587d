package storetest

import (
	"context"
	"testing"

	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/store"
)

// CreateAccount creates in st the account user of realm with password,
// kept as parleyd user add keeps it: the SHA-256 and MD5 digests only.
func CreateAccount(tb testing.TB, st *store.Store, user, realm, password string) {
	tb.Helper()
	err := st.CreateAccount(context.Background(), store.Account{Username: user, Realm: realm, HA1: auth.HA1s(user, realm, password)})
	if err != nil {
		tb.Fatalf("creating the account %s: %v", user, err)
	}
}

// SeedAccount creates, before a parleyd starts on the file store in
// dataDir, the account user of realm with password (CreateAccount).
func SeedAccount(tb testing.TB, dataDir, user, realm, password string) {
	tb.Helper()
	st, err := store.Open(context.Background(), store.Config{Mode: store.ModeFile, DataDir: dataDir})
	if err != nil {
		tb.Fatalf("opening the store in %s: %v", dataDir, err)
	}
	defer st.Close(context.Background())
	CreateAccount(tb, st, user, realm, password)
}
