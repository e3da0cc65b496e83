#ifndef QUORUM_RNG_H
#define QUORUM_RNG_H
/* splitmix64 (Steele, Lea and Flood, 2014; the seeder of xoshiro): a
 * full-period 64-bit generator whose whole state is one uint64_t the
 * caller keeps, so there is no global and a seed replays exactly. Written
 * out, so a seed gives the same numbers on every platform and libc. The
 * functions are inline: the callers' hot loops (shuffles, projections,
 * samplers) stay as fast as when each file had its own copy. */
#include <math.h>
#include <stdint.h>

#define SPLITMIX64_GAMMA 0x9E3779B97F4A7C15u

/* splitmix64's output for state z: z + SPLITMIX64_GAMMA through its
 * finaliser, where every input bit reaches every output bit. A stateless
 * hash of z, too. */
static inline uint64_t splitmix64_mix(uint64_t z)
{
	z += SPLITMIX64_GAMMA;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

/* The next 64 random bits of *state, which it steps. */
static inline uint64_t splitmix64_next(uint64_t *state)
{
	uint64_t z = splitmix64_mix(*state);
	*state += SPLITMIX64_GAMMA;
	return z;
}

/* A uniform double from the top 53 bits r of the next output:
 * (r + offset) / 2^53. offset 0 gives [0, 1), 1 gives (0, 1] (never 0,
 * so its log is finite), 0.5 the midpoints, inside (0, 1). */
static inline double splitmix64_unit(uint64_t *state, double offset)
{
	return ((double)(splitmix64_next(state) >> 11) + offset) * 0x1.0p-53;
}

/* A standard normal from two uniforms (Box-Muller, one of the pair);
 * u1 in (0, 1]. */
static inline double box_muller(double u1, double u2)
{
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
