package api

import (
	"encoding/hex"
	"strconv"
)

func itoa(i int) string { return strconv.Itoa(i) }

func hexString(b []byte) string { return hex.EncodeToString(b) }

// rawJSON is stored JSON passed through as is.
type rawJSON string

// MarshalJSON returns the stored JSON.
func (r rawJSON) MarshalJSON() ([]byte, error) {
	if r == "" {
		return []byte("null"), nil
	}
	return []byte(r), nil
}
