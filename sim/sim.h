/*
 * sim.h — the discrete-event engine: a clock, an event queue and a run loop.
 *
 * It knows nothing of networks. Everything else in vnetsim is a callback that the
 * engine fires at a simulated instant.
 *
 * Ordering contract (the reason runs are reproducible):
 *   events fire in increasing (time, seq) order, where seq is a counter taken when the
 *   event is scheduled. Equal times are therefore FIFO in scheduling order, and the same
 *   program with the same seed fires the same events in the same order, always.
 *   An event scheduled from inside a callback for the current instant fires after every
 *   event already queued for that instant.
 *
 * Ownership contract:
 *   an event owns its payload from a successful sim_schedule*() on. The engine calls the
 *   payload's free function exactly once: after the callback returns (unless the callback
 *   claimed the payload with sim_claim_payload()), on sim_cancel(), or in
 *   sim_engine_free() for events still pending. A schedule call that fails does nothing
 *   and leaves the payload with the caller.
 *
 * Costs (n = pending events): schedule O(log n), cancel O(log n), next event O(log n),
 * no allocation in steady state (event slots and heap entries are recycled).
 */
#ifndef VNETSIM_SIM_H
#define VNETSIM_SIM_H

#include <stddef.h>
#include <stdint.h>

/* Simulated time in nanoseconds since the start of the run. */
typedef uint64_t SimTime;

#define SIM_TIME_MAX UINT64_MAX
#define SIM_US(x)    ((SimTime)(x)*1000u)
#define SIM_MS(x)    ((SimTime)(x)*1000000u)
#define SIM_S(x)     ((SimTime)(x)*1000000000u)

typedef struct SimEngine SimEngine;

/* Names one scheduled event; 0 never names an event. Ids are not reused while the
 * engine lives, so cancelling a stale id is safe (it returns -1). */
typedef uint64_t SimEventId;

typedef void (*SimEventFn)(SimEngine *engine, void *payload);
typedef void (*SimFreeFn)(void *payload);

/* A new engine at time 0 whose random stream starts from seed. Never returns NULL
 * (allocation failure aborts, as GLib does). */
SimEngine *sim_engine_new(uint64_t seed);

/* Frees the engine and the payloads of all pending events, in slot order. */
void sim_engine_free(SimEngine *engine);

SimTime sim_now(const SimEngine *engine);

/* Schedules fn(engine, payload) at absolute time `when`. Returns 0 (and does nothing)
 * when `when` lies in the past or fn is NULL. free_fn may be NULL. */
SimEventId sim_schedule_at(SimEngine *engine, SimTime when, SimEventFn fn, void *payload,
                           SimFreeFn free_fn);

/* Schedules after `delay`; now + delay saturates at SIM_TIME_MAX instead of wrapping. */
SimEventId sim_schedule(SimEngine *engine, SimTime delay, SimEventFn fn, void *payload,
                        SimFreeFn free_fn);

/* Removes a pending event and frees its payload. Returns 0, or -1 when the id names no
 * pending event (already fired, firing now, cancelled, or never valid). */
int sim_cancel(SimEngine *engine, SimEventId id);

/* Inside a callback: takes the firing event's payload away from the engine, which then
 * will not free it. Lets a packet travel hop to hop without a copy. Returns the payload,
 * or NULL when called outside a callback. */
void *sim_claim_payload(SimEngine *engine);

typedef enum {
    SIM_RUN_EMPTY,   /* no event left */
    SIM_RUN_STOPPED, /* sim_stop() was called from a callback */
    SIM_RUN_LIMIT,   /* the next event lies beyond the limit given to sim_run_until() */
} SimRunResult;

/* Fires events until none is left or a callback calls sim_stop(). */
SimRunResult sim_run(SimEngine *engine);

/* Fires events whose time is <= limit. When it returns SIM_RUN_LIMIT or SIM_RUN_EMPTY
 * the clock reads `limit` (if that is later than now), so a following run continues
 * from there. */
SimRunResult sim_run_until(SimEngine *engine, SimTime limit);

/* Makes the running sim_run*() return after the current callback. */
void sim_stop(SimEngine *engine);

size_t sim_pending(const SimEngine *engine);
uint64_t sim_events_fired(const SimEngine *engine);

/* The engine's deterministic random stream (xoshiro256**, seeded by splitmix64).
 * Used for jitter, ids, sequence numbers: never call rand(). */
uint64_t sim_random(SimEngine *engine);
/* Uniform in [0, bound); bound 0 yields 0. Unbiased (Lemire's method). */
uint64_t sim_random_below(SimEngine *engine, uint64_t bound);
/* The seed the engine was made with: for streams of one's own (sim/rng.h) that must not
 * depend on how much of the engine's stream others drew. */
uint64_t sim_engine_seed(const SimEngine *engine);

#endif
