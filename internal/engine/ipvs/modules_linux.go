package ipvs

import (
	"os"

	"golang.org/x/sys/unix"
)

// probeModules returns a HasModule function for the running kernel: a module is available
// when it is built in or installed (modules.builtin, modules.dep of the running release) or
// loaded (/sys/module/NAME). It returns nil, meaning "accept every name", when neither list
// can be read (a container without /lib/modules): the kernel then decides.
func probeModules() func(string) bool {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return nil
	}
	dir := "/lib/modules/" + unix.ByteSliceToString(uts.Release[:]) + "/"
	var lists []string
	for _, f := range []string{"modules.builtin", "modules.dep"} {
		if b, err := os.ReadFile(dir + f); err == nil {
			lists = append(lists, string(b))
		}
	}
	if len(lists) == 0 {
		return nil
	}
	return moduleSet(lists, func(m string) bool {
		_, err := os.Stat("/sys/module/" + m)
		return err == nil
	})
}
