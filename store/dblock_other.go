//go:build !linux

package store

import "errors"

// lockExclusive is implemented for Linux only, the platform smsgw ships for.
func lockExclusive(path string) (unlock func(), err error) {
	return nil, errors.New("store: restore is supported on Linux only")
}
