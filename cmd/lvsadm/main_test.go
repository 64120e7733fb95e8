package main

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/golvs/golvs/internal/ipvsadm"
	"github.com/golvs/golvs/internal/ipvsnl/ipvsnltest"
	"github.com/golvs/golvs/internal/kernelctl"
)

// fakeKernelEnv returns an env whose --kernel table is fk (each invocation opens a client
// of its own, as each ipvsadm run does); with no lvsd anywhere.
func fakeKernelEnv(fk *ipvsnltest.Kernel) env {
	return env{
		getenv: func(string) string { return "/nonexistent/lvsd.sock" },
		openKernel: func(io.Writer) (backend, error) {
			c, err := fk.Client()
			if err != nil {
				return nil, err
			}
			k, err := kernelctl.Open(kernelctl.Options{Client: c, ConnFile: "testdata/ip_vs_conn.txt"})
			if err != nil {
				return nil, ipvsadm.InitError(kernelctl.Errno(err))
			}
			return &kernelBackend{k: k}, nil
		},
	}
}

type result struct {
	stdout, stderr string
	status         int
}

func invoke(e env, stdin string, args ...string) result {
	var out, errb bytes.Buffer
	e.stdin, e.stdout, e.stderr = strings.NewReader(stdin), &out, &errb
	st := run(args, e)
	return result{out.String(), errb.String(), st}
}

// step is one lvsadm run and what it must print and return.
type step struct {
	args, stdin    string
	stdout, stderr string
	status         int
	// sent are the table-changing netlink commands it must send (nil: not checked).
	sent []string
}

func runSteps(t *testing.T, fk *ipvsnltest.Kernel, steps []step) {
	t.Helper()
	e := fakeKernelEnv(fk)
	for _, s := range steps {
		fk.ResetLog()
		r := invoke(e, s.stdin, strings.Fields(s.args)...)
		if r.stdout != s.stdout || r.stderr != s.stderr || r.status != s.status {
			t.Errorf("lvsadm %s\n got: exit %d stdout %q stderr %q\nwant: exit %d stdout %q stderr %q",
				s.args, r.status, r.stdout, r.stderr, s.status, s.stdout, s.stderr)
		}
		if s.sent != nil {
			if got := fk.Writes(); !slices.Equal(got, s.sent) {
				t.Errorf("lvsadm %s sent %q, want %q", s.args, got, s.sent)
			}
		}
	}
}

const header = "IP Virtual Server version 1.2.1 (size=4096)\n" +
	"Prot LocalAddress:Port Scheduler Flags\n" +
	"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"

// TestKernelCommands: lvsadm --kernel sends each command to the kernel as it is, with no
// lvsd, and prints what ipvsadm prints, refusals included.
func TestKernelCommands(t *testing.T) {
	fk := ipvsnltest.New()
	runSteps(t, fk, []step{
		{args: "--kernel -A -t 10.9.0.1:80 -s rr", sent: []string{"new-service tcp 10.9.0.1:80 sched rr netmask 0xffffffff"}},
		{args: "-a --kernel -t 10.9.0.1:80 -r 10.1.0.11:80 -m", sent: []string{"new-dest tcp 10.9.0.1:80 dest 10.1.0.11:80 masq weight 1"}},
		{args: "--kernel -A -t 10.9.0.1:80 -s rr", stderr: "Service already exists\n", status: 255,
			sent: []string{"new-service tcp 10.9.0.1:80 sched rr netmask 0xffffffff => file exists"}},
		{args: "--kernel -a -t 10.9.0.2:80 -r 10.1.0.11:80 -m", stderr: "Service not defined\n", status: 255},
		{args: "--kernel -e -t 10.9.0.1:80 -r 10.1.0.12:80 -m", stderr: "No such destination\n", status: 255},
		{args: "--kernel -a -t 10.9.0.1:80 -r 10.1.0.14:80 -m -x 10 -y 20", stderr: "Numerical result out of range\n", status: 255},
		{args: "--kernel --stop-daemon backup", stderr: "No daemon is running\n", status: 255},
		{args: "--kernel -A -t 10.9.0.300:80", stderr: "illegal virtual server address[:port] specified\n", status: 2, sent: []string{}},
		{args: "--kernel -L -n", stdout: header + "TCP  10.9.0.1:80 rr\n  -> 10.1.0.11:80                 Masq    1      0          0         \n", sent: []string{}},
		{args: "--kernel -L -n -t 10.9.0.9:80", stderr: "No such service\n", status: 1},
		{args: "--kernel -S -n", stdout: "-A -t 10.9.0.1:80 -s rr\n-a -t 10.9.0.1:80 -r 10.1.0.11:80 -m -w 1\n"},
		{args: "--kernel --set 0 100 0", sent: []string{"set-config timeouts 0 100 0"}},
		{args: "--kernel -L --timeout", stdout: "Timeout (tcp tcpfin udp): 900 100 300\n"},
		{args: "--kernel -L -n -c", stdout: "IPVS connection entries\npro expire state       source             virtual            destination\n" +
			"TCP 14:53  ESTABLISHED 10.0.0.2:59796     10.9.0.1:80        10.1.0.11:80\n" +
			"TCP 05:53  NONE        10.0.0.2:0         10.9.0.1:80        10.1.0.11:80\n" +
			"UDP 04:59  UDP         [fd00::2]:35388    [fd00::9]:53       [fd01::11]:53\n"},
		{args: "--kernel -Z", sent: []string{"zero"}},
		{args: "--kernel -d -t 10.9.0.1:80 -r 10.1.0.11:80", sent: []string{"del-dest tcp 10.9.0.1:80 dest 10.1.0.11:80"}},
		{args: "--kernel -C", sent: []string{"flush"}},
		{args: "--kernel", stdout: header},
	})
}

// TestKernelRestore: lvsadm --kernel -R is ipvsadm 1.31's -R, as recorded in the IPVS VM
// (test/ipvsvm compares the two on the real kernel): lines run in order, a refused line
// prints its message and the rest go on, the status is the last line's; a line with an
// argument error ends the restore (unless popt let it go on), as do -v and -L of a missing
// service.
func TestKernelRestore(t *testing.T) {
	fk := ipvsnltest.New()
	runSteps(t, fk, []step{
		{args: "--kernel -R", stdin: "-A -t 10.9.0.60:80 -s rr\n-A -t 10.9.0.61:80 -s nosuch\n-A -t 10.9.0.62:80 -s rr\n",
			stderr: "Scheduler or persistence engine not found\n", status: 0},
		{args: "--kernel -S -n", stdout: "-A -t 10.9.0.60:80 -s rr\n-A -t 10.9.0.62:80 -s rr\n"},
		{args: "--kernel -C"},
		{args: "--kernel -R", stdin: "-A -t 10.9.0.60:80 -s rr\n-A -t 10.9.0.61:80 -s nosuch\n",
			stderr: "Scheduler or persistence engine not found\n", status: 255},
		{args: "--kernel -C"},
		{args: "--kernel -R", stdin: "-A -t 10.9.0.60:80 -s rr\n-A -t 10.9.0.300:80 -s rr\n-A -t 10.9.0.62:80 -s rr\n",
			stderr: "illegal virtual server address[:port] specified\n", status: 2,
			sent: []string{"new-service tcp 10.9.0.60:80 sched rr netmask 0xffffffff"}},
		{args: "--kernel -C"},
		{args: "--kernel -R", stdin: "-A -t 10.9.0.60:80 -s rr\n-A -t 10.9.0.61:80 -Q\n-A -t 10.9.0.62:80 -s rr\n",
			stderr: "-Q: unknown option\n", status: 0},
		{args: "--kernel -R", stdin: "-A -t 10.9.0.63:80 -s rr\n-A -t 10.9.0.61:80 -Q\n", stderr: "-Q: unknown option\n", status: 255},
		{args: "--kernel -C"},
		{args: "--kernel -R", stdin: "-A -t 10.9.0.60:80 -s rr\n-L -n\n-L -n -t 10.9.0.99:80\n-A -t 10.9.0.62:80 -s rr\n",
			stdout: header + "TCP  10.9.0.60:80 rr\n", stderr: "No such service\n", status: 1},
		{args: "--kernel -S -n", stdout: "-A -t 10.9.0.60:80 -s rr\n"},
		{args: "--kernel -C"},
		{args: "--kernel -R", stdin: "-a -t 10.9.0.99:80 -r 10.1.0.1:80 -m\n-A -t 10.9.0.60:80 -s rr\n-e -t 10.9.0.60:80 -r 10.1.0.9:80 -m\n" +
			"-d -t 10.9.0.60:80 -r 10.1.0.9:80\n-D -t 10.9.0.99:80\n-Z -t 10.9.0.99:80\n--stop-daemon master\n-E -t 10.9.0.99:80 -s rr\n",
			stderr: "Service not defined\nNo such destination\nNo such destination\nNo such service\nNo such service\nNo daemon is running\nNo such service\n",
			status: 255},
		{args: "--kernel -C"},
		{args: "--kernel -R", stdin: "-A -t 10.9.0.60:80 -s rr\n-v\n-A -t 10.9.0.62:80 -s rr\n",
			stdout: "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n", status: 0},
		{args: "--kernel -S -n", stdout: "-A -t 10.9.0.60:80 -s rr\n"},
		{args: "--kernel -C"},
		{args: "--kernel -R", stdin: "-A -t 10.9.0.60:80 -s rr\n# hello\n-A -t 10.9.0.62:80 -s rr\n",
			stderr: "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n", status: 255},
		{args: "--kernel -S -n", stdout: "-A -t 10.9.0.60:80 -s rr\n"},
	})
}

// TestKernelInitFails: without IPVS (or the privilege) lvsadm --kernel says what ipvsadm
// says, whatever the command, and exits 2.
func TestKernelInitFails(t *testing.T) {
	e := env{openKernel: func(io.Writer) (backend, error) {
		return nil, ipvsadm.InitError(syscall.ENOPROTOOPT)
	}}
	want := "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n"
	for _, args := range [][]string{{"--kernel", "-L", "-n"}, {"--kernel", "-A", "-t", "10.9.0.1:80"}, {"--kernel"}} {
		if r := invoke(e, "", args...); r.status != 2 || r.stderr != want || r.stdout != "" {
			t.Errorf("%q: %+v", args, r)
		}
	}
}

func TestOwnFlags(t *testing.T) {
	for _, tc := range []struct {
		args    string
		want    ownFlagSet
		rest    string
		wantErr string
	}{
		{"-L -n", ownFlagSet{}, "-L -n", ""},
		{"--socket /x.sock -L -n", ownFlagSet{socket: "/x.sock"}, "-L -n", ""},
		{"-L --socket=/x.sock -n", ownFlagSet{socket: "/x.sock"}, "-L -n", ""},
		{"--kernel -L -n", ownFlagSet{kernel: true}, "-L -n", ""},
		{"-A -t 10.9.0.1:80 --kernel", ownFlagSet{kernel: true}, "-A -t 10.9.0.1:80", ""},
		{"--kernel --socket /x.sock -L", ownFlagSet{}, "", "does not go with --socket"},
		{"-L --socket", ownFlagSet{}, "", "--socket needs a path"},
	} {
		f, rest, err := ownFlags(strings.Fields(tc.args))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || f != tc.want || strings.Join(rest, " ") != tc.rest {
			t.Errorf("%s: %+v %q %v", tc.args, f, rest, err)
		}
	}
	r := invoke(env{}, "", "--kernel", "--socket", "/x.sock", "-L")
	if r.status != 2 || !strings.HasPrefix(r.stderr, "lvsadm: --kernel ") {
		t.Errorf("--kernel --socket: %+v", r)
	}
}

// TestNoLvsd: without --kernel, lvsadm talks to lvsd, and says so when there is none.
func TestNoLvsd(t *testing.T) {
	e := env{getenv: func(string) string { return "/nonexistent/lvsd.sock" },
		openKernel: func(io.Writer) (backend, error) { return nil, errors.New("kernel opened without --kernel") }}
	r := invoke(e, "", "-L", "-n")
	if r.status != 1 || !strings.HasPrefix(r.stderr, "lvsadm: cannot reach lvsd at /nonexistent/lvsd.sock: ") ||
		!strings.HasSuffix(r.stderr, "\nIs lvsd running? --socket PATH or $LVSD_SOCKET name another socket.\n") {
		t.Errorf("%+v", r)
	}
}
