/*
 * The demonstration replay, checked from outside by tshark: captures are well formed,
 * each drop shows in the capture of the point that sent the packet and in none beyond the
 * point that dropped it, the trace's frame numbers and times point at the right frames,
 * and the same seed gives byte-identical output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/trace.h"
#include "testnet.h"
#include "tools/demo.h"
#include "tshark_util.h"

static char *out_dir;

static char *run_demo(uint64_t seed)
{
    char *dir = g_dir_make_tmp("vnetsim-demo-XXXXXX", NULL);
    FILE *devnull = fopen("/dev/null", "w");
    GError *error = NULL;
    int rc = vnetsim_demo_run(dir, seed, devnull, &error);
    fclose(devnull);
    if (rc != 0)
        fail_msg("demo: %s", error ? error->message : "failed");
    return dir;
}

static int setup(void **state)
{
    (void)state;
    out_dir = run_demo(1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tn_remove_tree(out_dir);
    g_free(out_dir);
    return 0;
}

static char *pcap(const char *name)
{
    g_autofree char *file = g_strdup_printf("%s.pcap", name);
    return g_build_filename(out_dir, "pcap", file, NULL);
}

static long count(const char *capture, const char *filter)
{
    g_autofree char *path = pcap(capture);
    long n = tshark_count(path, filter);
    assert_true(n >= 0);
    return n;
}

static void every_capture_is_well_formed(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    g_autofree char *dir = g_build_filename(out_dir, "pcap", NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    assert_non_null(d);
    const char *name;
    int files = 0;
    while ((name = g_dir_read_name(d))) {
        assert_true(g_str_has_suffix(name, ".pcap")); /* no temporary left behind */
        g_autofree char *path = g_build_filename(dir, name, NULL);
        long bad = tshark_count(path, TSHARK_BAD_FRAMES);
        if (bad != 0)
            fail_msg("%s: %ld bad frames", name, bad);
        files++;
    }
    g_dir_close(d);
    assert_int_equal(files, 9);
}

/* The laptop's SSH reaches the node (a 0/0 UDR puts every address in the VirtualNetwork
 * tag, so AllowVnetInBound admits it) but the SYN/ACK follows the forced tunnel to the
 * appliance, which drops it: the laptop sees only its own SYN and two retransmissions. */
static void asymmetric_drop_is_visible_up_to_the_dropping_appliance(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    const char *syn = "tcp.flags == 0x002 && tcp.dstport == 22";
    const char *synack = "tcp.flags == 0x012 && tcp.srcport == 22";
    assert_int_equal(count("laptop-inet0", syn), 3);
    assert_int_equal(count("laptop-inet0", "tcp.analysis.retransmission"), 2);
    assert_int_equal(count("laptop-inet0", synack), 0);
    /* After DNAT the node sees its private address as the destination. */
    assert_int_equal(count("cpu-node-nic0", "tcp.flags == 0x002 && ip.dst == 10.0.2.4 && "
                                            "ip.src == 198.51.100.7 && tcp.dstport == 22"),
                     3);
    assert_int_equal(count("cpu-node-nic0", synack), 3);
    assert_int_equal(count("nva-nic0", synack), 3);
}

static void packets_dropped_by_a_route_never_reach_the_destination(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    assert_int_equal(count("other-vm-nic0", ""), 0);
    assert_int_equal(count("cpu-node-nic0", "tcp.flags == 0x002 && ip.dst == 10.5.1.4"), 3);
}

static void private_endpoint_and_platform_dns_frames_match_the_flows(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    assert_int_equal(count("pe-file", "tcp.flags == 0x002 && tcp.dstport == 445"), 1);
    assert_int_equal(count("pe-file", "tcp.flags == 0x012 && tcp.srcport == 445"), 1);
    assert_int_equal(count("pe-blob", "tcp.flags == 0x002 && tcp.dstport == 443"), 1);
    assert_int_equal(count("azure-dns-inet0", "udp.dstport == 53 && ip.src == 10.0.2.4"), 1);
    /* Egress through the appliance is SNATed: pypi sees a public source. */
    assert_int_equal(count("pypi.org-inet0", "tcp.flags == 0x002 && ip.src == 10.0.2.4"), 0);
    assert_int_equal(count("pypi.org-inet0", "tcp.flags == 0x002"), 1);
}

/* A trace step's frame number and time name a frame of that node's capture. */
static void trace_frame_numbers_and_times_point_at_the_frames(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    g_autofree char *trace_path = g_build_filename(out_dir, "trace.jsonl", NULL);
    g_autofree char *text = NULL;
    assert_true(g_file_get_contents(trace_path, &text, NULL, NULL));
    /* The appliance's asymmetric drop: {"…","frame":N,"node":"nva","stage":"firewall"…} */
    g_autoptr(GRegex) re = g_regex_new(
        "\"t_ns\":([0-9]+),\"flow\":\"laptop/ssh-node\",\"frame\":([0-9]+),\"node\":\"nva\","
        "\"stage\":\"firewall\"",
        0, 0, NULL);
    GMatchInfo *m = NULL;
    assert_true(g_regex_match(re, text, 0, &m));
    g_autofree char *t_ns = g_match_info_fetch(m, 1);
    g_autofree char *frame = g_match_info_fetch(m, 2);
    g_match_info_free(m);
    g_autofree char *filter = g_strdup_printf("frame.number == %s", frame);
    const char *fields[] = {"tcp.flags", "ip.src", "frame.time_epoch"};
    g_autofree char *path = pcap("nva-nic0");
    gchar **lines = tshark_fields(path, filter, fields, 3);
    assert_non_null(lines);
    assert_non_null(lines[0]);
    gchar **cols = g_strsplit(lines[0], "|", -1);
    assert_string_equal(cols[0], "0x0012");
    assert_string_equal(cols[1], "10.0.2.4");
    /* Capture time = 2026-01-01T00:00:00Z + t_ns, to the nanosecond. */
    guint64 ns = g_ascii_strtoull(t_ns, NULL, 10);
    g_autofree char *want = g_strdup_printf("%" G_GUINT64_FORMAT ".%09" G_GUINT64_FORMAT,
                                            1767225600 + ns / 1000000000, ns % 1000000000);
    if (strcmp(cols[2], want) != 0)
        fail_msg("frame time %s, trace t_ns %s: want %s", cols[2], t_ns, want);
    g_strfreev(cols);
    g_strfreev(lines);
}

static char *read_all(const char *dir, const char *rel)
{
    g_autofree char *path = g_build_filename(dir, rel, NULL);
    char *text = NULL;
    gsize len = 0;
    assert_true(g_file_get_contents(path, &text, &len, NULL));
    return text;
}

static bool same_bytes(const char *a_dir, const char *b_dir, const char *rel)
{
    g_autofree char *pa = g_build_filename(a_dir, rel, NULL);
    g_autofree char *pb = g_build_filename(b_dir, rel, NULL);
    g_autofree char *a = NULL, *b = NULL;
    gsize la = 0, lb = 0;
    assert_true(g_file_get_contents(pa, &a, &la, NULL));
    assert_true(g_file_get_contents(pb, &b, &lb, NULL));
    return la == lb && memcmp(a, b, la) == 0;
}

static void same_seed_gives_byte_identical_pcaps_and_trace(void **state)
{
    (void)state;
    char *again = run_demo(1);
    char *other = run_demo(2);
    assert_true(same_bytes(out_dir, again, "trace.jsonl"));
    g_autofree char *dir = g_build_filename(out_dir, "pcap", NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name(d))) {
        g_autofree char *rel = g_build_filename("pcap", name, NULL);
        if (!same_bytes(out_dir, again, rel))
            fail_msg("%s differs between two runs with the same seed", name);
    }
    g_dir_close(d);
    g_autofree char *t1 = read_all(out_dir, "trace.jsonl");
    g_autofree char *t2 = read_all(other, "trace.jsonl");
    assert_string_not_equal(t1, t2); /* the seed drives jitter and sequence numbers */
    tn_remove_tree(again);
    tn_remove_tree(other);
    g_free(again);
    g_free(other);
}

/* The README shows the demo's summary; it must stay what the demo prints. */
static void readme_demo_output_is_true(void **state)
{
    (void)state;
    const char *src = g_getenv("VNETSIM_SOURCE_DIR");
    g_autofree char *path = g_build_filename(src ? src : ".", "README.md", NULL);
    g_autofree char *readme = NULL;
    assert_true(g_file_get_contents(path, &readme, NULL, NULL));
    const char *marker = "$ build/tools/vnetsim demo --out out/demo\n";
    const char *start = strstr(readme, marker);
    assert_non_null(start);
    start += strlen(marker);
    const char *end = strstr(start, "```");
    assert_non_null(end);
    g_autofree char *shown = g_strndup(start, (gsize)(end - start));

    char *printed = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&printed, &len);
    char *dir = g_dir_make_tmp("vnetsim-readme-XXXXXX", NULL);
    GError *error = NULL;
    assert_int_equal(vnetsim_demo_run(dir, 1, mem, &error), 0);
    fclose(mem);
    tn_remove_tree(dir);
    g_free(dir);
    assert_string_equal(printed, shown);
    free(printed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_capture_is_well_formed),
        cmocka_unit_test(asymmetric_drop_is_visible_up_to_the_dropping_appliance),
        cmocka_unit_test(packets_dropped_by_a_route_never_reach_the_destination),
        cmocka_unit_test(private_endpoint_and_platform_dns_frames_match_the_flows),
        cmocka_unit_test(trace_frame_numbers_and_times_point_at_the_frames),
        cmocka_unit_test(same_seed_gives_byte_identical_pcaps_and_trace),
        cmocka_unit_test(readme_demo_output_is_true),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
