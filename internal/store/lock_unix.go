//go:build unix

package store

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive lock on dir/LOCK (flock: released by the
// kernel when the process dies, so a crash leaves no stale lock), so that
// two stores, in one process or two, never run JetStream on the same files.
func lockDir(dir string) (*os.File, error) {
	name := dir + string(os.PathSeparator) + "LOCK"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, fmt.Errorf("%w: %s is locked by another store", ErrInUse, dir)
		}
		return nil, fmt.Errorf("store: locking %s: %w", name, err)
	}
	return f, nil
}
