package health

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net"
	"testing"

	"github.com/golvs/golvs/internal/config"
)

// Requests as Net::LDAP 0.68 (the one ldirectord uses) sends them, captured on the wire:
// bind("cn=admin,dc=example,dc=org", password => "secret"), search(base =>
// "dc=example,dc=org", scope => "base", filter => "(objectClass=*)"), unbind.
const (
	netLDAPBind   = "302c0201016027020103041a636e3d61646d696e2c64633d6578616d706c652c64633d6f72678006736563726574"
	netLDAPSearch = "30360201026331041164633d6578616d706c652c64633d6f72670a01000a0102020100020100010100870b6f626a656374436c6173733000"
	netLDAPUnbind = "30050201034200"
)

func TestLDAPEncodingMatchesNetLDAP(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"bind", ldapBindRequestMsg(1, "cn=admin,dc=example,dc=org", "secret"), netLDAPBind},
		{"search", ldapSearchRequestMsg(2, "dc=example,dc=org"), netLDAPSearch},
		{"unbind", ldapUnbindMsg(3), netLDAPUnbind},
		{"anonymous bind", ldapBindRequestMsg(1, "", ""), "300c020101600702010304008000"},
	} {
		if got := hex.EncodeToString(tc.got); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// ldapFake answers one bind and one search: bindCode for the bind, the entries (DNs) and
// searchCode for the search. It reports requests other than wantBind and wantSearch (hex)
// when they are set.
type ldapFake struct {
	wantBind   string
	wantSearch string
	bindCode   int
	entries    []string
	searchCode int
}

func ldapReply(id int, op []byte) []byte {
	return berTLV(0x30, berConcat(berInt(0x02, id), op))
}

func ldapResultOp(tag byte, code int, diag string) []byte {
	return berTLV(tag, berConcat(berInt(0x0a, code), berTLV(0x04, nil), berTLV(0x04, []byte(diag))))
}

func (f ldapFake) serve(t *testing.T, c net.Conn) {
	r := bufio.NewReader(c)
	for {
		tag, err := r.ReadByte()
		if err != nil {
			return
		}
		n, err := berReadLen(r)
		if err != nil {
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		raw := berTLV(tag, body) // as sent, for a client that encodes lengths minimally
		_, idb, rest, _ := berNext(body)
		id := berIntValue(idb)
		op, _, _, _ := berNext(rest)
		switch op {
		case ldapBindRequest:
			if f.wantBind != "" && hex.EncodeToString(raw) != f.wantBind {
				t.Errorf("bind request %x, want %s", raw, f.wantBind)
			}
			c.Write(ldapReply(id, ldapResultOp(ldapBindResponse, f.bindCode, "bind result")))
		case ldapSearchRequest:
			if f.wantSearch != "" && hex.EncodeToString(raw) != f.wantSearch {
				t.Errorf("search request %x, want %s", raw, f.wantSearch)
			}
			for _, dn := range f.entries {
				attrs := berTLV(0x30, berTLV(0x30, berConcat(berTLV(0x04, []byte("objectClass")), berTLV(0x31, berTLV(0x04, []byte("top"))))))
				c.Write(ldapReply(id, berTLV(ldapSearchEntry, berConcat(berTLV(0x04, []byte(dn)), attrs))))
			}
			c.Write(ldapReply(id, ldapResultOp(ldapSearchDone, f.searchCode, "search result")))
		case ldapUnbindRequest:
			return
		}
	}
}

func TestLDAPChecker(t *testing.T) {
	login := config.Check{Login: "cn=admin,dc=example,dc=org", Password: "secret", Request: "/dc=example,dc=org"}
	tests := []struct {
		name   string
		check  config.Check
		fake   ldapFake
		ok     bool
		reason string
	}{
		{"bind and search as Net::LDAP", login, ldapFake{wantBind: netLDAPBind, wantSearch: netLDAPSearch, entries: []string{"dc=example,dc=org"}}, true, `ldap: entry "dc=example,dc=org"`},
		{"receive matches", withReceive(login, "^dc=example"), ldapFake{entries: []string{"dc=example,dc=org"}}, true, "ldap: entry"},
		{"receive mismatch", withReceive(login, "^ou="), ldapFake{entries: []string{"dc=example,dc=org"}}, false, `ldap: entry "dc=example,dc=org" does not match "^ou="`},
		{"anonymous root DSE", config.Check{}, ldapFake{wantBind: "300c020101600702010304008000", entries: []string{""}}, true, `ldap: entry ""`},
		{"bind refused", login, ldapFake{bindCode: 49}, false, `ldap: bind failed: result 49 "bind result"`},
		{"no entry", login, ldapFake{}, false, "ldap: search \"dc=example,dc=org\": 0 entries, want 1"},
		{"two entries", login, ldapFake{entries: []string{"a", "b"}}, false, "2 entries, want 1"},
		{"no such object", login, ldapFake{searchCode: 32}, false, "result 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serve(t, "tcp4", func(c net.Conn) { tt.fake.serve(t, c) })
			c := tt.check
			c.Kind, c.Service = config.CheckNegotiate, "ldap"
			wantResult(t, runCheck(t, mustChecker(t, &c, Target{Addr: addr}), checkTimeout), tt.ok, tt.reason)
		})
	}

	t.Run("ldaps", func(t *testing.T) {
		cert := selfSigned(t)
		addr := serve(t, "tcp4", func(c net.Conn) {
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
			ldapFake{entries: []string{"dc=example,dc=org"}}.serve(t, tc)
		})
		c := login
		c.Kind, c.Service = config.CheckNegotiate, "ldaps"
		wantResult(t, runCheck(t, mustChecker(t, &c, Target{Addr: addr}), checkTimeout), true, `ldaps: entry "dc=example,dc=org"`)
	})
}

func withReceive(c config.Check, re string) config.Check {
	c.Receive = re
	return c
}

func TestBERLengths(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 255, 256, 65535, 65536} {
		b := berTLV(0x04, bytes.Repeat([]byte{'x'}, n))
		tag, content, rest, err := berNext(b)
		if err != nil || tag != 0x04 || len(content) != n || len(rest) != 0 {
			t.Errorf("length %d: tag %x, %d bytes, rest %d, %v", n, tag, len(content), len(rest), err)
		}
		got, err := berReadLen(bufio.NewReader(bytes.NewReader(b[1:])))
		if err != nil || got != n {
			t.Errorf("berReadLen(%d) = %d, %v", n, got, err)
		}
	}
	if _, _, _, err := berNext([]byte{0x04, 0x85, 1, 2, 3, 4, 5}); err == nil {
		t.Error("a 5-byte length decoded")
	}
}
