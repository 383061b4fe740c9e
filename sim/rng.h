/*
 * rng.h — a small, fast, seedable random stream that is identical on every platform.
 *
 * xoshiro256** (Blackman & Vigna, 2018) seeded through splitmix64, so that nearby seeds
 * (1, 2, 3 …) give unrelated streams. GLib's GRand would do, but its algorithm is not
 * promised stable across GLib versions, and byte-identical captures across machines
 * depend on it.
 */
#ifndef VNETSIM_SIM_RNG_H
#define VNETSIM_SIM_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} SimRng;

void sim_rng_seed(SimRng *rng, uint64_t seed);
uint64_t sim_rng_next(SimRng *rng);
/* Uniform in [0, bound); 0 when bound is 0. */
uint64_t sim_rng_below(SimRng *rng, uint64_t bound);

#endif
