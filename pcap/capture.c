/*
 * \summary: pcap capture files (nanosecond resolution), written atomically
 *
 * specification: draft-ietf-opsawg-pcap (the pcap file format)
 *
 *   File header (written by libpcap, in the writer's byte order; the magic tells which):
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                   Magic Number 0xa1b23c4d (ns)                |
 *   |          Major Version        |         Minor Version         |
 *   |                           Reserved1                           |
 *   |                           Reserved2                           |
 *   |                            SnapLen                            |
 *   | FCS |f|0 0 0 0 0 0 0 0 0 0 0 0|         LinkType (1)          |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   Packet record (written here, in the same byte order):
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                      Timestamp (Seconds)                      |
 *   |                    Timestamp (Nanoseconds)                    |
 *   |                    Captured Packet Length                     |
 *   |                    Original Packet Length                     |
 *   /                          Packet Data                          /
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * libpcap creates the file and its header, so the format is libpcap's own. Records are
 * written here rather than with pcap_dump(): pcap_dump() makes two locked fwrite() calls
 * per frame, while copying into our own staging buffer and handing the FILE one 1 MiB
 * chunk at a time (which stdio passes straight to write(2)) costs a memcpy per frame.
 * That is also why the FILE gets no setvbuf() buffer: it would only add a second copy.
 * The record fields are in host order on purpose: that is what the pcap format
 * specifies, and what libpcap used for the header.
 */
/* <pcap/pcap.h> uses the BSD types u_int, u_char …, which strict C11 with only
 * _POSIX_C_SOURCE hides; glibc shows them again for _DEFAULT_SOURCE. */
#define _DEFAULT_SOURCE
#include "pcap/capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define STAGE_CAP (1u << 20)
#define NS_PER_S  1000000000u

struct PcapCapture {
    FILE *fp;
    pcap_dumper_t *dumper; /* owns fp */
    char *path, *tmp_path;
    uint8_t *stage;
    size_t staged;
    uint64_t bytes, frames;
    int write_errno; /* first write failure, 0 while all is well */
};

static void put_native32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void set_errno_error(GError **error, const char *file, int err)
{
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "%s: %s", file, g_strerror(err));
}

static void free_capture(PcapCapture *cap)
{
    g_free(cap->path);
    g_free(cap->tmp_path);
    g_free(cap->stage);
    g_free(cap);
}

PcapCapture *pcap_capture_open(const char *path, GError **error)
{
    if (!path || !*path) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "capture path is empty");
        return NULL;
    }
    PcapCapture *cap = g_new0(PcapCapture, 1);
    cap->path = g_strdup(path);
    cap->tmp_path = g_strconcat(path, ".tmp", NULL);

    cap->fp = fopen(cap->tmp_path, "wb");
    if (!cap->fp) {
        set_errno_error(error, cap->tmp_path, errno);
        free_capture(cap);
        return NULL;
    }
    pcap_t *dead =
        pcap_open_dead_with_tstamp_precision(DLT_EN10MB, PCAP_SNAPLEN, PCAP_TSTAMP_PRECISION_NANO);
    if (!dead) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "%s: libpcap cannot open a handle",
                    cap->tmp_path);
        goto fail;
    }
    cap->dumper = pcap_dump_fopen(dead, cap->fp);
    if (!cap->dumper) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", cap->tmp_path,
                    pcap_geterr(dead));
        pcap_close(dead);
        goto fail;
    }
    /* The dumper needs the handle only to write the file header. */
    pcap_close(dead);
    cap->stage = g_malloc(STAGE_CAP);
    cap->bytes = PCAP_FILE_HLEN;
    return cap;

fail:
    fclose(cap->fp);
    unlink(cap->tmp_path);
    free_capture(cap);
    return NULL;
}

static void flush_stage(PcapCapture *cap)
{
    if (cap->staged && !cap->write_errno) {
        errno = 0; /* a short fwrite() need not set it */
        if (fwrite(cap->stage, 1, cap->staged, cap->fp) != cap->staged)
            cap->write_errno = errno ? errno : EIO;
    }
    cap->staged = 0;
}

void pcap_capture_write(PcapCapture *cap, uint64_t t_ns, const uint8_t *frame, size_t len)
{
    size_t caplen = len > PCAP_SNAPLEN ? PCAP_SNAPLEN : len;
    size_t need = PCAP_REC_HLEN + caplen;
    if (cap->staged + need > STAGE_CAP)
        flush_stage(cap);
    if (cap->write_errno)
        return;

    uint64_t sec = PCAP_EPOCH_S + t_ns / NS_PER_S;
    uint32_t nsec = (uint32_t)(t_ns % NS_PER_S);
    if (sec > UINT32_MAX) {
        sec = UINT32_MAX;
        nsec = NS_PER_S - 1;
    }
    uint8_t *rec = cap->stage + cap->staged;
    put_native32(rec + 0, (uint32_t)sec);
    put_native32(rec + 4, nsec);
    put_native32(rec + 8, (uint32_t)caplen);
    put_native32(rec + 12, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
    if (caplen)
        memcpy(rec + PCAP_REC_HLEN, frame, caplen);
    cap->staged += need;
    cap->bytes += need;
    cap->frames++;
}

uint64_t pcap_capture_bytes(const PcapCapture *cap)
{
    return cap->bytes;
}

uint64_t pcap_capture_frames(const PcapCapture *cap)
{
    return cap->frames;
}

int pcap_capture_commit(PcapCapture *cap, GError **error)
{
    flush_stage(cap);
    errno = 0;
    if (!cap->write_errno && pcap_dump_flush(cap->dumper) != 0)
        cap->write_errno = errno ? errno : EIO;
    if (!cap->write_errno && ferror(cap->fp))
        cap->write_errno = EIO;
    /* pcap_dump_close() returns nothing; the flush above has already reported what a
     * close of a regular file can report without fsync. */
    pcap_dump_close(cap->dumper);

    int rc = 0;
    if (cap->write_errno) {
        set_errno_error(error, cap->tmp_path, cap->write_errno);
        rc = -1;
    } else if (rename(cap->tmp_path, cap->path) != 0) {
        int err = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err),
                    "%s: cannot rename to %s: %s", cap->tmp_path, cap->path, g_strerror(err));
        rc = -1;
    }
    if (rc != 0)
        unlink(cap->tmp_path);
    free_capture(cap);
    return rc;
}

void pcap_capture_discard(PcapCapture *cap)
{
    if (!cap)
        return;
    pcap_dump_close(cap->dumper);
    unlink(cap->tmp_path);
    free_capture(cap);
}
