/* demo.h — the built-in demonstration replay behind `vnetsim demo`. */
#ifndef VNETSIM_TOOLS_DEMO_H
#define VNETSIM_TOOLS_DEMO_H

#include <glib.h>
#include <stdint.h>
#include <stdio.h>

/* Builds the demo topology, replays its flows with `seed`, writes out_dir/trace.jsonl and
 * out_dir/pcap/<host>-<nic>.pcap (all atomically: on failure nothing is left under the
 * final names), and prints one line per flow to `summary`. Returns 0, or 2 with error. */
int vnetsim_demo_run(const char *out_dir, uint64_t seed, FILE *summary, GError **error);

#endif
