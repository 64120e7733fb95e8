package health

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
)

// LDAP protocol operation tags (RFC 4511, BER application class).
const (
	ldapBindRequest    = 0x60
	ldapBindResponse   = 0x61
	ldapUnbindRequest  = 0x42
	ldapSearchRequest  = 0x63
	ldapSearchEntry    = 0x64
	ldapSearchDone     = 0x65
	ldapSearchRef      = 0x73
	ldapMaxMessageSize = 1 << 20
)

// ldap is ldirectord's check_ldap (Net::LDAP): a simple bind, as Login with Password when
// both are set, else anonymous, must succeed (resultCode 0); then a search of the base
// object named by the request, without a leading "/" (so the root DSE by default), scope
// base, filter (objectClass=*), must return exactly one entry; with a receive regex, that
// entry's DN must match it. Then an unbind ends the session.
func (p negotiateParams) ldap(ctx context.Context, conn net.Conn) Result {
	r := bufio.NewReader(conn)
	var name, password string
	if p.login != "" && p.password != "" {
		name, password = p.login, p.password
	}
	if _, err := conn.Write(ldapBindRequestMsg(1, name, password)); err != nil {
		return checkDownErr(ctx, "bind", err)
	}
	op, body, err := ldapRead(r, 1)
	if err != nil {
		return checkDownErr(ctx, "bind", err)
	}
	if op != ldapBindResponse {
		return checkDown("bind: unexpected operation 0x%02x", op)
	}
	if code, msg, err := ldapResult(body); err != nil {
		return checkDown("bind: %v", err)
	} else if code != 0 {
		return checkDown("bind failed: result %d %s", code, quoteReason(msg))
	}

	// ldirectord: substr($$r{request},1); the adapter may have dropped the "/" already,
	// and a DN never starts with one.
	base := strings.TrimPrefix(p.request, "/")
	if _, err := conn.Write(ldapSearchRequestMsg(2, base)); err != nil {
		return checkDownErr(ctx, "search", err)
	}
	var dns []string
	for {
		op, body, err := ldapRead(r, 2)
		if err != nil {
			return checkDownErr(ctx, "search", err)
		}
		switch op {
		case ldapSearchEntry:
			_, dn, _, err := berNext(body)
			if err != nil {
				return checkDown("search: bad entry: %v", err)
			}
			dns = append(dns, string(dn))
			continue
		case ldapSearchRef:
			continue
		case ldapSearchDone:
		default:
			return checkDown("search: unexpected operation 0x%02x", op)
		}
		code, msg, err := ldapResult(body)
		if err != nil {
			return checkDown("search: %v", err)
		}
		conn.Write(ldapUnbindMsg(3))
		if code != 0 {
			return checkDown("search %q: result %d %s", base, code, quoteReason(msg))
		}
		break
	}
	if len(dns) != 1 {
		return checkDown("search %q: %d entries, want 1", base, len(dns))
	}
	if p.receive != nil && !p.receive.MatchString(dns[0]) {
		return checkDown("entry %q does not match %q", dns[0], p.receive.String())
	}
	return checkOK("entry %q", dns[0])
}

// ldapBindRequestMsg is an LDAPv3 simple BindRequest.
func ldapBindRequestMsg(id int, name, password string) []byte {
	op := berTLV(ldapBindRequest, berConcat(
		berInt(0x02, 3),
		berTLV(0x04, []byte(name)),
		berTLV(0x80, []byte(password)), // simple [0]
	))
	return berTLV(0x30, berConcat(berInt(0x02, id), op))
}

// ldapSearchRequestMsg is Net::LDAP's search(base => base, scope => "base",
// filter => "(objectClass=*)") as Net::LDAP 0.68 encodes it: aliases dereferenced in
// finding the base, no limits, all attributes.
func ldapSearchRequestMsg(id int, base string) []byte {
	op := berTLV(ldapSearchRequest, berConcat(
		berTLV(0x04, []byte(base)),
		berInt(0x0a, 0),                     // scope baseObject
		berInt(0x0a, 2),                     // derefAliases derefFindingBaseObj
		berInt(0x02, 0),                     // sizeLimit
		berInt(0x02, 0),                     // timeLimit
		berTLV(0x01, []byte{0}),             // typesOnly FALSE
		berTLV(0x87, []byte("objectClass")), // present filter [7]
		berTLV(0x30, nil),                   // attributes: none named
	))
	return berTLV(0x30, berConcat(berInt(0x02, id), op))
}

func ldapUnbindMsg(id int) []byte {
	return berTLV(0x30, berConcat(berInt(0x02, id), berTLV(ldapUnbindRequest, nil)))
}

// ldapRead reads one LDAPMessage and returns the tag and content of its protocolOp. A
// message for another id is an error: the check sends one request at a time.
func ldapRead(r *bufio.Reader, id int) (byte, []byte, error) {
	tag, err := r.ReadByte()
	if err != nil {
		return 0, nil, ldapEOF(err)
	}
	if tag != 0x30 {
		return 0, nil, fmt.Errorf("not an LDAP message (tag 0x%02x)", tag)
	}
	n, err := berReadLen(r)
	if err != nil {
		return 0, nil, ldapEOF(err)
	}
	if n > ldapMaxMessageSize {
		return 0, nil, fmt.Errorf("message of %d bytes", n)
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		return 0, nil, ldapEOF(err)
	}
	t, idb, rest, err := berNext(msg)
	if err != nil || t != 0x02 {
		return 0, nil, errors.New("bad messageID")
	}
	if got := berIntValue(idb); got != id {
		return 0, nil, fmt.Errorf("reply to message %d, want %d", got, id)
	}
	op, body, _, err := berNext(rest)
	if err != nil {
		return 0, nil, err
	}
	return op, body, nil
}

func ldapEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("connection closed")
	}
	return err
}

// ldapResult decodes the resultCode and diagnosticMessage of an LDAPResult.
func ldapResult(b []byte) (int, string, error) {
	t, code, rest, err := berNext(b)
	if err != nil || t != 0x0a {
		return 0, "", errors.New("bad LDAPResult")
	}
	_, _, rest, err = berNext(rest) // matchedDN
	if err != nil {
		return 0, "", errors.New("bad LDAPResult")
	}
	_, diag, _, err := berNext(rest)
	if err != nil {
		return 0, "", errors.New("bad LDAPResult")
	}
	return berIntValue(code), string(diag), nil
}

// berTLV encodes one BER element with a definite length.
func berTLV(tag byte, content []byte) []byte {
	out := []byte{tag}
	switch n := len(content); {
	case n < 0x80:
		out = append(out, byte(n))
	case n <= 0xff:
		out = append(out, 0x81, byte(n))
	case n <= 0xffff:
		out = append(out, 0x82, byte(n>>8), byte(n))
	default:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, content...)
}

// berInt encodes a non-negative INTEGER or ENUMERATED (tag) in its shortest form.
func berInt(tag byte, v int) []byte {
	b := []byte{byte(v)}
	for v >>= 8; v > 0; v >>= 8 {
		b = append([]byte{byte(v)}, b...)
	}
	if b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return berTLV(tag, b)
}

func berConcat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func berIntValue(b []byte) int {
	v := 0
	for _, c := range b {
		v = v<<8 | int(c)
	}
	return v
}

// berReadLen reads a definite BER length.
func berReadLen(r *bufio.Reader) (int, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	if b < 0x80 {
		return int(b), nil
	}
	k := int(b & 0x7f)
	if k == 0 || k > 4 {
		return 0, errors.New("unsupported BER length")
	}
	n := 0
	for range k {
		c, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		n = n<<8 | int(c)
	}
	return n, nil
}

// berNext splits the first element off b: its tag, content, and what follows it.
func berNext(b []byte) (byte, []byte, []byte, error) {
	if len(b) < 2 {
		return 0, nil, nil, errors.New("truncated BER element")
	}
	tag, n, off := b[0], int(b[1]), 2
	if n >= 0x80 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, nil, nil, errors.New("bad BER length")
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		off += k
	}
	if n > len(b)-off {
		return 0, nil, nil, errors.New("truncated BER element")
	}
	return tag, b[off : off+n], b[off+n:], nil
}
