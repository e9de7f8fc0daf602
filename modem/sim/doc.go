// Package sim implements virtual GSM modems on pseudo-terminals and a virtual
// mobile network of virtual phones.
//
// A [Modem] speaks the AT command set of 3GPP TS 27.007 and 27.005 on the
// slave side of a pseudo-terminal, the way USB sticks such as the Huawei
// E173/E3372, SIMCom SIM800/SIM7600 and Quectel EC25 do: real echo, the "> "
// prompt of AT+CMGS/AT+CMGW, per-memory SMS storage (SM, ME, SR), unsolicited
// indications (+CMTI, +CMT, +CDS, +CDSI, +CREG, RING/+CLIP, +CUSD) and vendor
// noise. Submitted PDUs are decoded with package sms and handed to a
// [Network], which records every part and every reassembled message, routes
// messages between modems and virtual phones ([Phone]), and sends status
// reports back when they were requested.
//
// Latency profiles ([Latency]) and faults ([Fault]) can be switched while the
// modems run; [Modem.Unplug] and [Modem.Replug] make the pseudo-terminal go
// away and come back under a new path with the same identity.
//
// [Start] runs a set of modems with a network and an HTTP control API
// ([NewControlHandler]); `smsgw sim` and demo mode use it. See
// docs/simulator.md for what is implemented and how it differs from real
// modems.
package sim
