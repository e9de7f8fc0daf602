package sim

import (
	"strconv"
	"strings"
)

// cmdKind is the syntax form of an AT command.
type cmdKind int

const (
	kindAction cmdKind = iota // AT+CGMI, ATZ, ATE1
	kindRead                  // AT+CMGF?
	kindTest                  // AT+CMGF=?
	kindSet                   // AT+CMGF=0
)

// command is one command of a command line.
type command struct {
	name string // upper case: "E", "&F", "S7", "D", "+CMGS", "^CURC"
	kind cmdKind
	args string // raw arguments: after "=" for extended commands, the digits of basic ones
}

// maxLine is the longest command line the modem accepts (real modems: ~550).
const maxLine = 2048

// findAT returns the text after the first "AT" prefix of line (any case) and
// whether there was one. Characters before the prefix are ignored, as V.250
// says.
func findAT(line string) (string, bool) {
	for i := 0; i+1 < len(line); i++ {
		if (line[i] == 'A' || line[i] == 'a') && (line[i+1] == 'T' || line[i+1] == 't') {
			return line[i+2:], true
		}
	}
	return "", false
}

// parseLine parses the text after "AT" into commands. It never panics; ok is
// false on a syntax error (the modem answers ERROR).
func parseLine(s string) (cmds []command, ok bool) {
	s = stripSpaces(s)
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ';':
			i++
		case strings.IndexByte("+^$%#*!", c) >= 0:
			j := i + 1
			for j < len(s) && isNameChar(s[j]) {
				j++
			}
			if j == i+1 {
				return nil, false
			}
			cmd := command{name: strings.ToUpper(s[i:j])}
			switch {
			case strings.HasPrefix(s[j:], "=?"):
				cmd.kind = kindTest
				j += 2
			case j < len(s) && s[j] == '?':
				cmd.kind = kindRead
				j++
			case j < len(s) && s[j] == '=':
				cmd.kind = kindSet
				j++
				k := argsEnd(s, j)
				cmd.args = s[j:k]
				j = k
			}
			if j < len(s) && s[j] != ';' {
				return nil, false
			}
			cmds = append(cmds, cmd)
			i = j
		case c == '&':
			if i+1 >= len(s) || !isLetter(s[i+1]) {
				return nil, false
			}
			j := i + 2
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			cmds = append(cmds, command{name: "&" + strings.ToUpper(s[i+1:i+2]), args: s[i+2 : j]})
			i = j
		case c == 'D' || c == 'd':
			// The dial string runs to the end of the line.
			cmds = append(cmds, command{name: "D", kind: kindSet, args: s[i+1:]})
			i = len(s)
		case c == 'S' || c == 's':
			j := i + 1
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if j == i+1 || j-i > 4 {
				return nil, false
			}
			cmd := command{name: "S" + s[i+1:j]}
			switch {
			case j < len(s) && s[j] == '?':
				cmd.kind = kindRead
				j++
			case j < len(s) && s[j] == '=':
				cmd.kind = kindSet
				j++
				k := j
				for k < len(s) && isDigit(s[k]) {
					k++
				}
				cmd.args = s[j:k]
				j = k
			}
			cmds = append(cmds, cmd)
			i = j
		case isLetter(c):
			j := i + 1
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			cmd := command{name: strings.ToUpper(s[i : i+1]), args: s[i+1 : j]}
			if j < len(s) && s[j] == '?' {
				cmd.kind = kindRead
				j++
			}
			cmds = append(cmds, cmd)
			i = j
		default:
			return nil, false
		}
	}
	return cmds, true
}

// argsEnd returns the index of the ';' that ends the arguments starting at
// i, ignoring ';' inside quotes, or len(s).
func argsEnd(s string, i int) int {
	quoted := false
	for ; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				return i
			}
		}
	}
	return i
}

// stripSpaces removes spaces outside quotes (V.250 ignores them).
func stripSpaces(s string) string {
	if strings.IndexByte(s, ' ') < 0 {
		return s
	}
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			quoted = !quoted
		}
		if c == ' ' && !quoted {
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isNameChar(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '_' || c == '-' || c == '.'
}

// param is one comma-separated argument of an extended command.
type param struct {
	val    string
	quoted bool
}

func (p param) empty() bool { return p.val == "" && !p.quoted }

// splitParams splits command arguments at commas outside quotes and removes
// the quotes.
func splitParams(args string) []param {
	if args == "" {
		return nil
	}
	var out []param
	var cur strings.Builder
	quoted, wasQuoted := false, false
	for i := 0; i < len(args); i++ {
		c := args[i]
		switch {
		case c == '"':
			quoted = !quoted
			wasQuoted = true
		case c == ',' && !quoted:
			out = append(out, param{cur.String(), wasQuoted})
			cur.Reset()
			wasQuoted = false
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, param{cur.String(), wasQuoted})
}

// intParam returns params[i] as an integer, def when absent or empty, and
// ok=false when present but not a number in [lo, hi].
func intParam(ps []param, i, def, lo, hi int) (int, bool) {
	if i >= len(ps) || ps[i].empty() {
		return def, true
	}
	if ps[i].quoted {
		return 0, false
	}
	v, err := strconv.Atoi(ps[i].val)
	if err != nil || v < lo || v > hi {
		return 0, false
	}
	return v, true
}

// strParam returns params[i] or def.
func strParam(ps []param, i int, def string) string {
	if i >= len(ps) || ps[i].empty() {
		return def
	}
	return ps[i].val
}
