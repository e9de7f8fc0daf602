package sms_test

import (
	"fmt"
	"strings"

	"github.com/smsgw/smsgw/sms"
)

func ExampleEncodeSubmit() {
	text := strings.Repeat("x", 152) + "€" + strings.Repeat("y", 20)
	c := sms.Count(text)
	fmt.Println(c.Encoding, c.Segments, c.UnitsPerSegment, c.UnitsLeft)
	pdus, err := sms.EncodeSubmit("+4915112345678", text, sms.SubmitOptions{Ref: 7})
	if err != nil {
		panic(err)
	}
	for _, p := range pdus {
		fmt.Printf("AT+CMGS=%d (%d hex digits)\n", p.TPDULen, len(p.Hex()))
	}
	// Output:
	// gsm7 2 153 131
	// AT+CMGS=154 (310 hex digits)
	// AT+CMGS=40 (82 hex digits)
}

func ExampleDecodeHex() {
	m, err := sms.DecodeHex("07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07", sms.MT, true)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Type, m.SMSC, m.Address, m.SCTS.Format("2006-01-02 15:04:05 -07:00"), m.Text)
	// Output: DELIVER +31624000000 +31641600986 2002-08-26 19:37:41 +00:00 How are you?
}

func ExampleStatusMeaning() {
	text, class := sms.StatusMeaning(0x46)
	fmt.Println(text, "/", class)
	// Output: validity period expired / failed
}

func ExampleNormalizeNumber() {
	for _, raw := range []string{"0151 12345678", "ACME Ltd", "+49 1"} {
		n, err := sms.NormalizeNumber(raw, "DE")
		fmt.Printf("%q %v\n", n, err)
	}
	// Output:
	// "+4915112345678" <nil>
	// "ACME Ltd" <nil>
	// "" sms: invalid number "+49 1": too short
}
