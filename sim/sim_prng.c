/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_prng.c: the world's only source of chance, xoshiro256** seeded by
 * splitmix64 from the run's seed. Never rand(), never the clock.
 */
#include "sim_int.h"

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void
sim_prng_seed(struct sim_world *w, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        w->prng[i] = splitmix64(&x);
}

uint64_t
sim_prng_next(struct sim_world *w)
{
    uint64_t *s = w->prng;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t
sim_rand_u32(struct sim_world *w)
{
    return (uint32_t)(sim_prng_next(w) >> 32);
}

int64_t
sim_rand_range(struct sim_world *w, int64_t lo, int64_t hi)
{
    SE_ASSERT(hi >= lo);
    uint64_t span = (uint64_t)(hi - lo) + 1u;
    return lo + (int64_t)(sim_prng_next(w) % span);
}

bool
sim_chance(struct sim_world *w, uint32_t permille)
{
    return (uint32_t)(sim_prng_next(w) % 1000u) < permille;
}
