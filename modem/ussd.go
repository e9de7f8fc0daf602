package modem

import (
	"encoding/hex"
	"strings"
	"unicode/utf16"
)

// decodeUSSD turns the <str> of +CUSD into text. Modems give GSM/IRA text as it is (we
// leave AT+CSCS at its default) but UCS-2 answers as hex, which is decoded here.
func decodeUSSD(str string, dcs int) string {
	ucs2 := dcs == 0x48 || dcs == 0x11 || (dcs&0xC0 == 0x40 && dcs&0x0C == 0x08)
	if ucs2 && len(str)%4 == 0 && isHexLine(str) {
		b, _ := hex.DecodeString(str)
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		}
		return strings.ToValidUTF8(string(utf16.Decode(u)), "\uFFFD")
	}
	return str
}
