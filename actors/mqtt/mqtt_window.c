// SPDX-License-Identifier: MIT
// mqtt_window.c -- the outgoing window (mqtt_window.h): a pool of cap
// entries, a linear-probing table from QoS 1 message id to entry (ids
// are sequential, so `mid & mask` spreads them; deletion shifts the
// cluster back, no tombstones), and two lists in publish order, QoS 1
// (oldest first, for the stall check) and QoS 0 (written in order).
// Every operation is O(1) but the table's probe runs, which stay short
// at load <= 1/2.  Thread: loop.

#include "mqtt_window.h"

#include <stdlib.h>
#include <string.h>

// win_at is the entry of list link i (links are index + 1, 0 is none).
static inline mqtt_went *
win_at(const mqtt_window *w, uint32_t i)
{
	return &w->ent[i - 1];
}

int
mqtt_win_init(mqtt_window *w, uint32_t cap)
{
	uint32_t i;

	memset(w, 0, sizeof(*w));
	if (cap == 0 || cap > 65535) {
		return -1;
	}
	w->nslots = 1;
	while (w->nslots < 2 * cap) {
		w->nslots <<= 1;
	}
	w->cap = cap;
	w->ent = calloc(cap, sizeof(*w->ent));
	w->slots = calloc(w->nslots, sizeof(*w->slots));
	if (w->ent == NULL || w->slots == NULL) {
		mqtt_win_fini(w);
		return -1;
	}
	for (i = 0; i < cap; i++) {
		w->ent[i]._next = i + 2 <= cap ? i + 2 : 0;
	}
	w->free_head = 1;
	return 0;
}

void
mqtt_win_fini(mqtt_window *w)
{
	free(w->ent);
	free(w->slots);
	memset(w, 0, sizeof(*w));
}

uint32_t
mqtt_win_count(const mqtt_window *w)
{
	return w->n0 + w->n1;
}

uint32_t
mqtt_win_count0(const mqtt_window *w)
{
	return w->n0;
}

uint32_t
mqtt_win_count1(const mqtt_window *w)
{
	return w->n1;
}

bool
mqtt_win_full(const mqtt_window *w)
{
	return w->free_head == 0;
}

static uint32_t
win_index(const mqtt_window *w, const mqtt_went *e)
{
	return (uint32_t) (e - w->ent) + 1;
}

static void
list_append(mqtt_window *w, uint32_t *head, uint32_t *tail, uint32_t i)
{
	mqtt_went *e = win_at(w, i);

	e->_prev = *tail;
	e->_next = 0;
	if (*tail != 0) {
		win_at(w, *tail)->_next = i;
	} else {
		*head = i;
	}
	*tail = i;
}

static void
list_remove(mqtt_window *w, uint32_t *head, uint32_t *tail, uint32_t i)
{
	mqtt_went *e = win_at(w, i);

	if (e->_prev != 0) {
		win_at(w, e->_prev)->_next = e->_next;
	} else {
		*head = e->_next;
	}
	if (e->_next != 0) {
		win_at(w, e->_next)->_prev = e->_prev;
	} else {
		*tail = e->_prev;
	}
	e->_prev = e->_next = 0;
}

static void
win_release(mqtt_window *w, mqtt_went *e)
{
	uint32_t i = win_index(w, e);

	e->_used = false;
	e->_next = w->free_head;
	w->free_head = i;
}

mqtt_went *
mqtt_win_add(mqtt_window *w, int qos, int64_t now_us)
{
	mqtt_went *e;
	uint32_t   i = w->free_head;

	if (i == 0) {
		return NULL;
	}
	e = win_at(w, i);
	w->free_head = e->_next;
	memset(e, 0, sizeof(*e));
	e->_used = true;
	e->qos = qos;
	e->mid = -1;
	e->t_pub_us = now_us;
	if (qos == 0) {
		list_append(w, &w->q0_head, &w->q0_tail, i);
		w->n0++;
	} else {
		list_append(w, &w->q1_head, &w->q1_tail, i);
		w->n1++;
	}
	return e;
}

void
mqtt_win_bind(mqtt_window *w, mqtt_went *e, int mid)
{
	uint32_t mask = w->nslots - 1;
	uint32_t s = (uint32_t) mid & mask;

	e->mid = mid;
	while (w->slots[s] != 0) {
		s = (s + 1) & mask;
	}
	w->slots[s] = win_index(w, e);
}

// table_del removes the slot s and shifts the rest of its cluster back so
// that every entry stays reachable from its home slot.
static void
table_del(mqtt_window *w, uint32_t s)
{
	uint32_t mask = w->nslots - 1;
	uint32_t j = s;
	uint32_t home;

	for (;;) {
		w->slots[s] = 0;
		for (;;) {
			j = (j + 1) & mask;
			if (w->slots[j] == 0) {
				return;
			}
			home = (uint32_t) win_at(w, w->slots[j])->mid & mask;
			// Move j back to s unless its home lies cyclically in
			// (s, j].
			if (s <= j ? (s < home && home <= j)
			           : (s < home || home <= j)) {
				continue;
			}
			break;
		}
		w->slots[s] = w->slots[j];
		s = j;
	}
}

static mqtt_went *
win_unlink(mqtt_window *w, mqtt_went *e)
{
	uint32_t i = win_index(w, e);

	if (e->qos == 0) {
		list_remove(w, &w->q0_head, &w->q0_tail, i);
		w->n0--;
	} else {
		list_remove(w, &w->q1_head, &w->q1_tail, i);
		w->n1--;
	}
	win_release(w, e);
	return e;
}

void
mqtt_win_cancel(mqtt_window *w, mqtt_went *e)
{
	uint32_t mask = w->nslots - 1;
	uint32_t s;

	if (e->qos != 0 && e->mid >= 0) {
		for (s = (uint32_t) e->mid & mask; w->slots[s] != 0;
		     s = (s + 1) & mask) {
			if (win_at(w, w->slots[s]) == e) {
				table_del(w, s);
				break;
			}
		}
	}
	win_unlink(w, e);
}

mqtt_went *
mqtt_win_acked(mqtt_window *w, int mid)
{
	uint32_t   mask = w->nslots - 1;
	uint32_t   s;
	mqtt_went *e;

	if (mid < 0) {
		return NULL;
	}
	for (s = (uint32_t) mid & mask; w->slots[s] != 0; s = (s + 1) & mask) {
		e = win_at(w, w->slots[s]);
		if (e->mid == mid) {
			table_del(w, s);
			return win_unlink(w, e);
		}
	}
	return NULL;
}

mqtt_went *
mqtt_win_written(mqtt_window *w)
{
	if (w->q0_head == 0) {
		return NULL;
	}
	return win_unlink(w, win_at(w, w->q0_head));
}

const mqtt_went *
mqtt_win_oldest1(const mqtt_window *w)
{
	return w->q1_head != 0 ? &w->ent[w->q1_head - 1] : NULL;
}

mqtt_went *
mqtt_win_pop_any(mqtt_window *w, bool qos0_only)
{
	mqtt_went *e;

	if (w->q0_head != 0) {
		return win_unlink(w, win_at(w, w->q0_head));
	}
	if (qos0_only || w->q1_head == 0) {
		return NULL;
	}
	e = win_at(w, w->q1_head);
	mqtt_win_cancel(w, e);
	return e;
}
