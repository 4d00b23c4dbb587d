package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
)

// AccountsConfig is the [accounts] table (issue 17).
type AccountsConfig struct {
	// File is a TOML file of accounts that seed the store at start: each
	// one the store does not have yet is created; one it has is left as
	// it is (parleyd user passwd and del win over the file). "" for none.
	File string `toml:"file"`
}

// AccountSeed is one [[account]] of an accounts file: its name and
// either its password or its digest hashes (HA1 for the realm
// server.host, lowercase hex), and an optional display name.
type AccountSeed struct {
	Name     string `toml:"name"`
	Password string `toml:"password"`
	SHA256   string `toml:"ha1_sha256"`
	MD5      string `toml:"ha1_md5"`
	Display  string `toml:"display"`
}

// LoadAccounts reads an accounts file:
//
//	[[account]]
//	name = "alice"
//	password = "wonderland"      # or ha1_sha256 = "…" and/or ha1_md5 = "…"
//	display = "Alice"
//
// Every account needs a name, listed once, and a password or a hash.
func LoadAccounts(path string) ([]AccountSeed, error) {
	var f struct {
		Account []AccountSeed `toml:"account"`
	}
	md, err := toml.DecodeFile(path, &f)
	if err != nil {
		return nil, fmt.Errorf("accounts file %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("accounts file %s: unknown key %s", path, und[0])
	}
	var errs []error
	seen := map[string]bool{}
	for i, a := range f.Account {
		where := fmt.Sprintf("accounts file %s: account %d", path, i+1)
		switch {
		case a.Name == "":
			errs = append(errs, fmt.Errorf("%s: no name", where))
		case seen[strings.ToLower(a.Name)]:
			errs = append(errs, fmt.Errorf("%s: %q is listed twice", where, a.Name))
		case a.Password == "" && a.SHA256 == "" && a.MD5 == "":
			errs = append(errs, fmt.Errorf("%s (%s): neither a password nor a hash", where, a.Name))
		}
		seen[strings.ToLower(a.Name)] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f.Account, nil
}

// accountsFileMode warns when an accounts file can be read by others: it
// may hold passwords.
func accountsFileMode(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("accounts file %s can be read by others (mode %v): it may hold passwords; chmod 600 it", path, st.Mode().Perm())
	}
	return nil
}

// CheckAccountsFile reports whether the accounts file can be read by
// others (nil when it cannot, or when there is none).
func (c *Config) CheckAccountsFile() error {
	if c.Accounts.File == "" {
		return nil
	}
	return accountsFileMode(c.Accounts.File)
}
