/*
 * capture.h — pcap capture files, written atomically.
 *
 * A capture is written under path + ".tmp" and renamed onto path by
 * pcap_capture_commit(), so an interrupted or failed run never leaves a truncated file
 * under the final name. Files are standard nanosecond pcap (magic 0xa1b23c4d, link type
 * Ethernet, snap length 65535) as libpcap creates them; every capture starts at
 * PCAP_EPOCH_S, so equal runs give byte-identical files.
 */
#ifndef VNETSIM_PCAP_CAPTURE_H
#define VNETSIM_PCAP_CAPTURE_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* Writing happens on a background thread (capture.c): a process that has written a
 * capture must not fork() and keep using captures in the child; exec() is fine. */
typedef struct PcapCapture PcapCapture;

#define PCAP_EPOCH_S   1767225600u /* 2026-01-01T00:00:00Z: simulated t=0 in every capture */
#define PCAP_SNAPLEN   65535u
#define PCAP_FILE_HLEN 24u /* pcap file header */
#define PCAP_REC_HLEN  16u /* per-frame record header */

/* Creates path + ".tmp" (truncating a stale one) and writes the pcap file header. Returns
 * the capture, owned by the caller until pcap_capture_commit() or pcap_capture_discard(),
 * or NULL with *error set (G_FILE_ERROR, "file: reason") when the file cannot be created;
 * nothing is left behind then. */
PcapCapture *pcap_capture_open(const char *path, GError **error);

/* Appends frame[0..len) stamped PCAP_EPOCH_S + t_ns (nanoseconds; stamps past 2106
 * saturate). Frames longer than PCAP_SNAPLEN are cut to it, keeping their original length
 * in the record. Copies into a 1 MiB staging buffer: no allocation, one write(2) per MiB.
 * A write error is remembered and reported by pcap_capture_commit(); later frames are
 * dropped. */
void pcap_capture_write(PcapCapture *cap, uint64_t t_ns, const uint8_t *frame, size_t len);

/* Octets written so far, file and record headers included (staged octets count too). */
uint64_t pcap_capture_bytes(const PcapCapture *cap);
/* Frames written so far. */
uint64_t pcap_capture_frames(const PcapCapture *cap);

/* Flushes and closes the temporary file (no fsync) and renames it onto the path given to
 * pcap_capture_open() (atomic on POSIX). Frees cap in every case. Returns 0, or -1 with
 * *error set, having removed the temporary file, when a write, the flush or the rename
 * failed. */
int pcap_capture_commit(PcapCapture *cap, GError **error);

/* Closes and removes the temporary file, and frees cap; the final path is not touched.
 * NULL is a no-op. */
void pcap_capture_discard(PcapCapture *cap);

#endif
