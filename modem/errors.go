package modem

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/warthog618/modem/at"
)

// Class says what a failed send means for the message.
type Class int

const (
	// Temporary: the SMS was not accepted but may be later; retry with backoff.
	Temporary Class = iota + 1
	// Permanent: retrying cannot help (bad number, barred, invalid PDU); fail now.
	Permanent
	// Unknown: the PDU went out and no answer came back; the SMS may or may not
	// have been sent. Never resent automatically.
	Unknown
)

func (c Class) String() string {
	switch c {
	case Temporary:
		return "temporary"
	case Permanent:
		return "permanent"
	case Unknown:
		return "unknown"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// SendError is a classified failure of one AT+CMGS.
type SendError struct {
	Class Class
	// Code is the +CMS ERROR number, or -1 when the failure was not a CMS error.
	Code int
	// Reason is the modem's text or what happened ("timeout after the PDU was sent").
	Reason string
	// PDUSent is true when the PDU and Ctrl-Z were written to the modem.
	PDUSent bool
	Err     error
}

func (e *SendError) Error() string {
	if e.Code >= 0 {
		return fmt.Sprintf("modem: send: +CMS ERROR %d (%s, %s)", e.Code, e.Reason, e.Class)
	}
	return fmt.Sprintf("modem: send: %s (%s)", e.Reason, e.Class)
}

func (e *SendError) Unwrap() error { return e.Err }

// Outcome reports the class as text ("temporary", "permanent", "unknown") and whether
// the PDU reached the modem. The queue reads it through an interface, so it needs no
// import of this package.
func (e *SendError) Outcome() (class string, pduSent bool) { return e.Class.String(), e.PDUSent }

// ClassOf returns the class of err, or 0 when err is not a *SendError.
func ClassOf(err error) Class {
	var se *SendError
	if errors.As(err, &se) {
		return se.Class
	}
	return 0
}

// cmsInfo describes one +CMS ERROR code.
type cmsInfo struct {
	class Class
	text  string
}

// cmsTable holds every code of 3GPP TS 24.011 Annex E-2 (RP causes, 0–127), TS 23.040
// §9.2.3.22 (TP-FCS, 128–255) and TS 27.005 §3.2.5 (300–500) that a modem may return
// after AT+CMGS. Codes not listed are classified by range in classifyCMS.
var cmsTable = map[int]cmsInfo{
	1:   {Permanent, "unassigned (unallocated) number"},
	8:   {Permanent, "operator determined barring"},
	10:  {Permanent, "call barred"},
	17:  {Temporary, "network failure"},
	21:  {Permanent, "short message transfer rejected"},
	22:  {Temporary, "memory capacity exceeded"},
	27:  {Temporary, "destination out of service"},
	28:  {Permanent, "unidentified subscriber"},
	29:  {Permanent, "facility rejected"},
	30:  {Permanent, "unknown subscriber"},
	38:  {Temporary, "network out of order"},
	41:  {Temporary, "temporary failure"},
	42:  {Temporary, "congestion"},
	47:  {Temporary, "resources unavailable, unspecified"},
	50:  {Permanent, "requested facility not subscribed"},
	69:  {Permanent, "requested facility not implemented"},
	81:  {Temporary, "invalid short message transfer reference value"},
	95:  {Permanent, "invalid message, unspecified"},
	96:  {Permanent, "invalid mandatory information"},
	97:  {Permanent, "message type non-existent or not implemented"},
	98:  {Permanent, "message not compatible with short message protocol state"},
	99:  {Permanent, "information element non-existent or not implemented"},
	111: {Temporary, "protocol error, unspecified"},
	127: {Temporary, "interworking, unspecified"},
	128: {Permanent, "telematic interworking not supported"},
	129: {Permanent, "short message type 0 not supported"},
	130: {Permanent, "cannot replace short message"},
	143: {Permanent, "unspecified TP-PID error"},
	144: {Permanent, "data coding scheme (alphabet) not supported"},
	145: {Permanent, "message class not supported"},
	159: {Permanent, "unspecified TP-DCS error"},
	160: {Permanent, "command cannot be actioned"},
	161: {Permanent, "command unsupported"},
	175: {Permanent, "unspecified TP-command error"},
	176: {Permanent, "TPDU not supported"},
	192: {Temporary, "SC busy"},
	193: {Permanent, "no SC subscription"},
	194: {Temporary, "SC system failure"},
	195: {Permanent, "invalid SME address"},
	196: {Permanent, "destination SME barred"},
	197: {Permanent, "SM rejected: duplicate SM"},
	198: {Permanent, "TP-VPF not supported"},
	199: {Permanent, "TP-VP not supported"},
	208: {Temporary, "(U)SIM SMS storage full"},
	209: {Temporary, "no SMS storage capability in (U)SIM"},
	210: {Temporary, "error in MS"},
	211: {Temporary, "memory capacity exceeded"},
	212: {Temporary, "(U)SIM application toolkit busy"},
	213: {Temporary, "(U)SIM data download error"},
	255: {Unknown, "unspecified error cause"},
	300: {Temporary, "ME failure"},
	301: {Temporary, "SMS service of ME reserved"},
	302: {Temporary, "operation not allowed"},
	303: {Permanent, "operation not supported"},
	304: {Permanent, "invalid PDU mode parameter"},
	305: {Permanent, "invalid text mode parameter"},
	310: {Temporary, "(U)SIM not inserted"},
	311: {Temporary, "(U)SIM PIN required"},
	312: {Temporary, "PH-(U)SIM PIN required"},
	313: {Temporary, "(U)SIM failure"},
	314: {Temporary, "(U)SIM busy"},
	315: {Temporary, "(U)SIM wrong"},
	316: {Temporary, "(U)SIM PUK required"},
	317: {Temporary, "(U)SIM PIN2 required"},
	318: {Temporary, "(U)SIM PUK2 required"},
	320: {Temporary, "memory failure"},
	321: {Temporary, "invalid memory index"},
	322: {Temporary, "memory full"},
	330: {Temporary, "SMSC address unknown"},
	331: {Temporary, "no network service"},
	332: {Temporary, "network timeout"},
	340: {Temporary, "no +CNMA acknowledgement expected"},
	500: {Unknown, "unknown error"},
}

// classifyCMS returns the class and meaning of a +CMS ERROR code received after the PDU
// was sent. Every code from 0 to 511 has a class: listed codes by the table, the rest
// by the range they fall in (24.011 says unlisted RP causes are treated as 41
// "temporary failure" when in the 'network' range, 111 otherwise; 23.040 reserves
// 224–254 for vendors; 27.005 reserves 512+ for manufacturers).
func classifyCMS(code int) (Class, string) {
	if info, ok := cmsTable[code]; ok {
		return info.class, info.text
	}
	switch {
	case code < 0:
		return Unknown, "invalid error code"
	case code < 128:
		return Temporary, "unlisted network cause"
	case code < 224:
		return Permanent, "unlisted TP-FCS cause"
	case code < 256:
		return Unknown, "application or vendor specific TP-FCS cause"
	case code < 512:
		return Unknown, "reserved 27.005 cause"
	default:
		return Unknown, "manufacturer specific cause"
	}
}

// cmsTexts maps the verbose texts some modems send with +CMEE=2 back to codes.
var cmsTexts = func() map[string]int {
	m := map[string]int{}
	for code, info := range cmsTable {
		m[strings.ToLower(info.text)] = code
	}
	return m
}()

// parseCMS returns the numeric code of an at.CMSError ("500" or a verbose text).
func parseCMS(e at.CMSError) int {
	s := strings.TrimSpace(string(e))
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	if n, ok := cmsTexts[strings.ToLower(s)]; ok {
		return n
	}
	return -1
}

// classifySend turns the error of AT+CMGS into a *SendError. pduSent says whether the
// PDU and Ctrl-Z were written: a failure without an answer is Unknown only then.
func classifySend(err error, pduSent bool) *SendError {
	var cms at.CMSError
	var cme at.CMEError
	switch {
	case errors.As(err, &cms):
		code := parseCMS(cms)
		class, text := classifyCMS(code)
		if code < 0 {
			text = string(cms)
		}
		if !pduSent && class == Unknown {
			class = Temporary // the modem refused before the PDU: nothing went out
		}
		return &SendError{Class: class, Code: code, Reason: text, PDUSent: pduSent, Err: err}
	case errors.As(err, &cme):
		// CME errors come from the ME before submission (SIM, PIN, not allowed).
		return &SendError{Class: Temporary, Code: -1, Reason: "+CME ERROR: " + string(cme), PDUSent: pduSent, Err: err}
	case errors.Is(err, at.ErrError):
		if pduSent {
			return &SendError{Class: Unknown, Code: -1, Reason: "ERROR after the PDU was sent", PDUSent: true, Err: err}
		}
		return &SendError{Class: Temporary, Code: -1, Reason: "ERROR before the PDU was sent", Err: err}
	case errors.Is(err, at.ErrDeadlineExceeded):
		if pduSent {
			return &SendError{Class: Unknown, Code: -1, Reason: "no answer after the PDU was sent", PDUSent: true, Err: err}
		}
		return &SendError{Class: Temporary, Code: -1, Reason: "no prompt from the modem", Err: err}
	case errors.Is(err, at.ErrClosed), errors.Is(err, ErrClosed):
		if pduSent {
			return &SendError{Class: Unknown, Code: -1, Reason: "port closed after the PDU was sent", PDUSent: true, Err: err}
		}
		return &SendError{Class: Temporary, Code: -1, Reason: "port closed before the PDU was sent", Err: err}
	}
	if pduSent {
		return &SendError{Class: Unknown, Code: -1, Reason: err.Error(), PDUSent: true, Err: err}
	}
	return &SendError{Class: Temporary, Code: -1, Reason: err.Error(), Err: err}
}
