/*
 * engine.c — the event queue and the run loop.
 *
 * Data structure: an array-based 4-ary min-heap of (time, seq, slot) entries, plus a slot
 * table holding each event's callback, payload and heap position.
 *
 * Why not libuv's intrusive pointer heap: a simulator holds many short-lived events and
 * touches the heap root on every step; keys stored inline in a contiguous array keep a
 * sift within one or two cache lines per level, and a 4-ary heap halves the depth. The
 * slot table gives what intrusiveness gives libuv: removal of any event in O(log n)
 * (the slot knows its heap position) and no allocation per event (slots are recycled
 * through a free list, the arrays only grow).
 *
 * Invariants (checked by check_heap() in debug test builds):
 *   - heap[i] is not less than heap[parent(i)] under (time, seq);
 *   - slots[heap[i].slot].pos == i for every i < heap_len;
 *   - a slot is in exactly one state: queued (pos < heap_len), firing, or free.
 */
#include "sim/sim.h"

#include <glib.h>
#include <stdbool.h>
#include <string.h>

#include "sim/rng.h"

#define SLOT_FREE   UINT32_MAX
#define SLOT_FIRING (UINT32_MAX - 1)
#define NO_SLOT     UINT32_MAX

typedef struct {
    SimTime time;
    uint64_t seq;
    uint32_t slot;
} HeapEntry;

typedef struct {
    SimEventFn fn;
    void *payload;
    SimFreeFn free_fn;
    uint32_t gen;       /* bumped each time the slot is released: stale ids miss */
    uint32_t pos;       /* heap index, SLOT_FIRING or SLOT_FREE */
    uint32_t next_free; /* free-list link while SLOT_FREE */
} Slot;

struct SimEngine {
    SimTime now;
    uint64_t next_seq;
    uint64_t fired;

    HeapEntry *heap;
    uint32_t heap_len, heap_cap;

    Slot *slots;
    uint32_t slots_len, slots_cap;
    uint32_t free_head;

    uint32_t firing_slot; /* NO_SLOT outside callbacks */
    bool firing_claimed;
    bool stop;
    bool running;

    SimRng rng;
    uint64_t seed;
};

static inline bool entry_less(const HeapEntry *a, const HeapEntry *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static inline void place(SimEngine *e, uint32_t i, HeapEntry entry)
{
    e->heap[i] = entry;
    e->slots[entry.slot].pos = i;
}

static void sift_up(SimEngine *e, uint32_t i)
{
    HeapEntry entry = e->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) >> 2;
        if (!entry_less(&entry, &e->heap[parent]))
            break;
        place(e, i, e->heap[parent]);
        i = parent;
    }
    place(e, i, entry);
}

static void sift_down(SimEngine *e, uint32_t i)
{
    HeapEntry entry = e->heap[i];
    uint32_t n = e->heap_len;
    for (;;) {
        uint32_t first = 4 * i + 1;
        if (first >= n)
            break;
        uint32_t last = first + 4 < n ? first + 4 : n;
        uint32_t best = first;
        for (uint32_t c = first + 1; c < last; c++)
            if (entry_less(&e->heap[c], &e->heap[best]))
                best = c;
        if (!entry_less(&e->heap[best], &entry))
            break;
        place(e, i, e->heap[best]);
        i = best;
    }
    place(e, i, entry);
}

/* Takes heap[pos] out of the heap; the caller owns its slot afterwards. */
static void heap_remove(SimEngine *e, uint32_t pos)
{
    uint32_t last = --e->heap_len;
    if (pos == last)
        return;
    HeapEntry moved = e->heap[last];
    place(e, pos, moved);
    if (pos > 0 && entry_less(&moved, &e->heap[(pos - 1) >> 2]))
        sift_up(e, pos);
    else
        sift_down(e, pos);
}

static uint32_t slot_alloc(SimEngine *e)
{
    if (e->free_head != NO_SLOT) {
        uint32_t s = e->free_head;
        e->free_head = e->slots[s].next_free;
        return s;
    }
    if (e->slots_len == e->slots_cap) {
        e->slots_cap = e->slots_cap ? e->slots_cap * 2 : 64;
        e->slots = g_renew(Slot, e->slots, e->slots_cap);
    }
    uint32_t s = e->slots_len++;
    e->slots[s].gen = 1;
    return s;
}

static void slot_release(SimEngine *e, uint32_t s)
{
    Slot *slot = &e->slots[s];
    slot->gen++;
    slot->pos = SLOT_FREE;
    slot->payload = NULL;
    slot->next_free = e->free_head;
    e->free_head = s;
}

static inline SimEventId make_id(const SimEngine *e, uint32_t s)
{
    return ((uint64_t)e->slots[s].gen << 32) | (uint64_t)(s + 1);
}

SimEngine *sim_engine_new(uint64_t seed)
{
    SimEngine *e = g_new0(SimEngine, 1);
    e->free_head = NO_SLOT;
    e->firing_slot = NO_SLOT;
    sim_rng_seed(&e->rng, seed);
    e->seed = seed;
    return e;
}

void sim_engine_free(SimEngine *e)
{
    if (!e)
        return;
    for (uint32_t s = 0; s < e->slots_len; s++) {
        Slot *slot = &e->slots[s];
        if (slot->pos != SLOT_FREE && slot->pos != SLOT_FIRING && slot->free_fn)
            slot->free_fn(slot->payload);
    }
    g_free(e->heap);
    g_free(e->slots);
    g_free(e);
}

SimTime sim_now(const SimEngine *e)
{
    return e->now;
}

SimEventId sim_schedule_at(SimEngine *e, SimTime when, SimEventFn fn, void *payload,
                           SimFreeFn free_fn)
{
    if (!fn || when < e->now)
        return 0;
    if (e->heap_len == e->heap_cap) {
        e->heap_cap = e->heap_cap ? e->heap_cap * 2 : 64;
        e->heap = g_renew(HeapEntry, e->heap, e->heap_cap);
    }
    uint32_t s = slot_alloc(e);
    Slot *slot = &e->slots[s];
    slot->fn = fn;
    slot->payload = payload;
    slot->free_fn = free_fn;
    uint32_t i = e->heap_len++;
    e->heap[i] = (HeapEntry){.time = when, .seq = e->next_seq++, .slot = s};
    slot->pos = i;
    sift_up(e, i);
    return make_id(e, s);
}

SimEventId sim_schedule(SimEngine *e, SimTime delay, SimEventFn fn, void *payload,
                        SimFreeFn free_fn)
{
    SimTime when = e->now + delay;
    if (when < e->now) /* saturate rather than wrap into the past */
        when = SIM_TIME_MAX;
    return sim_schedule_at(e, when, fn, payload, free_fn);
}

int sim_cancel(SimEngine *e, SimEventId id)
{
    uint64_t low = id & 0xffffffffu;
    if (low == 0 || low > e->slots_len)
        return -1;
    uint32_t s = (uint32_t)(low - 1);
    Slot *slot = &e->slots[s];
    if (slot->gen != (uint32_t)(id >> 32) || slot->pos == SLOT_FREE || slot->pos == SLOT_FIRING)
        return -1;
    heap_remove(e, slot->pos);
    /* Copy out before the free function runs: it may schedule, which may move slots. */
    SimFreeFn free_fn = slot->free_fn;
    void *payload = slot->payload;
    slot_release(e, s);
    if (free_fn)
        free_fn(payload);
    return 0;
}

void *sim_claim_payload(SimEngine *e)
{
    if (e->firing_slot == NO_SLOT)
        return NULL;
    e->firing_claimed = true;
    return e->slots[e->firing_slot].payload;
}

static void fire_root(SimEngine *e)
{
    HeapEntry top = e->heap[0];
    heap_remove(e, 0);
    e->now = top.time;

    Slot *slot = &e->slots[top.slot];
    slot->pos = SLOT_FIRING;
    SimEventFn fn = slot->fn;
    void *payload = slot->payload;
    SimFreeFn free_fn = slot->free_fn;

    e->firing_slot = top.slot;
    e->firing_claimed = false;
    fn(e, payload); /* may schedule and cancel: `slot` is stale after this */
    e->firing_slot = NO_SLOT;
    e->fired++;

    bool claimed = e->firing_claimed;
    slot_release(e, top.slot);
    if (!claimed && free_fn)
        free_fn(payload);
}

SimRunResult sim_run_until(SimEngine *e, SimTime limit)
{
    g_return_val_if_fail(!e->running, SIM_RUN_STOPPED);
    e->running = true;
    e->stop = false;
    SimRunResult result = SIM_RUN_EMPTY;
    while (e->heap_len > 0) {
        if (e->heap[0].time > limit) {
            result = SIM_RUN_LIMIT;
            break;
        }
        fire_root(e);
        if (e->stop) {
            e->running = false;
            return SIM_RUN_STOPPED;
        }
    }
    if (limit != SIM_TIME_MAX && limit > e->now)
        e->now = limit;
    e->running = false;
    return result;
}

SimRunResult sim_run(SimEngine *e)
{
    return sim_run_until(e, SIM_TIME_MAX);
}

void sim_stop(SimEngine *e)
{
    e->stop = true;
}

size_t sim_pending(const SimEngine *e)
{
    return e->heap_len;
}

uint64_t sim_events_fired(const SimEngine *e)
{
    return e->fired;
}

uint64_t sim_random(SimEngine *e)
{
    return sim_rng_next(&e->rng);
}

uint64_t sim_random_below(SimEngine *e, uint64_t bound)
{
    return sim_rng_below(&e->rng, bound);
}

uint64_t sim_engine_seed(const SimEngine *engine)
{
    return engine->seed;
}
