package ipvsadm

import (
	"io"
	"strings"
)

// RestoreLine is one command line of -R input.
type RestoreLine struct {
	// Line is the number (from 1) of the input line the command's first word is on.
	Line int
	// Args are the line's words, without the words "ipvsadm" (which ipvsadm drops wherever
	// they are, so that lines may start with the program name).
	Args []string
	// Cmd is the parsed command; nil when Err is set.
	Cmd *Command
	// Err is the parse error, with ipvsadm's message and status.
	Err *Error
}

// maxToken is config_stream's MAX_LINE_LENGTH: longer words are cut into pieces this long.
const maxToken = 4096

// ParseRestore reads -R input from r and parses each command line with p, as ipvsadm's
// restore_table and config_stream_read do. It returns an error only when reading r fails.
//
// How ipvsadm runs the lines, which the caller must reproduce:
//   - the lines run in order; the first line whose Err is Fatal ends the restore: print
//     Err.Msg and exit with Err.Status (a Help or Version command likewise prints and ends
//     the restore with status 0);
//   - a line whose Err is not Fatal (a popt error after the first option), or whose command
//     the kernel refuses (KernelError; Fatal only for -L of a missing service), prints the
//     message and the restore goes on;
//   - the exit status is that of the last line run: 0 if it succeeded, else its status;
//   - -R inside -R is refused with "Try `PROG -h'...", status 255.
//
// Words are separated by spaces, tabs, CRs and newlines; lines without words are skipped.
// There are no comments: "#" is an ordinary word (ipvsadm's comment test never matches),
// so a "# ..." line ends the restore with "Try `ipvsadm -h'...", as the real ipvsadm does
// (the ipvsadm-restore script removes such lines first). When the input ends in a run of two
// or more blanks without a final newline, ipvsadm drops that last line; so does this.
func (p Parser) ParseRestore(r io.Reader) ([]RestoreLine, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var out []RestoreLine
	sc := &streamScanner{data: data, line: 1}
	for {
		words, line, ok := sc.readLine()
		if !ok {
			break
		}
		if len(words) == 0 {
			continue
		}
		rl := RestoreLine{Line: line, Args: words}
		cmd, perr := p.parse(words)
		switch {
		case perr != nil:
			rl.Err = perr
		case cmd.Kind == Restore:
			rl.Err = &Error{Msg: TryHelp(p.prog()), Status: 255, Fatal: true}
		default:
			rl.Cmd = cmd
		}
		out = append(out, rl)
	}
	return out, nil
}

// streamScanner splits restore input into lines of words as config_stream_read does.
type streamScanner struct {
	data []byte
	pos  int
	line int
}

func isStreamSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// readLine returns the words of the next line and the line number of its first word; ok is
// false where config_stream_read returns NULL, which ends the restore.
func (s *streamScanner) readLine() (words []string, line int, ok bool) {
	line = s.line
	counted := 0
	for s.pos < len(s.data) {
		if isStreamSpace(s.data[s.pos]) {
			// No word here: skip blanks up to the end of the line.
			for {
				if s.pos >= len(s.data) {
					return nil, 0, false
				}
				c := s.data[s.pos]
				s.pos++
				if c == '\n' {
					s.line++
					return words, line, true
				}
				if c != ' ' && c != '\t' && c != '\r' {
					s.pos--
					break
				}
			}
			continue
		}
		start := s.pos
		for s.pos < len(s.data) && !isStreamSpace(s.data[s.pos]) && s.pos-start < maxToken {
			s.pos++
		}
		word := string(s.data[start:s.pos])
		if i := strings.IndexByte(word, 0); i >= 0 {
			word = word[:i] // a C string ends at the first NUL
		}
		if len(words) == 0 {
			line = s.line
		}
		if word != "ipvsadm" {
			words = append(words, word)
			counted++
		}
		if s.pos < len(s.data) && isStreamSpace(s.data[s.pos]) {
			c := s.data[s.pos]
			s.pos++
			if c == '\n' {
				s.line++
				return words, line, true
			}
		}
	}
	if counted == 0 {
		return nil, 0, false
	}
	return words, line, true
}
