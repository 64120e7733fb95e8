package ldirectord

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// generatedCases makes n random ldirectord.cf files from a fixed seed, for comparing Parse
// with ldirectord on inputs nobody wrote by hand: global and section directives in any
// order, with valid and invalid values, odd spacing, comments, tabs and spaces.
func generatedCases(n int) []parseCase {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	eq := func() string { return pick("=", "=", " = ", "= ", " =") }
	var out []parseCase
	for i := 0; i < n; i++ {
		var b strings.Builder
		// Two files in five may hold invalid values; the others only valid ones.
		noisy := rng.IntN(5) < 2
		val := func(valid, invalid []string) string {
			if noisy && rng.IntN(3) == 0 {
				return invalid[rng.IntN(len(invalid))]
			}
			return valid[rng.IntN(len(valid))]
		}
		vs := func(s ...string) []string { return s }
		global := func() {
			switch rng.IntN(12) {
			case 0:
				fmt.Fprintf(&b, "checktimeout%s%s\n", eq(), val(vs("3", "10", "4 # s"), vs("0", "x")))
			case 1:
				fmt.Fprintf(&b, "negotiatetimeout%s%s\n", eq(), pick("7", "20", "2"))
			case 2:
				fmt.Fprintf(&b, "checkinterval%s%s\n", eq(), pick("1", "5", "15"))
			case 3:
				fmt.Fprintf(&b, "failurecount%s%s\n", eq(), val(vs("1", "3"), vs("0")))
			case 4:
				fmt.Fprintf(&b, "quiescent%s%s\n", eq(), val(vs("yes", "no"), vs("yes ")))
			case 5:
				fmt.Fprintf(&b, "fork%s%s\n", eq(), pick("yes", "no"))
			case 6:
				fmt.Fprintf(&b, "fallback%s%s\n", eq(), pick("127.0.0.1", "127.0.0.1:81", "127.0.0.1:80 masq", "10.9.0.1:http gate"))
			case 7:
				fmt.Fprintf(&b, "autoreload%s%s\n", eq(), pick("yes", "no"))
			case 8:
				fmt.Fprintf(&b, "fallbackcommand%s%s\n", eq(), pick(`"/bin/fb"`, "/bin/fb"))
			case 9:
				b.WriteString(pick("# comment\n", "\n", "  \n", "   # indented\n"))
			case 10:
				fmt.Fprintf(&b, "callback%s%s\n", eq(), pick(`"/bin/cb"`, `""`))
			case 11:
				fmt.Fprintf(&b, "fallback6%s%s\n", eq(), val(vs("[::1]", "[::1]:8080 gate"), vs("::1")))
			}
		}
		for g := rng.IntN(4); g > 0; g-- {
			global()
		}
		for s := 1 + rng.IntN(3); s > 0; s-- {
			v6 := rng.IntN(5) == 0
			port := pick("80", "443", "53", "25", "21", "8080", "389", "3306", "http")
			switch {
			case rng.IntN(5) == 0:
				fmt.Fprintf(&b, "virtual%s%s%d\n", map[bool]string{true: "6"}[v6], eq(), 1+rng.IntN(3))
				port = "0"
			case v6:
				fmt.Fprintf(&b, "virtual6%s[2001:db8::%d]:%s\n", eq(), s, port)
			default:
				fmt.Fprintf(&b, "virtual%s192.0.2.%d:%s\n", eq(), s, port)
			}
			indent := func() string { return pick("\t", "\t", "    ", "        ", "  \t") }
			for r := 1 + rng.IntN(3); r > 0; r-- {
				addr := fmt.Sprintf("10.0.%d.%d", s, r)
				if v6 {
					addr = fmt.Sprintf("[2001:db8:1::%d]", r)
				}
				line := indent() + map[bool]string{true: "real6"}[v6] + map[bool]string{false: "real"}[v6] + eq() + addr
				if rng.IntN(3) > 0 {
					line += ":" + pick("80", "443", "53", "8080", "www")
				}
				line += " " + val(vs("gate", "masq", "ipip"), vs("nat"))
				if rng.IntN(2) == 0 {
					line += " " + pick("1", "2", "0", "10")
				}
				if rng.IntN(4) == 0 {
					line += " " + pick(`"a.html", "ok"`, `"/b.html", "ok"`, `"c", "d"`)
				}
				if rng.IntN(6) == 0 {
					line += " " + pick("u:100", "l:5 u:50", "l:5")
				}
				b.WriteString(line + "\n")
			}
			for d := rng.IntN(6); d > 0; d-- {
				b.WriteString(indent())
				switch rng.IntN(16) {
				case 0:
					fmt.Fprintf(&b, "checktype%s%s\n", eq(), val(vs("connect", "negotiate", "ping", "on", "off", "2", "external"), vs("bogus")))
				case 1:
					fmt.Fprintf(&b, "service%s%s\n", eq(), pick("http", "https", "smtp", "ftp", "none", "imap", "ldap", "pop", "nntp", "simpletcp"))
				case 2:
					fmt.Fprintf(&b, "request%s%s\n", eq(), val(vs(`"index.html"`, `"/x.php?a=1"`), vs(`""`, "/bare")))
				case 3:
					fmt.Fprintf(&b, "receive%s%s\n", eq(), val(vs(`"OK"`, `"Test Page"`, `"^up$"`), vs(`"a#b"`)))
				case 4:
					fmt.Fprintf(&b, "scheduler%s%s\n", eq(), val(vs("rr", "wlc", "sh"), vs("RR")))
				case 5:
					fmt.Fprintf(&b, "persistent%s%s\n", eq(), val(vs("300", "600"), vs("x")))
				case 6:
					fmt.Fprintf(&b, "protocol%s%s\n", eq(), val(vs("tcp", "udp"), vs("fwm", "sctp")))
				case 7:
					fmt.Fprintf(&b, "checkport%s%s\n", eq(), val(vs("80", "8080"), vs("0")))
				case 8:
					fmt.Fprintf(&b, "quiescent%s%s\n", eq(), pick("yes", "no"))
				case 9:
					if v6 {
						fmt.Fprintf(&b, "fallback6%s%s\n", eq(), val(vs("[::1]", "[::1]:81 masq"), vs("127.0.0.1")))
					} else {
						fmt.Fprintf(&b, "fallback%s%s\n", eq(), val(vs("127.0.0.1", "127.0.0.1:81 masq"), vs("[::1]:80")))
					}
				case 10:
					fmt.Fprintf(&b, "virtualhost%s%s\n", eq(), pick("www.example.com", `"x.example.com"`))
				case 11:
					fmt.Fprintf(&b, "checktimeout%s%s\n", eq(), pick("2", "9"))
				case 12:
					fmt.Fprintf(&b, "negotiatetimeout%s%s\n", eq(), pick("4", "12"))
				case 13:
					fmt.Fprintf(&b, "failurecount%s%s\n", eq(), pick("2", "5"))
				case 14:
					fmt.Fprintf(&b, "%s\n", pick("# comment", "httpmethod=HEAD", "login=\"u\"", "checkinterval=3"))
				case 15:
					fmt.Fprintf(&b, "%s%s[::1]:80\n", val(vs(map[bool]string{true: "fallback6", false: "fallback"}[v6]), vs("fallback6", "fallback")), eq())
				}
			}
			if rng.IntN(4) == 0 {
				b.WriteString(pick("\n", "# between\n"))
			}
			if rng.IntN(3) == 0 {
				global()
			}
		}
		out = append(out, parseCase{name: fmt.Sprintf("gen%03d", i), in: b.String()})
	}
	return out
}
