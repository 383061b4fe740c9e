/*
 * fuzz_scn_load.c — libFuzzer target for the scenario loader (and, for inputs that load,
 * the replay behind them).
 *
 * Built only with -DVNETSIM_FUZZ=ON and CC=clang (see tests/fuzz/CMakeLists.txt). Inputs are
 * loaded as if they were a file in scenarios/basics/, so the seed corpus's includes
 * (securityRules: nsg-order.rules.json) resolve. A GLib critical (a g_return_if_fail
 * tripped by what the loader handed the model) counts as a crash. Run:
 *
 *   CC=clang cmake -S . -B build-fuzz -DVNETSIM_FUZZ=ON -DVNETSIM_SANITIZE=ON
 *   cmake --build build-fuzz --target fuzz_scn_load
 *   mkdir -p build-fuzz/corpus
 *   build-fuzz/tests/fuzz/fuzz_scn_load -dict=tests/fuzz/scn.dict -max_total_time=120 \
 *       build-fuzz/corpus scenarios/basics tests/data/scn
 *
 * Every crash becomes a regression file tests/data/scn/crash-*.yaml (with a comment on what
 * broke), which test_scn_load's crash_regressions_fail_cleanly loads and replays.
 */
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "model/scn_load.h"

#define MAX_REPLAYED_FLOWS 16 /* keep each input fast: the loader is the target */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GError *error = NULL;
    ScnScenario *scn =
        scn_load_data(VNETSIM_FUZZ_BASE "/fuzz.yaml", (const char *)data, size, &error);
    if (!scn) {
        /* Every failure must explain itself with a located message. */
        if (!error || !error->message[0])
            __builtin_trap();
        g_error_free(error);
        return 0;
    }
    if (scn_scenario_n_flows(scn) <= MAX_REPLAYED_FLOWS) {
        ModelTrace *trace = model_trace_new();
        if (scn_replay(scn, 1, NULL, trace, &error) != 0)
            g_clear_error(&error);
        model_trace_free(trace);
    }
    scn_scenario_free(scn);
    return 0;
}
