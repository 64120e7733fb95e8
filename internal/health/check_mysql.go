package health

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
)

// MySQL client capability flags (MySQL client/server protocol).
const (
	mysqlLongPassword     = 0x00000001
	mysqlLongFlag         = 0x00000004
	mysqlProtocol41       = 0x00000200
	mysqlTransactions     = 0x00002000
	mysqlSecureConnection = 0x00008000
	mysqlPluginAuth       = 0x00080000
	mysqlMaxPacket        = 1 << 20
)

// mysql is ldirectord's check_mysql (check_sql with DBD::mysql), as far as it can go
// without a database name (config.Check has none):
//   - the server's first packet must be a protocol-10 handshake; an error packet (such as
//     "Host ... is not allowed to connect") fails the check with its message;
//   - with a login, the login must succeed: mysql_native_password, or
//     caching_sha2_password (fast path, or full authentication with the server's RSA key),
//     following an auth switch request when the server sends one;
//   - with a login and a request, the request without its leading "/" is run as a query
//     (name tables as db.table) and must return at least one row (a statement that returns
//     no result set must affect at least one), as ldirectord's $sth->rows > 0;
//   - then COM_QUIT.
//
// ldirectord refuses a mysql check without login and request; here, without a login, the
// check stops after the handshake. Beware that MySQL counts such half-open connections
// against max_connect_errors and then blocks the director's address: give a login.
func (p negotiateParams) mysql(ctx context.Context, conn net.Conn) Result {
	m := &mysqlConn{conn: conn, r: bufio.NewReader(conn)}
	pkt, err := m.read()
	if err != nil {
		return checkDownErr(ctx, "handshake", err)
	}
	if len(pkt) > 0 && pkt[0] == 0xff {
		return checkDown("server refused: %s", mysqlErrText(pkt))
	}
	hs, err := parseMySQLHandshake(pkt)
	if err != nil {
		return checkDown("handshake: %v", err)
	}
	if p.login == "" {
		return checkOK("MySQL %s", hs.version)
	}
	if r := m.login(ctx, hs, p.login, p.password); !r.OK {
		return r
	}
	query := strings.TrimPrefix(p.request, "/")
	if query == "" {
		m.quit()
		return checkOK("MySQL %s: logged in as %s", hs.version, p.login)
	}
	rows, err := m.query(query)
	m.quit()
	if err != nil {
		return checkDownErr(ctx, "query", err)
	}
	if rows == 0 {
		return checkDown("query %q: no rows", query)
	}
	return checkOK("query %q: %d rows", query, rows)
}

type mysqlHandshake struct {
	version string
	caps    uint32
	salt    []byte // the 20-byte scramble
	plugin  string
}

type mysqlConn struct {
	conn net.Conn
	r    *bufio.Reader
	seq  byte
}

// read reads one packet and checks its sequence number.
func (m *mysqlConn) read() ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(m.r, h[:]); err != nil {
		return nil, ldapEOF(err)
	}
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	if h[3] != m.seq {
		return nil, fmt.Errorf("packet sequence %d, want %d", h[3], m.seq)
	}
	m.seq++
	if n > mysqlMaxPacket {
		return nil, fmt.Errorf("packet of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(m.r, b); err != nil {
		return nil, ldapEOF(err)
	}
	return b, nil
}

func (m *mysqlConn) write(payload []byte) error {
	h := []byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), m.seq}
	m.seq++
	_, err := m.conn.Write(append(h, payload...))
	return err
}

func parseMySQLHandshake(b []byte) (*mysqlHandshake, error) {
	if len(b) < 1 || b[0] != 10 {
		return nil, errors.New("not a protocol 10 handshake")
	}
	i := bytes.IndexByte(b[1:], 0)
	if i < 0 {
		return nil, errors.New("truncated handshake")
	}
	hs := &mysqlHandshake{version: string(b[1 : 1+i])}
	rest := b[2+i:]
	if len(rest) < 4+8+1+2 {
		return nil, errors.New("truncated handshake")
	}
	hs.salt = append(hs.salt, rest[4:12]...)
	hs.caps = uint32(binary.LittleEndian.Uint16(rest[13:]))
	rest = rest[15:]
	if len(rest) >= 1+2+2+1+10 {
		hs.caps |= uint32(binary.LittleEndian.Uint16(rest[3:])) << 16
		saltLen := int(rest[5])
		rest = rest[16:]
		if hs.caps&mysqlSecureConnection != 0 {
			n := max(13, saltLen-8)
			if n > len(rest) {
				n = len(rest)
			}
			hs.salt = append(hs.salt, bytes.TrimRight(rest[:n], "\x00")...)
			rest = rest[n:]
		}
		if hs.caps&mysqlPluginAuth != 0 {
			if j := bytes.IndexByte(rest, 0); j >= 0 {
				rest = rest[:j]
			}
			hs.plugin = string(rest)
		}
	}
	if hs.plugin == "" {
		hs.plugin = "mysql_native_password"
	}
	return hs, nil
}

// login sends the HandshakeResponse41 and follows the authentication exchange to its OK.
func (m *mysqlConn) login(ctx context.Context, hs *mysqlHandshake, user, password string) Result {
	auth, err := mysqlScramble(hs.plugin, password, hs.salt)
	plugin := hs.plugin
	if err != nil {
		// Answer with mysql_native_password; the server may switch us to it.
		plugin = "mysql_native_password"
		auth, _ = mysqlScramble(plugin, password, hs.salt)
	}
	caps := uint32(mysqlLongPassword | mysqlLongFlag | mysqlProtocol41 | mysqlTransactions | mysqlSecureConnection)
	caps |= hs.caps & mysqlPluginAuth
	resp := binary.LittleEndian.AppendUint32(nil, caps)
	resp = binary.LittleEndian.AppendUint32(resp, 1<<24)
	resp = append(resp, 33) // utf8_general_ci
	resp = append(resp, make([]byte, 23)...)
	resp = append(append(resp, user...), 0)
	resp = append(append(resp, byte(len(auth))), auth...)
	if caps&mysqlPluginAuth != 0 {
		resp = append(append(resp, plugin...), 0)
	}
	if err := m.write(resp); err != nil {
		return checkDownErr(ctx, "login", err)
	}
	salt := hs.salt
	for range 4 {
		pkt, err := m.read()
		if err != nil {
			return checkDownErr(ctx, "login", err)
		}
		if len(pkt) == 0 {
			return checkDown("login: empty packet")
		}
		switch pkt[0] {
		case 0x00:
			return checkOK("")
		case 0xff:
			return checkDown("login as %s: %s", user, mysqlErrText(pkt))
		case 0xfe: // auth switch request: plugin name, then its data
			i := bytes.IndexByte(pkt[1:], 0)
			if i < 0 {
				return checkDown("login: bad auth switch request")
			}
			plugin = string(pkt[1 : 1+i])
			salt = bytes.TrimRight(pkt[2+i:], "\x00")
			auth, err := mysqlScramble(plugin, password, salt)
			if err != nil {
				return checkDown("login: %v", err)
			}
			if err := m.write(auth); err != nil {
				return checkDownErr(ctx, "login", err)
			}
		case 0x01: // more data: caching_sha2_password
			if plugin != "caching_sha2_password" || len(pkt) < 2 {
				return checkDown("login: unexpected auth data")
			}
			switch {
			case pkt[1] == 3: // fast authentication succeeded: the OK follows
			case pkt[1] == 4: // full authentication: ask for the server's public key
				if err := m.write([]byte{2}); err != nil {
					return checkDownErr(ctx, "login", err)
				}
			case bytes.HasPrefix(pkt[1:], []byte("-----BEGIN")):
				enc, err := mysqlRSAPassword(pkt[1:], password, salt)
				if err != nil {
					return checkDown("login: %v", err)
				}
				if err := m.write(enc); err != nil {
					return checkDownErr(ctx, "login", err)
				}
			default:
				return checkDown("login: unexpected auth data")
			}
		default:
			return checkDown("login: unexpected packet 0x%02x", pkt[0])
		}
	}
	return checkDown("login: authentication did not end")
}

// mysqlScramble answers a plugin's challenge: mysql_native_password is
// SHA1(pw) XOR SHA1(salt + SHA1(SHA1(pw))); caching_sha2_password is
// SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + salt). An empty password answers nothing.
func mysqlScramble(plugin, password string, salt []byte) ([]byte, error) {
	if len(salt) > 20 {
		salt = salt[:20]
	}
	switch plugin {
	case "mysql_native_password":
		if password == "" {
			return nil, nil
		}
		h1 := sha1.Sum([]byte(password))
		h2 := sha1.Sum(h1[:])
		h3 := sha1.Sum(append(append([]byte{}, salt...), h2[:]...))
		for i := range h1 {
			h1[i] ^= h3[i]
		}
		return h1[:], nil
	case "caching_sha2_password":
		if password == "" {
			return nil, nil
		}
		h1 := sha256.Sum256([]byte(password))
		h2 := sha256.Sum256(h1[:])
		h3 := sha256.Sum256(append(h2[:], salt...))
		for i := range h1 {
			h1[i] ^= h3[i]
		}
		return h1[:], nil
	}
	return nil, fmt.Errorf("authentication plugin %q is not supported", plugin)
}

// mysqlRSAPassword encrypts the password (NUL-terminated, XORed with the salt) with the
// server's RSA public key, for caching_sha2_password's full authentication.
func mysqlRSAPassword(pemKey []byte, password string, salt []byte) ([]byte, error) {
	blk, _ := pem.Decode(pemKey)
	if blk == nil {
		return nil, errors.New("bad server public key")
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("server public key: %v", err)
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok || len(salt) == 0 {
		return nil, errors.New("server public key is not RSA")
	}
	plain := append([]byte(password), 0)
	for i := range plain {
		plain[i] ^= salt[i%len(salt)]
	}
	return rsa.EncryptOAEP(sha1.New(), rand.Reader, rk, plain, nil)
}

// query runs q and counts the rows of its result set (or the rows it affected).
func (m *mysqlConn) query(q string) (int, error) {
	m.seq = 0
	if err := m.write(append([]byte{0x03}, q...)); err != nil {
		return 0, err
	}
	pkt, err := m.read()
	if err != nil {
		return 0, err
	}
	switch {
	case len(pkt) == 0:
		return 0, errors.New("empty reply")
	case pkt[0] == 0xff:
		return 0, errors.New(mysqlErrText(pkt))
	case pkt[0] == 0x00:
		n, _ := mysqlLenEnc(pkt[1:])
		return int(n), nil
	}
	cols, _ := mysqlLenEnc(pkt)
	for range cols { // column definitions
		if _, err := m.read(); err != nil {
			return 0, err
		}
	}
	if pkt, err = m.read(); err != nil || len(pkt) == 0 || pkt[0] != 0xfe {
		return 0, errors.New("bad result set")
	}
	rows := 0
	for {
		pkt, err := m.read()
		if err != nil {
			return 0, err
		}
		if len(pkt) > 0 && pkt[0] == 0xff {
			return 0, errors.New(mysqlErrText(pkt))
		}
		if len(pkt) > 0 && pkt[0] == 0xfe && len(pkt) < 9 {
			return rows, nil
		}
		rows++
	}
}

func (m *mysqlConn) quit() {
	m.seq = 0
	m.write([]byte{0x01})
}

// mysqlLenEnc decodes a length-encoded integer.
func mysqlLenEnc(b []byte) (uint64, int) {
	if len(b) == 0 {
		return 0, 0
	}
	switch n := int(b[0]); {
	case n < 0xfb:
		return uint64(n), 1
	case n == 0xfc && len(b) >= 3:
		return uint64(binary.LittleEndian.Uint16(b[1:])), 3
	case n == 0xfd && len(b) >= 4:
		return uint64(b[1]) | uint64(b[2])<<8 | uint64(b[3])<<16, 4
	case n == 0xfe && len(b) >= 9:
		return binary.LittleEndian.Uint64(b[1:]), 9
	}
	return 0, 1
}

// mysqlErrText is the code and message of an error packet.
func mysqlErrText(pkt []byte) string {
	if len(pkt) < 3 {
		return "error"
	}
	code := binary.LittleEndian.Uint16(pkt[1:])
	msg := pkt[3:]
	if len(msg) >= 6 && msg[0] == '#' {
		msg = msg[6:]
	}
	return fmt.Sprintf("error %d: %s", code, quoteReason(string(msg)))
}
