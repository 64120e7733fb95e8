import socket, struct, sys, time
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b)//2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def advert(vrid, prio, vip):
    h = struct.pack('!BBBBBBH', 0x21, vrid, prio, 1, 0, 1, 0) + socket.inet_aton(vip) + b'\0'*8
    c = csum(h)
    return h[:6] + struct.pack('!H', c) + h[8:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'v2')
for arg in sys.argv[1:]:
    if arg.startswith('sleep'):
        time.sleep(float(arg[5:])); continue
    vrid, prio = map(int, arg.split(':'))
    s.sendto(advert(vrid, prio, '10.0.0.%d' % (100+vrid)), ('224.0.0.18', 0))
    print(time.time(), 'sent', vrid, prio, flush=True)
