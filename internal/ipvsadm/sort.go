package ipvsadm

import "net/netip"

// ipvsadm sorts with glibc's qsort, which (glibc 2.36, Debian 12) is a top-down merge sort
// (msort.c). Its comparators (libipvs.c: ipvs_cmp_services, ipvs_cmp_dests) subtract
// 32-bit addresses and fwmarks and take the difference as an int, so it wraps: 10.0.0.1
// sorts after 200.0.0.1, and in a service with reals of both families an IPv6 real fd01::11
// sorts before 10.1.0.11 (recorded in list-n). Such an order is not transitive, so the
// exact algorithm decides the result: msort is reproduced here, not sort.Slice.

// msort sorts s as glibc's msort_with_tmp does: split at n/2, sort both halves, merge taking
// from the left half while cmp(left, right) <= 0.
func msort[T any](s []T, cmp func(a, b *T) int) {
	if len(s) <= 1 {
		return
	}
	tmp := make([]T, len(s))
	msortRec(s, tmp, cmp)
}

func msortRec[T any](s, tmp []T, cmp func(a, b *T) int) {
	n := len(s)
	if n <= 1 {
		return
	}
	n1 := n / 2
	b1, b2 := s[:n1], s[n1:]
	msortRec(b1, tmp, cmp)
	msortRec(b2, tmp, cmp)
	i, j, k := 0, 0, 0
	for i < len(b1) && j < len(b2) {
		if cmp(&b1[i], &b2[j]) <= 0 {
			tmp[k] = b1[i]
			i++
		} else {
			tmp[k] = b2[j]
			j++
		}
		k++
	}
	// What is left of b1 goes next; what is left of b2 is already in place.
	for i < len(b1) {
		tmp[k] = b1[i]
		i++
		k++
	}
	copy(s, tmp[:k])
}

// words returns the four 32-bit words of the kernel's union nf_inet_addr for a: an IPv4
// address fills the first word only.
func words(a netip.Addr) [4]uint32 {
	var w [4]uint32
	if a.Is4() {
		b := a.As4()
		w[0] = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		return w
	}
	b := a.As16()
	for i := range w {
		w[i] = uint32(b[4*i])<<24 | uint32(b[4*i+1])<<16 | uint32(b[4*i+2])<<8 | uint32(b[4*i+3])
	}
	return w
}

// af is the kernel's address family number of a (AF_INET 2, AF_INET6 10).
func af(a netip.Addr) int {
	if a.Is4() {
		return 2
	}
	return 10
}

// cmpAddr compares as the libipvs comparators do, by the first address's family.
func cmpAddr(a, b netip.Addr) int {
	wa, wb := words(a), words(b)
	n := 1
	if !a.Is4() {
		n = 4
	}
	for i := 0; i < n; i++ {
		if r := int(int32(wa[i] - wb[i])); r != 0 {
			return r
		}
	}
	return 0
}

// cmpServices is ipvs_cmp_services: fwmark, family, protocol, address, port.
func cmpServices(a, b *ServiceView) int {
	if r := int(int32(a.FWMark - b.FWMark)); r != 0 {
		return r
	}
	if r := af(a.Addr) - af(b.Addr); r != 0 {
		return r
	}
	if r := int(kernelProto(a)) - int(kernelProto(b)); r != 0 {
		return r
	}
	if r := cmpAddr(a.Addr, b.Addr); r != 0 {
		return r
	}
	return int(a.Port) - int(b.Port)
}

// kernelProto is the protocol the kernel reports for a service: ipvsadm creates fwmark
// services with protocol TCP.
func kernelProto(s *ServiceView) uint8 {
	if s.IsFWMark() {
		return 6
	}
	return uint8(s.Protocol)
}

// cmpReals is ipvs_cmp_dests: address (by the first real's family), then port.
func cmpReals(a, b *RealView) int {
	if r := cmpAddr(a.Addr, b.Addr); r != 0 {
		return r
	}
	return int(a.Port) - int(b.Port)
}
