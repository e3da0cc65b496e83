#ifndef QUORUM_CLOCK_H
#define QUORUM_CLOCK_H
#include <stdint.h>

/* Monotonic time, for deadlines and durations. */
int64_t clock_ms(void);
int64_t clock_us(void);
/* Wall-clock time in microseconds since the epoch, for trace timestamps. */
int64_t clock_wall_us(void);

#endif
