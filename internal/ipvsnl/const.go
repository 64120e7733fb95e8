package ipvsnl

import "fmt"

// The generic netlink family (IPVS_GENL_NAME, IPVS_GENL_VERSION).
const (
	FamilyName    = "IPVS"
	FamilyVersion = 1
)

// Cmd is an IPVS generic netlink command (enum IPVS_CMD_*).
type Cmd uint8

// Commands. Replies to dumps of services, destinations and daemons carry CmdNewService,
// CmdNewDest and CmdNewDaemon; the reply to CmdGetInfo is CmdSetInfo, to CmdGetConfig
// CmdSetConfig.
const (
	CmdNewService Cmd = 1
	CmdSetService Cmd = 2
	CmdDelService Cmd = 3
	CmdGetService Cmd = 4
	CmdNewDest    Cmd = 5
	CmdSetDest    Cmd = 6
	CmdDelDest    Cmd = 7
	CmdGetDest    Cmd = 8
	CmdNewDaemon  Cmd = 9
	CmdDelDaemon  Cmd = 10
	CmdGetDaemon  Cmd = 11
	CmdSetConfig  Cmd = 12
	CmdGetConfig  Cmd = 13
	CmdSetInfo    Cmd = 14
	CmdGetInfo    Cmd = 15
	CmdZero       Cmd = 16
	CmdFlush      Cmd = 17
)

var cmdNames = [...]string{
	CmdNewService: "new-service", CmdSetService: "set-service", CmdDelService: "del-service",
	CmdGetService: "get-service", CmdNewDest: "new-dest", CmdSetDest: "set-dest",
	CmdDelDest: "del-dest", CmdGetDest: "get-dest", CmdNewDaemon: "new-daemon",
	CmdDelDaemon: "del-daemon", CmdGetDaemon: "get-daemon", CmdSetConfig: "set-config",
	CmdGetConfig: "get-config", CmdSetInfo: "set-info", CmdGetInfo: "get-info",
	CmdZero: "zero", CmdFlush: "flush",
}

// String returns the command's name in lower case ("new-service"), or "cmd(N)".
func (c Cmd) String() string {
	if int(c) < len(cmdNames) && cmdNames[c] != "" {
		return cmdNames[c]
	}
	return fmt.Sprintf("cmd(%d)", uint8(c))
}

// Address families (AF_INET, AF_INET6 on Linux).
const (
	AFInet  uint16 = 2
	AFInet6 uint16 = 10
)

// IP protocol numbers of virtual services.
const (
	ProtoTCP  uint16 = 6
	ProtoUDP  uint16 = 17
	ProtoSCTP uint16 = 132
)

// Service flags (IP_VS_SVC_F_*). The kernel sets FlagHashed on every service in its table.
const (
	FlagPersistent uint32 = 0x0001
	FlagHashed     uint32 = 0x0002
	FlagOnePacket  uint32 = 0x0004
	FlagSched1     uint32 = 0x0008
	FlagSched2     uint32 = 0x0010
	FlagSched3     uint32 = 0x0020
)

// Forwarding methods of a destination (IP_VS_CONN_F_* under IP_VS_CONN_F_FWD_MASK).
const (
	FwdMasq   uint32 = 0
	FwdLocal  uint32 = 1
	FwdTunnel uint32 = 2
	FwdRoute  uint32 = 3
	FwdMask   uint32 = 0x7
)

// Tunnel types and encapsulation flags of a tunnel destination
// (IP_VS_CONN_F_TUNNEL_TYPE_*, IP_VS_TUNNEL_ENCAP_FLAG_*).
const (
	TunIPIP uint8 = 0
	TunGUE  uint8 = 1
	TunGRE  uint8 = 2

	TunFlagCsum    uint16 = 1 << 0
	TunFlagRemCsum uint16 = 1 << 1
)

// Sync daemon states (IP_VS_STATE_*).
const (
	StateMaster uint32 = 1
	StateBackup uint32 = 2
)

// Attributes of the first level of a message (IPVS_CMD_ATTR_*).
const (
	cmdAttrService    = 1
	cmdAttrDest       = 2
	cmdAttrDaemon     = 3
	cmdAttrTimeoutTCP = 4
	cmdAttrTimeoutFin = 5
	cmdAttrTimeoutUDP = 6
)

// Attributes nested in cmdAttrService (IPVS_SVC_ATTR_*).
const (
	svcAttrAF        = 1
	svcAttrProtocol  = 2
	svcAttrAddr      = 3
	svcAttrPort      = 4
	svcAttrFWMark    = 5
	svcAttrSchedName = 6
	svcAttrFlags     = 7
	svcAttrTimeout   = 8
	svcAttrNetmask   = 9
	svcAttrStats     = 10
	svcAttrPEName    = 11
	svcAttrStats64   = 12
)

// Attributes nested in cmdAttrDest (IPVS_DEST_ATTR_*).
const (
	destAttrAddr         = 1
	destAttrPort         = 2
	destAttrFwdMethod    = 3
	destAttrWeight       = 4
	destAttrUThresh      = 5
	destAttrLThresh      = 6
	destAttrActiveConns  = 7
	destAttrInactConns   = 8
	destAttrPersistConns = 9
	destAttrStats        = 10
	destAttrAddrFamily   = 11
	destAttrStats64      = 12
	destAttrTunType      = 13
	destAttrTunPort      = 14
	destAttrTunFlags     = 15
)

// Attributes nested in cmdAttrDaemon (IPVS_DAEMON_ATTR_*).
const (
	daemonAttrState      = 1
	daemonAttrMCastIfn   = 2
	daemonAttrSyncID     = 3
	daemonAttrSyncMaxLen = 4
	daemonAttrMCastGroup = 5
	daemonAttrMCastGrp6  = 6
	daemonAttrMCastPort  = 7
	daemonAttrMCastTTL   = 8
)

// Attributes nested in the stats attributes (IPVS_STATS_ATTR_*). IPVS_STATS_ATTR_PAD (11)
// may appear for alignment and is skipped.
const (
	statsAttrConns    = 1
	statsAttrInPkts   = 2
	statsAttrOutPkts  = 3
	statsAttrInBytes  = 4
	statsAttrOutBytes = 5
	statsAttrCPS      = 6
	statsAttrInPPS    = 7
	statsAttrOutPPS   = 8
	statsAttrInBPS    = 9
	statsAttrOutBPS   = 10
)

// Attributes of the first level of a CmdSetInfo reply (IPVS_INFO_ATTR_*).
const (
	infoAttrVersion     = 1
	infoAttrConnTabSize = 2
)

// addrLen is sizeof(union nf_inet_addr): addresses travel in 16 bytes.
const addrLen = 16
