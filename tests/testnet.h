/*
 * testnet.h — helpers the topology tests share: parse addresses (failing the test on a
 * typo), search a trace's steps, fail on a topology that does not build, remove a capture
 * directory.
 */
#ifndef VNETSIM_TESTS_TESTNET_H
#define VNETSIM_TESTS_TESTNET_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "model/addr.h"
#include "model/trace.h"

uint32_t tn_ip(const char *text);
ModelPrefix tn_prefix(const char *text);

/* Steps of `flow` at `stage` with `action`; object and detail_part may be NULL (any). */
int tn_count_steps(const ModelTrace *trace, const char *flow, ModelStage stage, const char *object,
                   const char *action, const char *detail_part);
bool tn_has_step(const ModelTrace *trace, const char *flow, ModelStage stage, const char *object,
                 const char *action, const char *detail_part);

/* p, or the test fails naming *err: for model calls that build a topology. MUST(call)
 * checks a pointer result, OK(call) a gboolean one; both read a `GError *err` in scope. */
void *tn_must(void *p, GError **err);
#define MUST(expr) tn_must((expr), &err)
#define OK(expr)   tn_must(GINT_TO_POINTER((expr) ? 1 : 0), &err)

/* Removes dir and everything below it. */
void tn_remove_tree(const char *dir);

#endif
