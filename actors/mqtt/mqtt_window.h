// SPDX-License-Identifier: MIT
// mqtt_window.h -- the bounded outgoing window: every publish that
// libmosquitto holds, with the producer to tell when it is done.  QoS 1
// publishes wait for their PUBACK (looked up by message id, oldest
// first for the stall check); QoS 0 publishes wait to be written (a
// FIFO: libmosquitto writes them in order).  At most `cap` entries of
// both kinds together: the durable store upstream of the actor is the
// queue, libmosquitto only ever holds this window.  Pure data: no loop,
// no clock (times are passed in).  Thread: loop.

#ifndef MQTT_WINDOW_H
#define MQTT_WINDOW_H

#include <arbor/arbor.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mqtt_went {
	// The producer: who gets MQTT_PUBACK (with ref) or the reply to its
	// request (req, a copy of the request; owned by the entry's user).
	arb_pid  from;
	uint64_t ref;
	bool     has_ref;
	arb_msg *req;
	int64_t  t_pub_us; // when it was handed to libmosquitto
	int64_t  t_stall_us; // the same on the user's stall clock (set by it)
	int      mid;
	int      qos;
	void    *held; // the user's: a publish not yet handed to libmosquitto
	// Private links.
	uint32_t _prev, _next;
	bool     _used;
} mqtt_went;

typedef struct mqtt_window {
	mqtt_went *ent;    // cap entries
	uint32_t  *slots;  // QoS 1 mid -> entry index + 1 (open addressing)
	uint32_t   nslots; // power of two >= 2 * cap
	uint32_t   cap;
	uint32_t   free_head;        // entry index + 1, 0: none
	uint32_t   q1_head, q1_tail; // QoS 1 in publish order (index + 1)
	uint32_t   q0_head, q0_tail; // QoS 0 in publish order (index + 1)
	uint32_t   n0, n1;
} mqtt_window;

// mqtt_win_init sets up a window of cap (1..65535) entries.  Returns 0 or
// -1 (out of memory).  mqtt_win_fini frees it (entries' req are not
// touched: drain them first); safe on a zeroed window.
int  mqtt_win_init(mqtt_window *w, uint32_t cap);
void mqtt_win_fini(mqtt_window *w);

// mqtt_win_count is the number of entries held; mqtt_win_full is true when
// no more fit.
uint32_t mqtt_win_count(const mqtt_window *w);
bool     mqtt_win_full(const mqtt_window *w);

// mqtt_win_add takes a free entry for a publish of qos (the caller fills
// the producer fields and then, for QoS 1, mqtt_win_bind gives it its
// message id).  NULL when full.
mqtt_went *mqtt_win_add(mqtt_window *w, int qos, int64_t now_us);

// mqtt_win_bind files a QoS 1 entry under mid (an entry already filed
// under the same mid, which only a wrapped-around id can give, stays
// and is found first).
void mqtt_win_bind(mqtt_window *w, mqtt_went *e, int mid);

// mqtt_win_cancel returns an entry that was never published.
void mqtt_win_cancel(mqtt_window *w, mqtt_went *e);

// mqtt_win_acked removes and returns the QoS 1 entry of mid, or NULL.
// mqtt_win_written removes and returns the oldest QoS 0 entry, or NULL.
// The entry stays readable until the next add.
mqtt_went *mqtt_win_acked(mqtt_window *w, int mid);
mqtt_went *mqtt_win_written(mqtt_window *w);

// mqtt_win_oldest1 is the oldest QoS 1 entry still waiting, or NULL.
const mqtt_went *mqtt_win_oldest1(const mqtt_window *w);

// mqtt_win_pop_any removes and returns some entry (QoS 0 first), or NULL:
// for draining the window when the actor ends, or the QoS 0 entries when
// the connection is lost (pass qos0_only).
mqtt_went *mqtt_win_pop_any(mqtt_window *w, bool qos0_only);

uint32_t mqtt_win_count0(const mqtt_window *w);
uint32_t mqtt_win_count1(const mqtt_window *w);

#endif // MQTT_WINDOW_H
