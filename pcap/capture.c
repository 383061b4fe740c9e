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
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define STAGE_CAP    (1u << 20)  /* a full buffer handed to the writer */
#define STAGE_FIRST  (16u << 10) /* a capture's first buffer: most see a few frames */
#define INFLIGHT_MAX (64u << 20) /* staged bytes waiting for the writer, at most */
#define NS_PER_S     1000000000u

/*
 * One background writer thread serves every capture: the simulation thread copies frames
 * into a staging buffer and, when it is full, queues it; the writer hands buffers to the
 * kernel in queue order (so each file's bytes stay in order) and recycles full-size
 * buffers through a free list, so steady state touches no new pages. On a machine with
 * two cores the kernel's copy into the page cache then overlaps the simulation instead of
 * stalling it. Queued bytes are bounded (INFLIGHT_MAX): a producer that runs ahead waits.
 * The output is byte-for-byte what a synchronous writer produces.
 */
typedef struct Job {
    struct Job *next;
    PcapCapture *cap;
    uint8_t *buf;
    size_t len, size;
} Job;

/* POSIX threads rather than GLib's: ThreadSanitizer sees pthread synchronisation (the
 * system GLib is not instrumented), so the writer can be checked for races. */
static pthread_mutex_t writer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cond = PTHREAD_COND_INITIALIZER; /* a job was queued */
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER; /* a job was written */
static Job *queue_head, *queue_tail;
static uint8_t **free_list; /* full-size buffers for reuse */
static size_t n_free, free_cap;
static size_t inflight;

struct PcapCapture {
    FILE *fp;
    pcap_dumper_t *dumper; /* owns fp */
    char *path, *tmp_path;
    uint8_t *stage;
    size_t staged, stage_size;
    uint64_t bytes, frames;
    unsigned pending; /* jobs queued and not yet written; under writer_lock */
    int write_errno;  /* first write failure, 0 while all is well; under writer_lock */
};

static void *writer_main(void *data)
{
    (void)data;
    pthread_mutex_lock(&writer_lock);
    for (;;) {
        while (!queue_head)
            pthread_cond_wait(&work_cond, &writer_lock);
        Job *job = queue_head;
        queue_head = job->next;
        if (!queue_head)
            queue_tail = NULL;
        bool failed = job->cap->write_errno != 0;
        pthread_mutex_unlock(&writer_lock);

        int err = 0;
        if (!failed) {
            errno = 0; /* a short fwrite() need not set it */
            if (fwrite(job->buf, 1, job->len, job->cap->fp) != job->len)
                err = errno ? errno : EIO;
        }

        pthread_mutex_lock(&writer_lock);
        if (job->size == STAGE_CAP && n_free < free_cap)
            free_list[n_free++] = job->buf;
        else
            g_free(job->buf);
        if (err && !job->cap->write_errno)
            job->cap->write_errno = err;
        job->cap->pending--;
        inflight -= job->len;
        pthread_cond_broadcast(&done_cond);
        g_free(job);
    }
    return NULL;
}

static void start_writer(void)
{
    free_cap = INFLIGHT_MAX / STAGE_CAP + 8;
    free_list = g_new(uint8_t *, free_cap);
    pthread_t thread;
    /* Lives as long as the process: captures come and go, the writer stays. */
    if (pthread_create(&thread, NULL, writer_main, NULL) != 0)
        g_error("pcap: cannot start the capture writer thread");
    pthread_detach(thread);
}

static void ensure_writer(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, start_writer);
}

/* Waits until every job of cap is written. */
static void wait_written(PcapCapture *cap)
{
    pthread_mutex_lock(&writer_lock);
    while (cap->pending)
        pthread_cond_wait(&done_cond, &writer_lock);
    pthread_mutex_unlock(&writer_lock);
}

static uint8_t *take_buffer(void)
{
    pthread_mutex_lock(&writer_lock);
    uint8_t *buf = n_free ? free_list[--n_free] : NULL;
    pthread_mutex_unlock(&writer_lock);
    return buf ? buf : g_malloc(STAGE_CAP);
}

static void give_buffer(uint8_t *buf, size_t size)
{
    pthread_mutex_lock(&writer_lock);
    if (size == STAGE_CAP && n_free < free_cap) {
        free_list[n_free++] = buf;
        buf = NULL;
    }
    pthread_mutex_unlock(&writer_lock);
    g_free(buf);
}

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
    give_buffer(cap->stage, cap->stage_size);
    g_free(cap);
}

PcapCapture *pcap_capture_open(const char *path, GError **error)
{
    if (!path || !*path) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "capture path is empty");
        return NULL;
    }
    ensure_writer();
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
    cap->stage = g_malloc(STAGE_FIRST);
    cap->stage_size = STAGE_FIRST;
    cap->bytes = PCAP_FILE_HLEN;
    return cap;

fail:
    fclose(cap->fp);
    unlink(cap->tmp_path);
    free_capture(cap);
    return NULL;
}

/* Queues the staging buffer for the writer and takes a fresh full-size one. */
static void flush_stage(PcapCapture *cap)
{
    if (cap->staged == 0)
        return;
    Job *job = g_new(Job, 1);
    *job = (Job){.cap = cap, .buf = cap->stage, .len = cap->staged, .size = cap->stage_size};
    pthread_mutex_lock(&writer_lock);
    while (inflight > 0 && inflight + job->len > INFLIGHT_MAX)
        pthread_cond_wait(&done_cond, &writer_lock);
    inflight += job->len;
    cap->pending++;
    if (queue_tail)
        queue_tail->next = job;
    else
        queue_head = job;
    queue_tail = job;
    pthread_cond_signal(&work_cond);
    pthread_mutex_unlock(&writer_lock);
    cap->stage = take_buffer();
    cap->stage_size = STAGE_CAP;
    cap->staged = 0;
}

void pcap_capture_write(PcapCapture *cap, uint64_t t_ns, const uint8_t *frame, size_t len)
{
    size_t caplen = len > PCAP_SNAPLEN ? PCAP_SNAPLEN : len;
    size_t need = PCAP_REC_HLEN + caplen;
    if (cap->staged + need > cap->stage_size)
        flush_stage(cap); /* a failed write is reported by commit; frames keep coming */

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
    wait_written(cap); /* after this the writer never touches cap again */
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
    wait_written(cap); /* the writer may still hold this capture's buffers */
    pcap_dump_close(cap->dumper);
    unlink(cap->tmp_path);
    free_capture(cap);
}
