package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/smsgw/smsgw/modem"
)

func TestMatchFound(t *testing.T) {
	found := []modem.Found{
		{Port: "/dev/ttyUSB2", IMEI: "356938035643809", USBSerial: "ABC123"},
		{Port: "/dev/ttyUSB6", IMEI: "490154203237518", USBSerial: "XYZ789"},
		{Port: "/dev/ttyUSB9", IMEI: "356938035643809", Err: errors.New("no PDU mode")},
	}
	cases := []struct {
		name, imei, serial, want string
	}{
		{"by IMEI", "490154203237518", "", "/dev/ttyUSB6"},
		{"by USB serial", "", "ABC123", "/dev/ttyUSB2"},
		{"both must fit", "490154203237518", "ABC123", ""},
		{"unknown", "111111111111111", "", ""},
		{"unpinned takes any usable", "", "", "/dev/ttyUSB2,/dev/ttyUSB6"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(matchFound(found, tc.imei, tc.serial), ","); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
