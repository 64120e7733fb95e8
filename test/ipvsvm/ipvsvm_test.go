//go:build linux

// Package ipvsvm runs GoLVS against the real kernel IPVS and the real ipvsadm 1.31: it builds
// static lvsd and lvsadm and runs payload.sh in the IPVS VM of ../shared/tools/ipvs-vm
// (Debian's kernel under qemu TCG), which programs the kernel through lvsd --engine ipvs and
// lvsadm --kernel, sends traffic in NAT, DR and TUN modes, syncs connections between two
// namespaces and compares every listing and refusal with the real ipvsadm's. See
// payload.sh for what each part checks. TestFailoverVM runs payload-failover.sh: a director
// pair of lvsd with VRRP and lvs_sync_daemon, and a client connection that survives the
// master's death.
//
// The test skips when it cannot run the VM: not root, no run-in-vm (../shared/tools/ipvs-vm
// beside the project, or $IPVS_VM_TOOL), no qemu and no apt-get to install it, -short, or
// the VM failed to boot. Only one VM runs at a time on the machine: the test holds
// /tmp/ipvs-vm.lock (flock) while it runs, as every user of the VM does.
package ipvsvm

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// vmTimeout bounds one VM run (run-in-vm --timeout); the payload takes about 2 minutes
// under TCG on a 2-core machine.
const vmTimeout = 420 * time.Second

// lockPath is the lock every user of the IPVS VM holds while its VM runs.
const lockPath = "/tmp/ipvs-vm.lock"

func TestIPVSVM(t *testing.T) {
	text := runPayload(t, "payload.sh", vmTimeout, "golvs-ipvsvm.log",
		"--add", "testdata:/ipvsvm/testdata")
	if m := regexp.MustCompile(`== (\d+) passed, 0 failed`).FindStringSubmatch(text); m != nil {
		t.Logf("%s checks passed in the VM", m[1])
	}
}

// failoverTimeout bounds the failover payload's VM run; it takes about a minute.
const failoverTimeout = 200 * time.Second

// TestFailoverVM runs payload-failover.sh: two directors running lvsd --engine ipvs -f with
// VRRP and lvs_sync_daemon, each in its own network namespace (its own IPVS table); a
// client's TCP connection through the VIP keeps working after the master's lvsd is killed
// and the backup takes over with the connection it got from the master's sync daemon.
func TestFailoverVM(t *testing.T) {
	text := runPayload(t, "payload-failover.sh", failoverTimeout, "golvs-ipvsvm-failover.log")
	if m := regexp.MustCompile(`(?m)^FAILOVER .*$`).FindString(text); m != "" {
		t.Log(m)
	}
}

// runPayload runs script in the IPVS VM with lvsd and lvsadm on its PATH (and extra
// run-in-vm arguments), streams its output to the test log and to logName in the temporary
// folder, and returns it. It skips the test when the VM cannot run, and fails it when the
// payload exits non-zero, prints a FAIL line, or does not end with " passed, 0 failed".
func runPayload(t *testing.T, script string, timeout time.Duration, logName string, extra ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: an IPVS VM run takes minutes")
	}
	if os.Geteuid() != 0 {
		t.Skip("the IPVS VM needs root (run-in-vm may install packages and builds initrds)")
	}
	tool := vmTool(t)
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		if _, err := exec.LookPath("apt-get"); err != nil {
			t.Skip("no qemu-system-x86_64, and no apt-get for run-in-vm to install it")
		}
	}
	bin := buildBinaries(t)
	unlock := lockVM(t, timeout)
	defer unlock()

	logPath := filepath.Join(os.TempDir(), logName)
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	t.Logf("VM output is streamed here and kept in %s", logPath)

	args := []string{"--timeout", fmt.Sprint(int(timeout.Seconds())),
		"--add", filepath.Join(bin, "lvsd"), "--add", filepath.Join(bin, "lvsadm")}
	args = append(append(args, extra...), script)
	cmd := exec.Command(tool, args...)
	var out bytes.Buffer
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			out.WriteString(line + "\n")
			fmt.Fprintln(logFile, line)
			t.Log(line)
		}
		io.Copy(io.Discard, pr)
	}()
	start := time.Now()
	runErr := cmd.Run()
	pw.Close()
	<-done
	wall := time.Since(start)
	t.Logf("VM run: %s wall (run-in-vm: %s)", wall.Round(100*time.Millisecond), vmWall(out.String()))

	status := 0
	if runErr != nil {
		ee, ok := runErr.(*exec.ExitError)
		if !ok {
			t.Fatalf("run-in-vm: %v", runErr)
		}
		status = ee.ExitCode()
	}
	text := out.String()
	started := strings.Contains(text, "== ipvsvm") // the payload's first line
	switch {
	case status == 125 && !started:
		t.Skipf("the VM did not run the payload (qemu could not run here?); run-in-vm said:\n%s", tail(text, 30))
	case status == 124:
		t.Fatalf("the VM ran past %s; the output ends:\n%s", timeout, tail(text, 40))
	}
	fails := failLines(text)
	if status != 0 || len(fails) > 0 || !strings.Contains(text, " passed, 0 failed") {
		t.Fatalf("payload exit status %d; failed checks:\n%s\nend of the output:\n%s",
			status, strings.Join(fails, "\n"), tail(text, 15))
	}
	return text
}

// vmTool returns run-in-vm: $IPVS_VM_TOOL, else ../shared/tools/ipvs-vm/run-in-vm beside
// the project's root; it skips the test when there is none.
func vmTool(t *testing.T) string {
	t.Helper()
	tool := os.Getenv("IPVS_VM_TOOL")
	if tool == "" {
		root, err := filepath.Abs("../..")
		if err != nil {
			t.Fatal(err)
		}
		tool = filepath.Join(filepath.Dir(root), "shared", "tools", "ipvs-vm", "run-in-vm")
	}
	if fi, err := os.Stat(tool); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Skipf("no IPVS VM tool at %s (set IPVS_VM_TOOL)", tool)
	}
	return tool
}

// buildBinaries builds static lvsd and lvsadm (the VM has no Go libraries) into a
// temporary folder.
func buildBinaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+"/", "../../cmd/lvsd", "../../cmd/lvsadm")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building lvsd and lvsadm: %v\n%s", err, out)
	}
	return dir
}

// lockVM takes the IPVS VM lock, waiting for another user's VM to finish while the test's
// deadline leaves time for a run of ours; it skips the test when that time runs out.
func lockVM(t *testing.T, timeout time.Duration) (unlock func()) {
	t.Helper()
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil := time.Now().Add(10 * time.Minute)
	if d, ok := t.Deadline(); ok {
		waitUntil = d.Add(-timeout - 30*time.Second)
	}
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }
		}
		if err != syscall.EWOULDBLOCK {
			f.Close()
			t.Fatalf("flock %s: %v", lockPath, err)
		}
		if time.Now().After(waitUntil) {
			f.Close()
			t.Skipf("another IPVS VM held %s for too long (the machine runs one at a time)", lockPath)
		}
		if !logged {
			t.Logf("waiting for %s: another IPVS VM is running", lockPath)
			logged = true
		}
		time.Sleep(2 * time.Second)
	}
}

// failLines returns the FAIL lines of the payload's output with the indented details that
// follow each.
func failLines(text string) []string {
	var out []string
	in := false
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, "FAIL "):
			out, in = append(out, l), true
		case in && (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")):
			out = append(out, l)
		default:
			in = false
		}
	}
	return out
}

// vmWall is run-in-vm's own measure of the VM's run ("36.2s wall"), or "?".
func vmWall(text string) string {
	if m := regexp.MustCompile(`END exit=\d+ \(([\d.]+s) wall`).FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return "?"
}

// tail returns the last n lines of text.
func tail(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
