/*
 * tshark_util.h — runs tshark on a capture, for tests that check frames against an
 * independent dissector.
 *
 * Every run reads the file with -n (no name resolution) and with IP, TCP and UDP checksum
 * validation turned on, so a bad checksum shows as an expert item (TSHARK_BAD_FRAMES
 * matches it). Link vnetsim_testutil to use it.
 */
#ifndef VNETSIM_TESTS_TSHARK_UTIL_H
#define VNETSIM_TESTS_TSHARK_UTIL_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/* Display filter for frames with anything wrong: malformed, an expert error, or any
 * checksum complaint (Wireshark rates a bad ICMP checksum a mere warning, hence the group
 * term). A clean capture has no frame matching it. */
#define TSHARK_BAD_FRAMES                                                                          \
    "_ws.malformed || _ws.expert.severity >= error || _ws.expert.group == checksum"

/* $VNETSIM_TSHARK, or "tshark" (searched on PATH) when that is unset, empty or CMake's
 * "-NOTFOUND". The string is static. */
const char *tshark_path(void);

/* True when tshark_path() runs (`tshark -v` exits 0): tests skip() otherwise. */
bool tshark_available(void);

/* Runs `tshark -n -r pcap_path -o <checksum prefs> args[0..n_args)`. Returns stdout as
 * lines, without the empty string after a final newline, in a NULL-terminated vector
 * the caller frees with g_strfreev(); or NULL, with tshark's stderr printed, when tshark
 * could not run or exited nonzero. */
gchar **tshark_run(const char *pcap_path, const char *const *args, size_t n_args);

/* One line per frame matching display filter `filter` (NULL or "": every frame), holding
 * fields[0..n) separated by '|'; a field that occurs several times in a frame (ip.src of
 * an ICMP error and of the datagram it quotes) shows its values joined by ','. Absent
 * fields are empty. Ownership and failure as tshark_run(). */
gchar **tshark_fields(const char *pcap_path, const char *filter, const char *const *fields,
                      size_t n);

/* Number of frames matching display_filter, or -1 when tshark failed (e.g. the filter
 * does not parse). */
long tshark_count(const char *pcap_path, const char *display_filter);

#endif
