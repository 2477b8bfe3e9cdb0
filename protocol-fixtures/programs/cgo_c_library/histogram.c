#include <stdlib.h>
#include <string.h>

#include "histogram.h"

struct histogram *histogram_new(const double *bounds, size_t nbounds) {
	struct histogram *h = calloc(1, sizeof *h);
	h->nbounds = nbounds;
	h->bounds = malloc(nbounds * sizeof *h->bounds);
	memcpy(h->bounds, bounds, nbounds * sizeof *h->bounds);
	h->counts = calloc(nbounds, sizeof *h->counts);
	return h;
}

// histogram_reset drops the counts; the next observation is meant to
// allocate them again, but histogram_observe never learnt that.
void histogram_reset(struct histogram *h) {
	free(h->counts);
	h->counts = NULL;
	h->sum = 0;
}

static size_t bucket_of(const struct histogram *h, double v) {
	size_t i = 0;
	while (i + 1 < h->nbounds && v > h->bounds[i]) {
		i++;
	}
	return i;
}

void histogram_observe(struct histogram *h, double v) {
	h->counts[bucket_of(h, v)]++;
	h->sum += v;
}

void histogram_observe_all(struct histogram *h, const double *values, size_t n) {
	for (size_t i = 0; i < n; i++) {
		histogram_observe(h, values[i]);
	}
}

unsigned long histogram_count(const struct histogram *h) {
	unsigned long total = 0;
	for (size_t i = 0; i < h->nbounds; i++) {
		total += h->counts[i];
	}
	return total;
}
