package health

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"io"
	"net"
	"os"
	"testing"

	"github.com/golvs/golvs/internal/config"
)

// mysqlFake is a MySQL server as far as a health check goes: a handshake, the login of one
// account checked the way the server checks it (from the stored hash, not the password),
// and a query answered with rows or an error.
type mysqlFake struct {
	refuse   bool   // send an error packet instead of the handshake
	plugin   string // the plugin the handshake announces
	user     string // the account; its password is password
	password string
	native   bool // the account uses mysql_native_password (switch to it if needed)
	cached   bool // caching_sha2_password: the password is in the server's cache
	rows     int  // rows the query returns; -1: the query fails
	key      *rsa.PrivateKey
	quit     chan bool
}

var mysqlSalt = []byte("abcdefghij0123456789")

func mysqlWrite(w io.Writer, seq byte, p []byte) {
	w.Write(append([]byte{byte(len(p)), byte(len(p) >> 8), byte(len(p) >> 16), seq}, p...))
}

func mysqlReadPkt(r *bufio.Reader) (byte, []byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	p := make([]byte, int(h[0])|int(h[1])<<8|int(h[2])<<16)
	_, err := io.ReadFull(r, p)
	return h[3], p, err
}

func mysqlErrPkt(code uint16, msg string) []byte {
	return append(binary.LittleEndian.AppendUint16([]byte{0xff}, code), "#28000"+msg...)
}

var mysqlOK = []byte{0, 0, 0, 2, 0, 0, 0}

// nativeOK checks a mysql_native_password answer as the server does: with the stored
// SHA1(SHA1(password)), SHA1(answer XOR SHA1(salt + stored)) must equal stored.
func nativeOK(answer []byte, salt []byte, password string) bool {
	h := sha1.Sum([]byte(password))
	stored := sha1.Sum(h[:])
	x := sha1.Sum(append(append([]byte{}, salt...), stored[:]...))
	if len(answer) != len(x) {
		return password == "" && len(answer) == 0
	}
	for i := range x {
		x[i] ^= answer[i]
	}
	return sha1.Sum(x[:]) == stored
}

// cachingOK checks a caching_sha2_password fast answer from the cached SHA256(SHA256(pw)).
func cachingOK(answer []byte, salt []byte, password string) bool {
	h := sha256.Sum256([]byte(password))
	stored := sha256.Sum256(h[:])
	x := sha256.Sum256(append(stored[:], salt...))
	if len(answer) != len(x) {
		return false
	}
	for i := range x {
		x[i] ^= answer[i]
	}
	return sha256.Sum256(x[:]) == stored
}

// authenticate follows the login that starts with the HandshakeResponse41 resp (sequence
// seq) and returns whether it succeeded and the last sequence number used.
func (f *mysqlFake) authenticate(t *testing.T, c net.Conn, r *bufio.Reader, seq byte, resp []byte) (byte, bool) {
	// capabilities(4) max packet(4) charset(1) filler(23) user NUL authlen auth plugin NUL
	rest := resp[32:]
	i := bytes.IndexByte(rest, 0)
	user := string(rest[:i])
	rest = rest[i+1:]
	answer := rest[1 : 1+int(rest[0])]
	plugin := string(bytes.TrimRight(rest[1+int(rest[0]):], "\x00"))
	switch {
	case user != f.user:
		return seq, false
	case f.native && plugin != "mysql_native_password":
		salt2 := []byte("ZYXWVUTSRQ9876543210")
		mysqlWrite(c, seq+1, append(append([]byte("\xfemysql_native_password\x00"), salt2...), 0))
		seq, answer, _ = mysqlReadPkt(r)
		return seq, nativeOK(answer, salt2, f.password)
	case f.native:
		return seq, nativeOK(answer, mysqlSalt, f.password)
	case plugin != "caching_sha2_password":
		t.Errorf("client answered with %q", plugin)
		return seq, false
	case f.cached:
		if !cachingOK(answer, mysqlSalt, f.password) {
			return seq, false
		}
		mysqlWrite(c, seq+1, []byte{1, 3}) // fast authentication succeeded
		return seq + 1, true
	}
	// Full authentication: the client asks for the RSA key and sends the password with it.
	mysqlWrite(c, seq+1, []byte{1, 4})
	seq, req, _ := mysqlReadPkt(r)
	if !bytes.Equal(req, []byte{2}) {
		t.Errorf("client asked %x, want the public key (02)", req)
		return seq, false
	}
	der, _ := x509.MarshalPKIXPublicKey(&f.key.PublicKey)
	mysqlWrite(c, seq+1, append([]byte{1}, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...))
	seq, enc, _ := mysqlReadPkt(r)
	plain, err := rsa.DecryptOAEP(sha1.New(), nil, f.key, enc, nil)
	if err != nil {
		return seq, false
	}
	for i := range plain {
		plain[i] ^= mysqlSalt[i%len(mysqlSalt)]
	}
	return seq, string(plain) == f.password+"\x00"
}

func (f *mysqlFake) serve(t *testing.T, c net.Conn) {
	r := bufio.NewReader(c)
	if f.refuse {
		mysqlWrite(c, 0, append(binary.LittleEndian.AppendUint16([]byte{0xff}, 1130), "Host '127.0.0.1' is not allowed to connect to this MySQL server"...))
		return
	}
	hs := []byte{10}
	hs = append(hs, "8.0.36-fake\x00"...)
	hs = append(hs, 1, 0, 0, 0)
	hs = append(hs, mysqlSalt[:8]...)
	hs = append(hs, 0, 0xff, 0xf7, 33, 2, 0, 0xff, 0xc1|0x08, 21) // caps incl. PLUGIN_AUTH
	hs = append(hs, make([]byte, 10)...)
	hs = append(hs, mysqlSalt[8:]...)
	hs = append(hs, 0)
	hs = append(append(hs, f.plugin...), 0)
	mysqlWrite(c, 0, hs)

	seq, resp, err := mysqlReadPkt(r)
	if err != nil {
		return // handshake-only check
	}
	seq, ok := f.authenticate(t, c, r, seq, resp)
	if !ok {
		mysqlWrite(c, seq+1, mysqlErrPkt(1045, "Access denied"))
		return
	}
	mysqlWrite(c, seq+1, mysqlOK)
	for {
		_, cmd, err := mysqlReadPkt(r)
		if err != nil || len(cmd) == 0 {
			return
		}
		switch cmd[0] {
		case 0x01:
			f.quit <- true
			return
		case 0x03:
			if f.rows < 0 {
				mysqlWrite(c, 1, mysqlErrPkt(1146, "Table 'lvs.nothing' doesn't exist"))
				continue
			}
			s := byte(1)
			mysqlWrite(c, s, []byte{1})
			mysqlWrite(c, s+1, []byte("\x03def\x03lvs\x01t\x01t\x01n\x01n\x0c\x21\x00\x0b\x00\x00\x00\x03\x00\x00\x00\x00\x00"))
			mysqlWrite(c, s+2, []byte{0xfe, 0, 0, 2, 0})
			s += 3
			for i := range f.rows {
				mysqlWrite(c, s, []byte{1, byte('0' + i%10)})
				s++
			}
			mysqlWrite(c, s, []byte{0xfe, 0, 0, 2, 0})
		}
	}
}

func TestMySQLChecker(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	login := config.Check{Login: "lvs", Password: "s3cret", Request: "/SELECT n FROM lvs.t"}
	tests := []struct {
		name   string
		check  config.Check
		fake   mysqlFake
		ok     bool
		reason string
		quits  bool
	}{
		{"handshake only", config.Check{}, mysqlFake{plugin: "mysql_native_password"}, true, "mysql: MySQL 8.0.36-fake", false},
		{"host refused", config.Check{}, mysqlFake{refuse: true}, false, `mysql: server refused: error 1130: "Host '127.0.0.1' is not allowed`, false},
		{"native login and query", login, mysqlFake{plugin: "mysql_native_password", native: true, rows: 2}, true, `mysql: query "SELECT n FROM lvs.t": 2 rows`, true},
		{"native wrong password", withPassword(login, "nope"), mysqlFake{plugin: "mysql_native_password", native: true, rows: 2}, false, "mysql: login as lvs: error 1045", false},
		{"unknown user", withLogin(login, "root"), mysqlFake{plugin: "mysql_native_password", native: true}, false, "error 1045", false},
		{"login without query", withRequest(login, ""), mysqlFake{plugin: "mysql_native_password", native: true}, true, "mysql: MySQL 8.0.36-fake: logged in as lvs", true},
		{"no rows", login, mysqlFake{plugin: "mysql_native_password", native: true, rows: 0}, false, `mysql: query "SELECT n FROM lvs.t": no rows`, true},
		{"query error", login, mysqlFake{plugin: "mysql_native_password", native: true, rows: -1}, false, "mysql: query: error 1146", true},
		{"switch to native", login, mysqlFake{plugin: "caching_sha2_password", native: true, rows: 1}, true, "1 rows", true},
		{"caching_sha2 fast path", login, mysqlFake{plugin: "caching_sha2_password", cached: true, rows: 1}, true, "1 rows", true},
		{"caching_sha2 with RSA", login, mysqlFake{plugin: "caching_sha2_password", key: key, rows: 3}, true, "3 rows", true},
		{"caching_sha2 wrong password", withPassword(login, "x"), mysqlFake{plugin: "caching_sha2_password", key: key, rows: 3}, false, "error 1045", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.fake
			f.user, f.password, f.quit = "lvs", "s3cret", make(chan bool, 1)
			addr := serve(t, "tcp4", func(c net.Conn) { f.serve(t, c) })
			c := tt.check
			c.Kind, c.Service = config.CheckNegotiate, "mysql"
			wantResult(t, runCheck(t, mustChecker(t, &c, Target{Addr: addr}), checkTimeout), tt.ok, tt.reason)
			if tt.quits {
				if !<-f.quit {
					t.Error("no COM_QUIT")
				}
			}
		})
	}
}

func withPassword(c config.Check, p string) config.Check { c.Password = p; return c }
func withLogin(c config.Check, l string) config.Check    { c.Login = l; return c }
func withRequest(c config.Check, r string) config.Check  { c.Request = r; return c }

// TestMySQLCheckerRealServer runs against a real MySQL or MariaDB server when
// GOLVS_TEST_MYSQL is set to "host:port user password query".
func TestMySQLCheckerRealServer(t *testing.T) {
	spec := os.Getenv("GOLVS_TEST_MYSQL")
	if spec == "" {
		t.Skip("GOLVS_TEST_MYSQL not set (\"host:port user password query\")")
	}
	f, err := config.SplitCommand(spec)
	if err != nil || len(f) != 4 {
		t.Fatalf("GOLVS_TEST_MYSQL=%q: want 4 words", spec)
	}
	ap, err := net.ResolveTCPAddr("tcp", f[0])
	if err != nil {
		t.Fatal(err)
	}
	c := &config.Check{Kind: config.CheckNegotiate, Service: "mysql", Login: f[1], Password: f[2], Request: "/" + f[3]}
	r := runCheck(t, mustChecker(t, c, Target{Addr: ap.AddrPort()}), 2*checkTimeout)
	t.Logf("%+v", r)
	wantResult(t, r, true, "rows")
	c.Password += "x"
	wantResult(t, runCheck(t, mustChecker(t, c, Target{Addr: ap.AddrPort()}), 2*checkTimeout), false, "error 1045")
}
