/* The event engine's contract: (time, seq) order, FIFO ties, cancel and re-arm from
 * callbacks, payloads freed exactly once, clean destroy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <glib.h>

#include "sim/rng.h"
#include "sim/sim.h"

typedef struct {
    int log[64];
    SimTime when[64];
    int n;
    int freed;
    SimEventId victim;
} Recorder;

typedef struct {
    Recorder *rec;
    int tag;
} Tagged;

static void record(SimEngine *e, void *payload)
{
    Tagged *t = payload;
    t->rec->when[t->rec->n] = sim_now(e);
    t->rec->log[t->rec->n++] = t->tag;
}

static void free_tagged(void *payload)
{
    Tagged *t = payload;
    t->rec->freed++;
    g_free(t);
}

static Tagged *tagged(Recorder *rec, int tag)
{
    Tagged *t = g_new(Tagged, 1);
    t->rec = rec;
    t->tag = tag;
    return t;
}

static void events_fire_in_time_order(void **state)
{
    (void)state;
    Recorder rec = {0};
    SimEngine *e = sim_engine_new(1);
    sim_schedule(e, 300, record, tagged(&rec, 3), free_tagged);
    sim_schedule(e, 100, record, tagged(&rec, 1), free_tagged);
    sim_schedule(e, 200, record, tagged(&rec, 2), free_tagged);
    assert_int_equal(sim_run(e), SIM_RUN_EMPTY);
    assert_int_equal(rec.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rec.log[i], i + 1);
        assert_int_equal(rec.when[i], (SimTime)(i + 1) * 100);
    }
    assert_int_equal(rec.freed, 3);
    assert_int_equal(sim_pending(e), 0);
    sim_engine_free(e);
}

static void equal_times_fire_in_scheduling_order(void **state)
{
    (void)state;
    Recorder rec = {0};
    SimEngine *e = sim_engine_new(1);
    for (int i = 0; i < 40; i++)
        sim_schedule(e, 1000, record, tagged(&rec, i), free_tagged);
    sim_run(e);
    for (int i = 0; i < 40; i++)
        assert_int_equal(rec.log[i], i);
    assert_int_equal(rec.freed, 40);
    sim_engine_free(e);
}

static void cancel_victim(SimEngine *e, void *payload)
{
    Tagged *t = payload;
    record(e, payload);
    assert_int_equal(sim_cancel(e, t->rec->victim), 0);
    /* A second cancel of the same id misses: ids are not reused. */
    assert_int_equal(sim_cancel(e, t->rec->victim), -1);
}

static void cancel_inside_callback_frees_payload_once(void **state)
{
    (void)state;
    Recorder rec = {0};
    SimEngine *e = sim_engine_new(1);
    sim_schedule(e, 10, cancel_victim, tagged(&rec, 1), free_tagged);
    rec.victim = sim_schedule(e, 20, record, tagged(&rec, 2), free_tagged);
    sim_schedule(e, 30, record, tagged(&rec, 3), free_tagged);
    sim_run(e);
    assert_int_equal(rec.n, 2);
    assert_int_equal(rec.log[0], 1);
    assert_int_equal(rec.log[1], 3);
    assert_int_equal(rec.freed, 3);
    sim_engine_free(e);
}

static SimEventId self_id;

static void cancel_self(SimEngine *e, void *payload)
{
    record(e, payload);
    /* The firing event is no longer pending: cancelling it must fail, not double free. */
    assert_int_equal(sim_cancel(e, self_id), -1);
}

static void cancelling_the_firing_event_fails(void **state)
{
    (void)state;
    Recorder rec = {0};
    SimEngine *e = sim_engine_new(1);
    self_id = sim_schedule(e, 5, cancel_self, tagged(&rec, 1), free_tagged);
    sim_run(e);
    assert_int_equal(rec.freed, 1);
    sim_engine_free(e);
}

static void rearm(SimEngine *e, void *payload)
{
    Tagged *t = payload;
    record(e, payload);
    if (t->tag < 5) {
        /* Re-arm with the same payload: claim it so the engine does not free it. */
        assert_ptr_equal(sim_claim_payload(e), payload);
        t->tag++;
        assert_int_not_equal(sim_schedule(e, 7, rearm, t, free_tagged), 0);
    }
}

static void rearm_inside_callback_with_claimed_payload(void **state)
{
    (void)state;
    Recorder rec = {0};
    SimEngine *e = sim_engine_new(1);
    sim_schedule(e, 7, rearm, tagged(&rec, 1), free_tagged);
    sim_run(e);
    assert_int_equal(rec.n, 5);
    assert_int_equal(rec.when[4], 35);
    assert_int_equal(rec.freed, 1);
    sim_engine_free(e);
}

static void zero_delay_from_callback(SimEngine *e, void *payload)
{
    Tagged *t = payload;
    record(e, payload);
    if (t->tag == 0)
        sim_schedule(e, 0, record, tagged(t->rec, 99), free_tagged);
}

static void same_instant_event_from_callback_runs_after_queued_ones(void **state)
{
    (void)state;
    Recorder rec = {0};
    SimEngine *e = sim_engine_new(1);
    sim_schedule(e, 50, zero_delay_from_callback, tagged(&rec, 0), free_tagged);
    sim_schedule(e, 50, record, tagged(&rec, 1), free_tagged);
    sim_run(e);
    assert_int_equal(rec.n, 3);
    assert_int_equal(rec.log[2], 99);
    assert_int_equal(rec.when[2], 50);
    sim_engine_free(e);
}

static void destroy_with_pending_events_frees_payloads(void **state)
{
    (void)state;
    Recorder rec = {0};
    SimEngine *e = sim_engine_new(1);
    for (int i = 0; i < 100; i++)
        sim_schedule(e, (SimTime)i * 3, record, tagged(&rec, i), free_tagged);
    assert_int_equal(sim_run_until(e, 30), SIM_RUN_LIMIT);
    assert_int_equal(rec.n, 11); /* times 0, 3, …, 30 */
    assert_int_equal(sim_now(e), 30);
    assert_int_equal(sim_pending(e), 89);
    sim_engine_free(e); /* ASan reports any leak */
    assert_int_equal(rec.freed, 100);
}

static void stopper(SimEngine *e, void *payload)
{
    record(e, payload);
    sim_stop(e);
}

static void stop_returns_after_current_callback(void **state)
{
    (void)state;
    Recorder rec = {0};
    SimEngine *e = sim_engine_new(1);
    sim_schedule(e, 1, stopper, tagged(&rec, 1), free_tagged);
    sim_schedule(e, 2, record, tagged(&rec, 2), free_tagged);
    assert_int_equal(sim_run(e), SIM_RUN_STOPPED);
    assert_int_equal(rec.n, 1);
    assert_int_equal(sim_run(e), SIM_RUN_EMPTY);
    assert_int_equal(rec.n, 2);
    sim_engine_free(e);
}

static void scheduling_in_the_past_fails_and_keeps_payload(void **state)
{
    (void)state;
    Recorder rec = {0};
    SimEngine *e = sim_engine_new(1);
    sim_schedule(e, 100, record, tagged(&rec, 1), free_tagged);
    sim_run(e);
    Tagged *t = tagged(&rec, 2);
    assert_int_equal(sim_schedule_at(e, 50, record, t, free_tagged), 0);
    assert_int_equal(rec.freed, 1); /* not freed: still ours */
    free_tagged(t);
    /* now + delay saturates instead of wrapping into the past */
    SimEventId id = sim_schedule(e, SIM_TIME_MAX, record, tagged(&rec, 3), free_tagged);
    assert_int_not_equal(id, 0);
    assert_int_equal(sim_cancel(e, id), 0);
    assert_int_equal(sim_cancel(e, 0), -1);
    assert_int_equal(sim_cancel(e, 0xffffffff00000001u), -1);
    sim_engine_free(e);
    assert_int_equal(rec.freed, 3);
}

static int fired_log[5000];
static int fired_n;

static void log_index(SimEngine *e, void *payload)
{
    (void)e;
    fired_log[fired_n++] = (int)(intptr_t)payload;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The heap against a sorted oracle: random times, random cancels, many duplicates. */
static void random_schedule_and_cancel_match_sorted_order(void **state)
{
    (void)state;
    enum { N = 5000 };
    SimRng rng;
    sim_rng_seed(&rng, 42);
    SimEngine *e = sim_engine_new(7);
    static SimEventId ids[N];
    static uint64_t keys[N]; /* time << 20 | index: the expected firing order */
    static bool cancelled[N];
    for (int i = 0; i < N; i++) {
        SimTime t = sim_rng_below(&rng, 500); /* many ties */
        keys[i] = t << 20 | (uint64_t)i;
        ids[i] = sim_schedule(e, t, log_index, (void *)(intptr_t)i, NULL);
        cancelled[i] = false;
    }
    for (int k = 0; k < N / 3; k++) {
        int i = (int)sim_rng_below(&rng, N);
        int rc = sim_cancel(e, ids[i]);
        assert_int_equal(rc, cancelled[i] ? -1 : 0);
        cancelled[i] = true;
    }
    size_t live = 0;
    for (int i = 0; i < N; i++)
        live += !cancelled[i];
    assert_int_equal(sim_pending(e), live);
    /* Run in slices to exercise run_until's resume path as well. */
    fired_n = 0;
    for (SimTime limit = 0; sim_pending(e) > 0; limit += 37) {
        sim_run_until(e, limit);
        assert_int_equal(sim_now(e), limit);
    }
    assert_int_equal(sim_events_fired(e), live);
    static uint64_t expected[N];
    size_t n = 0;
    for (int i = 0; i < N; i++)
        if (!cancelled[i])
            expected[n++] = keys[i];
    qsort(expected, n, sizeof expected[0], cmp_u64);
    assert_int_equal(fired_n, (int)n);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(fired_log[k], (int)(expected[k] & 0xfffff));
    sim_engine_free(e);
}

static void same_seed_gives_same_random_stream(void **state)
{
    (void)state;
    SimEngine *a = sim_engine_new(1234), *b = sim_engine_new(1234), *c = sim_engine_new(1235);
    bool differs = false;
    for (int i = 0; i < 100; i++) {
        uint64_t x = sim_random(a);
        assert_int_equal(x, sim_random(b));
        differs |= x != sim_random(c);
    }
    assert_true(differs);
    for (int i = 0; i < 1000; i++)
        assert_true(sim_random_below(a, 7) < 7);
    assert_int_equal(sim_random_below(a, 0), 0);
    sim_engine_free(a);
    sim_engine_free(b);
    sim_engine_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(events_fire_in_time_order),
        cmocka_unit_test(equal_times_fire_in_scheduling_order),
        cmocka_unit_test(cancel_inside_callback_frees_payload_once),
        cmocka_unit_test(cancelling_the_firing_event_fails),
        cmocka_unit_test(rearm_inside_callback_with_claimed_payload),
        cmocka_unit_test(same_instant_event_from_callback_runs_after_queued_ones),
        cmocka_unit_test(destroy_with_pending_events_frees_payloads),
        cmocka_unit_test(stop_returns_after_current_callback),
        cmocka_unit_test(scheduling_in_the_past_fails_and_keeps_payload),
        cmocka_unit_test(random_schedule_and_cancel_match_sorted_order),
        cmocka_unit_test(same_seed_gives_same_random_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
