package sim

import (
	"sort"
	"strings"
	"time"
)

// Personality describes how a family of real modems presents itself: the
// identification strings, the answer to unknown commands, boot and noise
// lines, default settings and storage sizes. The zero value of each field
// means "like the generic modem".
type Personality struct {
	// Name is the key used by [PersonalityByName] ("generic", "huawei", ...).
	Name string
	// Manufacturer, Model and Revision answer AT+CGMI, AT+CGMM and AT+CGMR.
	Manufacturer, Model, Revision string
	// InfoPrefix makes +CGMI/+CGMM/+CGMR/+CGSN answer with their command
	// name as prefix ("+CGMI: WAVECOM MODEM"), as Wavecom modems do.
	InfoPrefix bool
	// NotSupported is the final result for unknown commands; "" means "ERROR".
	// Huawei sticks answer "COMMAND NOT SUPPORT".
	NotSupported string
	// Boot lines are sent once each time the modem is plugged in.
	Boot []string
	// Noise lines are sent at random times (one every NoiseEvery on average)
	// while noise is on. "%d" in a line is replaced by a random number 0..31.
	Noise      []string
	NoiseEvery time.Duration
	// EchoOff starts the modem with echo off (most modems start with ATE1).
	EchoOff bool
	// CNMI is the indication setting after power-on and ATZ.
	CNMI [5]int
	// SMCapacity and MECapacity are the sizes of the SIM and modem message
	// storages; SRCapacity > 0 adds an "SR" status-report storage.
	SMCapacity, MECapacity, SRCapacity int
	// AcT is the access technology reported by +COPS? (0 GSM, 2 UTRAN, 7 E-UTRAN).
	AcT int
	// ICCIDPrefix is the prefix of the ICCID answer ("+CCID: ", "^ICCID: ").
	ICCIDPrefix string
}

// builtinPersonalities returns fresh copies of the built-in personalities
// (no shared slices). Use [PersonalityByName] to get one by name.
func builtinPersonalities() []Personality {
	return []Personality{
		{
			Name: "generic", Manufacturer: "smsgw", Model: "Virtual GSM Modem", Revision: "sim-1.0",
			SMCapacity: 30, MECapacity: 100, AcT: 7, ICCIDPrefix: "+CCID: ",
		},
		{
			Name: "huawei", Manufacturer: "huawei", Model: "E173", Revision: "11.126.85.00.209",
			NotSupported: "COMMAND NOT SUPPORT",
			Boot:         []string{"^BOOT:18729734,0,0,0,75"},
			Noise: []string{"^RSSI:%d", "^BOOT:18729734,0,0,0,75", "^MODE:5,4", "^SRVST:2",
				"^DSFLOWRPT:0000000A,00000000,00000000,0000000000000000,0000000000000000,0003E800,0003E800"},
			NoiseEvery: 3 * time.Second,
			SMCapacity: 30, MECapacity: 100, AcT: 2, ICCIDPrefix: "^ICCID: ",
		},
		{
			Name: "simcom", Manufacturer: "SIMCOM_Ltd", Model: "SIMCOM_SIM800", Revision: "Revision:1418B04SIM800L24",
			Boot:       []string{"RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"},
			SMCapacity: 30, MECapacity: 50, AcT: 0, ICCIDPrefix: "",
		},
		{
			Name: "quectel", Manufacturer: "Quectel", Model: "EC25", Revision: "EC25EFAR06A06M4G",
			Boot:       []string{"RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE"},
			SMCapacity: 50, MECapacity: 255, SRCapacity: 50, AcT: 7, ICCIDPrefix: "+QCCID: ",
		},
		{
			Name: "wavecom", Manufacturer: "WAVECOM MODEM", Model: "MULTIBAND  900E  1800", Revision: "R7.46.0.201106061422.FXT009 2223004 060611 14:22",
			InfoPrefix: true,
			Boot:       []string{"+WIND: 3", "+WIND: 1", "+WIND: 7", "+WIND: 4"},
			Noise:      []string{"+WIND: 7", "+CIEV: 1,%d"},
			NoiseEvery: 20 * time.Second,
			SMCapacity: 20, MECapacity: 0, AcT: 0, ICCIDPrefix: "+CCID: ",
		},
	}
}

// PersonalityByName returns the built-in personality with that name
// (case-insensitive); "" means "generic".
func PersonalityByName(name string) (Personality, bool) {
	if name == "" {
		name = "generic"
	}
	for _, p := range builtinPersonalities() {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return Personality{}, false
}

// PersonalityNames lists the built-in personalities.
func PersonalityNames() []string {
	var names []string
	for _, p := range builtinPersonalities() {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

// withDefaults fills the zero fields of p from the generic personality.
func (p Personality) withDefaults() Personality {
	g := builtinPersonalities()[0]
	if p.Name == "" {
		p.Name = "custom"
	}
	if p.Manufacturer == "" {
		p.Manufacturer = g.Manufacturer
	}
	if p.Model == "" {
		p.Model = g.Model
	}
	if p.Revision == "" {
		p.Revision = g.Revision
	}
	if p.NotSupported == "" {
		p.NotSupported = "ERROR"
	}
	if p.SMCapacity <= 0 {
		p.SMCapacity = g.SMCapacity
	}
	if p.MECapacity < 0 {
		p.MECapacity = 0
	}
	if p.NoiseEvery <= 0 {
		p.NoiseEvery = 5 * time.Second
	}
	return p
}
