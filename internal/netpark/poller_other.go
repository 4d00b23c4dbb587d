//go:build !linux

package netpark

import (
	"errors"
	"fmt"
)

// poller is not available: New fails and nothing is parked.
type poller struct{}

func newPoller() (poller, error) {
	return poller{}, fmt.Errorf("netpark: %w off Linux", errors.ErrUnsupported)
}

func (poller) arm(int, uint64) error           { return errors.ErrUnsupported }
func (poller) wait(int, func(id uint64)) error { return errors.ErrUnsupported }
func (poller) interrupt()                      {}
func (poller) close()                          {}
