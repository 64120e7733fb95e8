package ipvsadm

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestReadHostsAndServicesFiles(t *testing.T) {
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	os.WriteFile(hosts, []byte("# comment\n127.0.0.1 localhost lo # trailing\nfe80::1%eth0 zoned\nbogus name\n10.0.0.1\n::1 ip6-localhost\n"), 0o644)
	got := fmt.Sprint(readHostsFile(hosts))
	if want := "[{localhost 127.0.0.1} {lo 127.0.0.1} {ip6-localhost ::1}]"; got != want {
		t.Errorf("hosts: %s, want %s", got, want)
	}
	services := filepath.Join(dir, "services")
	os.WriteFile(services, []byte("http 80/tcp www # WorldWideWeb\nhttp 80/udp\nbad 99999/tcp\nnoproto 7\nalone\n"), 0o644)
	got = fmt.Sprint(readServicesFile(services))
	if want := "[{http 80 tcp} {www 80 tcp} {http 80 udp}]"; got != want {
		t.Errorf("services: %s, want %s", got, want)
	}
	if readHostsFile(filepath.Join(dir, "missing")) != nil || readServicesFile(filepath.Join(dir, "missing")) != nil {
		t.Error("a missing file gave entries")
	}
}
