// SPDX-License-Identifier: MIT
// mqtt_rxack.h -- received messages waiting for their downstream
// acknowledgement (MQTT_ACK), to measure the time from receipt to that
// acknowledgement: the window in which a QoS 1 message that libmosquitto
// already acknowledged to the broker exists only in arbor's hands.  A
// ring of the last `cap` sequence numbers: an acknowledgement that comes
// after its slot was reused is counted as untracked, and a message whose
// slot is reused before its acknowledgement as expired.  Pure data.
// Thread: loop.

#ifndef MQTT_RXACK_H
#define MQTT_RXACK_H

#include <stdbool.h>
#include <stdint.h>

typedef struct mqtt_rxack {
	struct mqtt_rxslot {
		uint64_t seq;  // 0: empty
		int64_t  t_us; // receipt
	} * ring;
	uint32_t mask;
	uint32_t pending; // tracked, not yet acknowledged
	uint64_t expired; // slot reused before the acknowledgement came
} mqtt_rxack;

// mqtt_rxack_init sets up a ring of cap slots (a power of two).  Returns
// 0 or -1.  mqtt_rxack_fini frees it; safe on a zeroed tracker.
int  mqtt_rxack_init(mqtt_rxack *r, uint32_t cap);
void mqtt_rxack_fini(mqtt_rxack *r);

// mqtt_rxack_track remembers that seq (> 0) was received at t_us.
void mqtt_rxack_track(mqtt_rxack *r, uint64_t seq, int64_t t_us);

// mqtt_rxack_ack forgets seq and sets *lat_us to the time since its
// receipt; false when seq is not tracked (already acknowledged, expired,
// or from another incarnation).
bool mqtt_rxack_ack(
    mqtt_rxack *r, uint64_t seq, int64_t now_us, int64_t *lat_us);

// mqtt_rxack_oldest_us is the receipt time of the oldest message still
// waiting, or 0 when none is (a scan of the ring: for metrics, once a
// second).
int64_t mqtt_rxack_oldest_us(const mqtt_rxack *r);

// mqtt_rxack_expire forgets every message received before before_us
// (counted as expired) and returns how many.
uint32_t mqtt_rxack_expire(mqtt_rxack *r, int64_t before_us);

#endif // MQTT_RXACK_H
