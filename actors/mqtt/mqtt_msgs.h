// SPDX-License-Identifier: MIT
// mqtt_msgs.h -- the messages of the `mqtt` actor type (public: include
// it in actors that talk to an mqtt actor).  Tags are in the range
// 0x00030000-0x0003FFFF.  Every body is ONE msgpack map with string keys;
// unknown keys are ignored by receivers (new keys may be added, never
// renamed), so older peers keep working.  docs/actors.md has examples.
//
// Publishing (producer -> mqtt actor)
// ------------------------------------
// MQTT_PUBLISH: publish one message.
//   "payload"  bin or str   required: the bytes to publish
//   "topic"    str          the topic; default: the actor's publish.topic
//                           template, filled from this map
//   "qos"      0 or 1       default: publish.qos
//   "retain"   bool         default: publish.retain
//   "ref"      uint         the producer's reference: when present, the
//                           outcome comes back as MQTT_PUBACK
//   other keys (str or int values) fill the template's {placeholders}.
// Sent with arb_call (a request), the reply is MQTT_PUBACK (same body)
// once the outcome is known, or arb_reply_error with the status below.
//
// Any other tag below ARB_TAG_SYSTEM is published too: its body is the
// payload (the bytes of a msgpack str or bin, or else the msgpack bytes
// as they are), at publish.qos and publish.retain, on the publish.topic
// template filled from the body's fields when it is a map (and {tag}).
//
// MQTT_PUBACK: the outcome of a publish (mqtt actor -> producer).
//   "ref"      uint   the producer's reference (absent for a request:
//                     the envelope's ref matches the call)
//   "status"   int    0: done (QoS 1: the broker's PUBACK arrived;
//                     QoS 0: written to the socket); else an ARB_E* code:
//                       ARB_EAGAIN    the window was full (overflow:
//                                     reject): not published, try later
//                       ARB_ENOENT    not connected and QoS 0: dropped
//                       ARB_EREMOTE   the broker refused it (MQTT 5
//                                     PUBACK reason >= 0x80: "reason")
//                       ARB_ECANCELED the actor stopped (or the
//                                     connection was lost, QoS 0)
//                                     before the outcome was known: it
//                                     may or may not have been delivered
//                       ARB_EINVAL    a malformed request ("text" says why)
//   "reason"   int    the MQTT 5 PUBACK reason code (0 otherwise)
//   "us"       uint   microseconds from the publish to its PUBACK/write
//   "text"     str    present when status is not 0
// A producer that keeps its messages in a durable store acknowledges a
// record to the store only on status 0, and sends records again after
// any other status, or when the mqtt actor it published to went DOWN
// (monitor it: an incarnation's window dies with it).  Duplicates are
// possible (QoS 1 is at-least-once); drop them upstream by your keys.
//
// Subscribing (mqtt actor -> a subscription's destination)
// --------------------------------------------------------
// MQTT_MESSAGE: a message that arrived on a subscription.
//   "topic"    str
//   "payload"  bin
//   "qos"      int    the QoS it was delivered with
//   "retain"   bool
//   "seq"      uint   receive sequence number: increases by one per
//                     message; each incarnation starts at its start time
//                     in microseconds, so it keeps increasing across
//                     restarts
//   "ts"       uint   receive time, microseconds since the Unix epoch
//   "ack"      bool   true: the mqtt actor measures the time until an
//                     MQTT_ACK of this seq comes back (see below)
// MQTT_ACK: the destination (or whoever took the message over, e.g. a
// store once the message is durable) confirms messages (-> the sender of
// the MQTT_MESSAGE).
//   "seq"      uint or array of uint
// libmosquitto acknowledges a QoS 1 message to the broker BEFORE the
// actor sees it (libmosquitto 2.0 has no manual acknowledgement): from
// then on the message exists only in arbor.  The actor sends it on at
// once; the time until MQTT_ACK is exported as a histogram, and messages
// dropped in that window are counted by cause (docs/actors.md).
//
// Status
// ------
// MQTT_STATUS: a request (arb_call, empty body); the reply (same tag) is
// a map of the connection state and counters: "state", "broker",
// "connected", "connects", "inflight", "published", "acked",
// "received", "forwarded", "dropped", ... (docs/actors.md lists them).

#ifndef ARBOR_MQTT_MSGS_H
#define ARBOR_MQTT_MSGS_H

#define MQTT_TAG_FIRST 0x00030000u
#define MQTT_PUBLISH   0x00030001u
#define MQTT_PUBACK    0x00030002u
#define MQTT_MESSAGE   0x00030003u
#define MQTT_ACK       0x00030004u
#define MQTT_STATUS    0x00030005u
#define MQTT_TAG_LAST  0x0003FFFFu

#endif // ARBOR_MQTT_MSGS_H
