// Package keepalived reads a keepalived.conf (the keepalived 2.2 grammar) into the canonical
// *config.Config: the LVS part (virtual_server, virtual_server_group, real_server and their
// checkers), global_defs, and the VRRP part (vrrp_instance, vrrp_script, vrrp_sync_group).
//
// The grammar is keepalived's: a keyword and its arguments per line, blocks in braces (which
// may share a line with other words), comments from '#' or '!' to the end of the line,
// quoted strings, include (with globs, relative to the including file's directory),
// '@' conditional lines against a config id, and '$' parameter definitions. keepalived's
// ~SEQ and ~LST line generators are refused.
//
// What keepalived accepts but lvsd does not act on is accepted with a warning ("lvsd
// ignores ..."); what keepalived itself corrects (a missing scheduler, a real server port
// that cannot differ from the service's) is corrected the same way, with a warning worded
// like keepalived's; an unknown keyword, a malformed value, or a broken reference is an
// error. Every diagnostic carries its file and line. Defaults are keepalived's and are
// resolved here, so consumers of the Config need no inheritance rules: see Parse.
package keepalived
