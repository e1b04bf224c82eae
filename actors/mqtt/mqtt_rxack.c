// SPDX-License-Identifier: MIT
// mqtt_rxack.c -- received messages waiting for MQTT_ACK (mqtt_rxack.h):
// slot seq & mask.  Thread: loop.

#include "mqtt_rxack.h"

#include <stdlib.h>

int
mqtt_rxack_init(mqtt_rxack *r, uint32_t cap)
{
	r->pending = 0;
	r->expired = 0;
	if (cap == 0 || (cap & (cap - 1)) != 0) {
		r->ring = NULL;
		return -1;
	}
	r->mask = cap - 1;
	r->ring = calloc(cap, sizeof(*r->ring));
	return r->ring != NULL ? 0 : -1;
}

void
mqtt_rxack_fini(mqtt_rxack *r)
{
	free(r->ring);
	r->ring = NULL;
}

void
mqtt_rxack_track(mqtt_rxack *r, uint64_t seq, int64_t t_us)
{
	struct mqtt_rxslot *s = &r->ring[seq & r->mask];

	if (s->seq != 0) {
		r->expired++;
		r->pending--;
	}
	s->seq = seq;
	s->t_us = t_us;
	r->pending++;
}

bool
mqtt_rxack_ack(mqtt_rxack *r, uint64_t seq, int64_t now_us, int64_t *lat_us)
{
	struct mqtt_rxslot *s = &r->ring[seq & r->mask];

	if (seq == 0 || s->seq != seq) {
		return false;
	}
	*lat_us = now_us - s->t_us;
	s->seq = 0;
	r->pending--;
	return true;
}

int64_t
mqtt_rxack_oldest_us(const mqtt_rxack *r)
{
	int64_t  oldest = 0;
	uint32_t i;

	if (r->pending == 0) {
		return 0;
	}
	for (i = 0; i <= r->mask; i++) {
		if (r->ring[i].seq != 0
		    && (oldest == 0 || r->ring[i].t_us < oldest)) {
			oldest = r->ring[i].t_us;
		}
	}
	return oldest;
}

uint32_t
mqtt_rxack_expire(mqtt_rxack *r, int64_t before_us)
{
	uint32_t i, n = 0;

	for (i = 0; r->pending > 0 && i <= r->mask; i++) {
		if (r->ring[i].seq != 0 && r->ring[i].t_us < before_us) {
			r->ring[i].seq = 0;
			r->pending--;
			r->expired++;
			n++;
		}
	}
	return n;
}
