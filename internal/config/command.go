package config

import (
	"errors"
	"fmt"
	"strings"
)

// SplitCommand splits a command line into arguments as keepalived splits its notify and
// MISC_CHECK scripts (alloc_strvec_quoted_escaped in lib/parser.c): words are separated by
// blanks; '...' and "..." quote blanks and may be joined to other text ("a'b c'd" is one
// word); a backslash escapes the next character, anywhere, with C's \a \b \f \n \r \t \v,
// \E (escape), \xHH, \cX (control-X) and \ooo (octal), any other character standing for
// itself. No shell is involved: "a | b" is three words. It fails on an unterminated quote or
// an empty command.
func SplitCommand(s string) ([]string, error) {
	var args []string
	var w strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			inWord = true
			i = unescape(s, i+1, &w) - 1
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				w.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote, inWord = c, true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			if inWord {
				args = append(args, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("command %q: missing terminating %c", s, quote)
	}
	if inWord {
		args = append(args, w.String())
	}
	if len(args) == 0 {
		return nil, errors.New("empty command")
	}
	return args, nil
}

// unescape writes the character escaped at s[i:] (after the backslash) to w and returns
// the index after the escape.
func unescape(s string, i int, w *strings.Builder) int {
	if i >= len(s) {
		w.WriteByte('\\')
		return i
	}
	switch c := s[i]; c {
	case 'a':
		w.WriteByte('\a')
	case 'b':
		w.WriteByte('\b')
	case 'E':
		w.WriteByte(0x1b)
	case 'f':
		w.WriteByte('\f')
	case 'n':
		w.WriteByte('\n')
	case 'r':
		w.WriteByte('\r')
	case 't':
		w.WriteByte('\t')
	case 'v':
		w.WriteByte('\v')
	case 'x':
		v, j := 0, i+1
		for ; j < len(s) && j < i+3 && isHex(s[j]); j++ {
			v = v<<4 | hexVal(s[j])
		}
		if j == i+1 {
			w.WriteByte('x')
			return j
		}
		w.WriteByte(byte(v))
		return j
	case 'c':
		if i+1 < len(s) {
			w.WriteByte(s[i+1] & 0x1f)
			return i + 2
		}
		w.WriteByte('c')
	default:
		if c >= '0' && c <= '7' {
			v, j := 0, i
			for ; j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7'; j++ {
				v = v<<3 | int(s[j]-'0')
			}
			w.WriteByte(byte(v))
			return j
		}
		w.WriteByte(c)
	}
	return i + 1
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= 'a':
		return int(c-'a') + 10
	case c >= 'A':
		return int(c-'A') + 10
	}
	return int(c - '0')
}
