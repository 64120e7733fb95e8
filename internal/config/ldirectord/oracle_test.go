package ldirectord

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/golvs/golvs/internal/config"
)

// recording is what ldirectord made of one file (testdata/oracle/harness.pl's output).
type recording struct {
	errLine  int
	errMsg   string // "" when ldirectord accepted the file
	warns    []recDiag
	global   map[string]*string
	virtuals []*recVirtual
	tables   map[string]string // "VIP:PORT proto" -> "real w=N, ..."
}

type recDiag struct {
	line int
	msg  string
}

type recVirtual struct {
	f        map[string]*string
	fallback map[string]*string // nil: none
	reals    []map[string]*string
	nreals   int
}

var (
	reRecDiag  = regexp.MustCompile(`^(Error|Warning) line (-?[0-9]+): (.*)$`)
	reRecField = regexp.MustCompile(`([A-Za-z_-]+)=("(?:[^"\\]|\\.)*"|undef)`)
)

// parseRecording reads harness.pl's output.
func parseRecording(out string) *recording {
	r := &recording{tables: map[string]string{}}
	var v *recVirtual
	for _, line := range strings.Split(out, "\n") {
		switch {
		case reRecDiag.MatchString(line):
			m := reRecDiag.FindStringSubmatch(line)
			n, _ := strconv.Atoi(m[2])
			if m[1] == "Error" && r.errMsg == "" {
				r.errLine, r.errMsg = n, m[3]
			} else if m[1] == "Warning" {
				r.warns = append(r.warns, recDiag{n, m[3]})
			}
		case strings.HasPrefix(line, "global "):
			r.global = fields(line)
		case strings.HasPrefix(line, "virtual "):
			v = &recVirtual{f: fields(line)}
			r.virtuals = append(r.virtuals, v)
		case strings.HasPrefix(line, "  fallback "):
			if line != "  fallback none" {
				v.fallback = fields(line)
			}
		case strings.HasPrefix(line, "  real "):
			v.reals = append(v.reals, fields(line))
			v.nreals++
		case strings.HasPrefix(line, "  reals "):
			v.nreals, _ = strconv.Atoi(line[len("  reals "):])
		case strings.HasPrefix(line, "TABLE "):
			k, rest, _ := strings.Cut(line[len("TABLE "):], ": ")
			r.tables[k] = rest
		}
	}
	return r
}

// fields reads key="value" pairs; undef is a nil value.
func fields(line string) map[string]*string {
	f := map[string]*string{}
	for _, m := range reRecField.FindAllStringSubmatch(line, -1) {
		if m[2] == "undef" {
			f[m[1]] = nil
			continue
		}
		s := unescape(m[2][1 : len(m[2])-1])
		f[m[1]] = &s
	}
	return f
}

// unescape undoes harness.pl's show.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'x':
			n, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(n))
			i += 2
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func num(p *string) int {
	n, _ := strconv.Atoi(str(p))
	return n
}

// readCases splits cases.txt or cases.out at their "-- name --" lines.
func readCases(t *testing.T, path string) map[string]string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (see testdata/oracle/record.sh)", err)
	}
	out := map[string]string{}
	name := ""
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if strings.HasPrefix(line, "-- ") && strings.HasSuffix(line, " --\n") {
			name = line[3 : len(line)-4]
			out[name] = ""
			continue
		}
		out[name] += line
	}
	return out
}

// TestOracle compares Parse with what ldirectord's own reader made of the same inputs: the
// table's rows (except where the row says ldirectord differs, and then it must differ) and
// the golden files.
func TestOracle(t *testing.T) {
	inputs := readCases(t, "testdata/oracle/cases.txt")
	outputs := readCases(t, "testdata/oracle/cases.out")
	for _, c := range allCases() {
		if c.unrecorded != "" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			out, ok := outputs[c.name]
			if !ok || inputs[c.name] != c.in {
				t.Fatalf("not recorded as it is now: run go test -run TestParseTable -export, then testdata/oracle/record.sh")
			}
			diffs := compare(c.in, parseRecording(out))
			switch {
			case c.ldirectord == "" && len(diffs) > 0:
				t.Errorf("differs from ldirectord:\n%s\nldirectord:\n%s", strings.Join(diffs, "\n"), out)
			case c.ldirectord != "" && len(diffs) == 0:
				t.Errorf("agrees with ldirectord, but the row says ldirectord %s", c.ldirectord)
			}
		})
	}
	generated := generatedCases(numGenerated)
	inputs = readCases(t, "testdata/oracle/generated.txt")
	outputs = readCases(t, "testdata/oracle/generated.out")
	stricter := 0
	for _, c := range generated {
		out, ok := outputs[c.name]
		if !ok || inputs[c.name] != c.in {
			t.Fatalf("%s not recorded as it is now: run go test -run TestParseTable -export, then testdata/oracle/record.sh", c.name)
		}
		rec := parseRecording(out)
		if rec.errMsg == "" {
			if _, err := parseTest(c.in); err != nil && isStricter(err) {
				stricter++ // ldirectord accepts what ipvsadm or its checks then refuse
				continue
			}
		}
		diffs := compare(c.in, rec)
		for i := 0; i < len(diffs); i++ {
			// A global fallback on a firewall-mark service: ldirectord installs one without
			// an address (":0"); Parse warns and installs none.
			if strings.Contains(diffs[i], "ldirectord :0") || strings.Contains(diffs[i], ":0 w=1") {
				diffs = append(diffs[:i], diffs[i+1:]...)
				i--
			}
		}
		if len(diffs) > 0 {
			t.Errorf("%s differs from ldirectord:\n%s\ninput:\n%s\nldirectord:\n%s", c.name, strings.Join(diffs, "\n"), c.in, out)
		}
	}
	t.Logf("%d generated files, %d refused where ldirectord leaves it to ipvsadm or its checks to fail", len(generated), stricter)
	files, _ := filepath.Glob("testdata/*.cf")
	for _, cf := range files {
		name := strings.TrimSuffix(filepath.Base(cf), ".cf")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(cf)
			if err != nil {
				t.Fatal(err)
			}
			out, err := os.ReadFile("testdata/oracle/" + name + ".out")
			if err != nil {
				t.Fatalf("%v (run testdata/oracle/record.sh)", err)
			}
			if diffs := compare(string(in), parseRecording(string(out))); len(diffs) > 0 {
				t.Errorf("differs from ldirectord:\n%s", strings.Join(diffs, "\n"))
			}
		})
	}
}

// numGenerated is how many random files TestOracle compares.
const numGenerated = 400

// isStricter reports whether err only has errors for what ldirectord accepts and then fails
// on at run time (doc.go, Differences).
func isStricter(err error) bool {
	var errs config.Errors
	if !errors.As(err, &errs) {
		return false
	}
	for _, d := range errs {
		switch {
		case strings.Contains(d.Msg, "ipvsadm"), strings.Contains(d.Msg, "needs"), strings.Contains(d.Msg, "never passes"),
			strings.Contains(d.Msg, "threshold"), strings.Contains(d.Msg, "virtual service: "),
			strings.Contains(d.Msg, "incompatible scheduler flag"):
		default:
			return false
		}
	}
	return true
}

// compare lists how Parse's reading of in differs from ldirectord's; with errors, only the
// first is compared, since ldirectord stops there.
func compare(in string, rec *recording) []string {
	cfg, err := parseTest(in)
	var diffs []string
	add := func(format string, a ...any) { diffs = append(diffs, fmt.Sprintf(format, a...)) }
	if rec.errMsg != "" {
		var errs config.Errors
		if !errors.As(err, &errs) {
			return []string{fmt.Sprintf("ldirectord refuses it (line %d: %s); Parse accepts it", rec.errLine, rec.errMsg)}
		}
		first := errs[0]
		same := strings.HasPrefix(first.Msg, rec.errMsg)
		if strings.HasPrefix(rec.errMsg, "Unknown command") {
			same = strings.HasPrefix(first.Msg, "Unknown command")
		}
		if !same || first.Line != rec.errLine {
			add("first error %s (of %d), ldirectord line %d: %s", first, len(errs), rec.errLine, rec.errMsg)
		}
		return diffs
	}
	if err != nil {
		return []string{fmt.Sprintf("ldirectord accepts it; Parse says %v", err)}
	}
	for _, w := range rec.warns {
		found := false
		for _, d := range cfg.Warnings {
			found = found || (w.line < 0 || d.Line == w.line) && strings.Contains(d.Msg, w.msg)
		}
		if !found {
			add("no warning for ldirectord's line %d: %s", w.line, w.msg)
		}
	}
	if len(cfg.Services) != len(rec.virtuals) {
		return append(diffs, fmt.Sprintf("%d services, ldirectord has %d", len(cfg.Services), len(rec.virtuals)))
	}
	for i, s := range cfg.Services {
		diffs = append(diffs, compareService(s, rec.virtuals[i], rec)...)
	}
	return diffs
}

// ldAddr formats an address as ldirectord keeps it (IPv6 in brackets).
func ldAddr(a interface{ Is6() bool }, s string) string {
	if a.Is6() {
		return "[" + s + "]"
	}
	return s
}

func compareService(s *config.Service, v *recVirtual, rec *recording) []string {
	var diffs []string
	add := func(format string, a ...any) { diffs = append(diffs, fmt.Sprintf(format, a...)) }
	key, table := "", ""
	if s.IsFWMark() {
		key, table = fmt.Sprintf("fwm:%d", s.FWMark), fmt.Sprintf("%d fwm", s.FWMark)
		if s.Is6() {
			key, table = fmt.Sprintf("fwm6:%d", s.FWMark), fmt.Sprintf("%d fwm6", s.FWMark)
		}
	} else {
		vip := ldAddr(s.Addr, s.Addr.String()) + ":" + strconv.Itoa(int(s.Port))
		key, table = strings.ToLower(s.Protocol.String())+":"+vip, vip+" "+strings.ToLower(s.Protocol.String())
	}
	if key != str(v.f["id"]) {
		return []string{fmt.Sprintf("service %s, ldirectord %s", key, str(v.f["id"]))}
	}
	if s.Scheduler != str(v.f["scheduler"]) {
		add("%s: scheduler %s, ldirectord %s", key, s.Scheduler, str(v.f["scheduler"]))
	}
	if p := v.f["persistent"]; (p == nil) == s.Persistent() || (p != nil && num(p) != int(s.Timeout)) {
		add("%s: persistent %v %d, ldirectord %v", key, s.Persistent(), s.Timeout, str(p))
	}
	if m := v.f["netmask"]; m != nil && s.Persistent() {
		want := *m
		got := strconv.Itoa(int(s.Netmask))
		if !s.Is6() {
			got = fmt.Sprintf("%d.%d.%d.%d", s.Netmask>>24, s.Netmask>>16&0xff, s.Netmask>>8&0xff, s.Netmask&0xff)
		}
		if got != want {
			add("%s: netmask %s, ldirectord %s", key, got, want)
		}
	}
	if ops := str(v.f["ops"]) == "yes" && s.Protocol.String() == "UDP"; ops != (s.Flags&0x4 != 0) {
		add("%s: one-packet %v, ldirectord ops=%s", key, !ops, str(v.f["ops"]))
	}
	if f := str(v.f["schedflags"]); f != s.SchedFlagNames() && !(strings.Contains(f, ",") && len(f) == len(s.SchedFlagNames())) {
		add("%s: sched flags %q, ldirectord %q", key, s.SchedFlagNames(), f)
	}
	// The fallback server and command.
	fb := "none"
	if v.fallback != nil {
		fb = str(v.fallback["server"]) + ":" + str(v.fallback["port"]) + " " + str(v.fallback["forward"])
	}
	got := "none"
	if s.Sorry != nil {
		got = ldAddr(s.Sorry.Addr, s.Sorry.Addr.String()) + ":" + strconv.Itoa(int(s.Sorry.Port)) + " " +
			map[string]string{"Route": "gate", "Masq": "masq", "Tunnel": "ipip"}[s.Sorry.Forward.String()]
	}
	if got != fb {
		add("%s: fallback %s, ldirectord %s", key, got, fb)
	}
	cmd := v.f["fallbackcommand"]
	if cmd == nil {
		cmd = rec.global["fallbackcommand"]
	}
	if want := ""; cmd != nil {
		want = shellCommand(*cmd + " start " + str(v.f["server"]) + ":" + str(v.f["port"]) + " " + strings.SplitN(key, ":", 2)[0][:3])
		if s.QuorumDown != want {
			add("%s: quorum_down %q, ldirectord runs %q", key, s.QuorumDown, want)
		}
	} else if s.QuorumDown != "" {
		add("%s: quorum_down %q, ldirectord runs none", key, s.QuorumDown)
	}
	// The reals and their checks.
	quiescent := str(v.f["quiescent"]) == "yes"
	off := str(v.f["checktype"]) == "off"
	if want := v.nreals; !(off && !quiescent) && len(s.Reals) != want || off && !quiescent && len(s.Reals) != 0 {
		return append(diffs, fmt.Sprintf("%s: %d reals, ldirectord %d (checktype %s)", key, len(s.Reals), want, str(v.f["checktype"])))
	}
	var entries []string
	if s.Sorry != nil {
		entries = append(entries, strings.Fields(got)[0]+" w=1")
	}
	for i, r := range s.Reals {
		if quiescent {
			entries = append(entries, ldAddr(r.Addr, r.Addr.String())+":"+strconv.Itoa(int(r.Port))+" w=0")
		}
		if i >= len(v.reals) {
			continue
		}
		rr := v.reals[i]
		weight := num(rr["weight"])
		if off {
			weight = 0
		}
		gotReal := fmt.Sprintf("%s:%d %s w=%d x=%d y=%d q=%v", ldAddr(r.Addr, r.Addr.String()), r.Port, r.Forward, r.Weight, r.UThreshold, r.LThreshold, r.InhibitOnFailure)
		wantReal := fmt.Sprintf("%s:%d %s w=%d x=%d y=%d q=%v", str(rr["server"]), num(rr["port"]),
			map[string]string{"gate": "Route", "masq": "Masq", "ipip": "Tunnel"}[str(rr["forward"])], weight,
			num(rr["u-threshold"]), num(rr["l-threshold"]), quiescent)
		if gotReal != wantReal {
			add("%s: real %s, ldirectord %s", key, gotReal, wantReal)
		}
		diffs = append(diffs, compareChecks(key, r, v, rr)...)
	}
	if want, ok := rec.tables[table]; ok {
		sortStrings(entries)
		if got := strings.Join(entries, ", "); got != want {
			add("%s: initial table %q, ldirectord %q", key, got, want)
		}
	}
	return diffs
}
