#ifndef HISTOGRAM_H
#define HISTOGRAM_H

#include <stddef.h>

// A fixed-bucket latency histogram: counts[i] counts the values <= bounds[i]
// (the last bucket takes everything above).
struct histogram {
	size_t nbounds;
	double *bounds;
	unsigned long *counts;
	double sum;
};

struct histogram *histogram_new(const double *bounds, size_t nbounds);
void histogram_reset(struct histogram *h);
void histogram_observe(struct histogram *h, double v);
void histogram_observe_all(struct histogram *h, const double *values, size_t n);
unsigned long histogram_count(const struct histogram *h);

#endif
