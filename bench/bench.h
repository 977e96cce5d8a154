/* The benchmark behind `medcrypt bench` (issue 11). */
#ifndef MC_BENCH_H
#define MC_BENCH_H

#include <stdbool.h>
#include <stdio.h>

struct bench_opts {
    bool json;   /* one JSON object instead of the table */
    int threads; /* batch threads; 0 = all cores */
    int repeat;  /* runs per figure (median taken) */
    bool tiny;   /* images 16x smaller per side: for the test suite */
};

/* Prints the results to out; 0 on success. */
int mc_bench_run(const struct bench_opts *opts, FILE *out);

#endif
