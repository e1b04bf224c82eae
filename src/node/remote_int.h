// SPDX-License-Identifier: MIT
// remote_int.h -- private header of the remote children (src/node/
// remote*.c; docs/supervision.md "Remote children", docs/multinode.md
// "The agent"): the agent's tags, what the driver (remote_driver.c) and
// the agent (remote_agent.c) give remote.c, and the messages both send
// and read (remote_msg.c).  Only those files include it.
//
// Layers, each calling only downwards: remote.c (the node's entry
// points, the agent's mailbox and its dispatch) -> remote_driver.c and
// remote_agent.c (neither calls the other) -> remote_msg.c.
//
// Thread: node (everything here runs on the node loop).

#ifndef ARB_REMOTE_INT_H
#define ARB_REMOTE_INT_H

#include "node_int.h"

#define TAG_START (ARB_TAG_SYSTEM + 0x100u) // driver -> agent
#define TAG_STOP  (ARB_TAG_SYSTEM + 0x101u)
#define TAG_ACK   (ARB_TAG_SYSTEM + 0x102u) // a report taken
#define TAG_KEEP  (ARB_TAG_SYSTEM + 0x103u) // a claimed orphan: keep it
#define TAG_READY (ARB_TAG_SYSTEM + 0x110u) // agent -> driver
#define TAG_FAIL  (ARB_TAG_SYSTEM + 0x111u)
#define TAG_EXIT  (ARB_TAG_SYSTEM + 0x112u)
#define TAG_CLAIM (ARB_TAG_SYSTEM + 0x113u) // an orphan: still wanted?
#define TAG_START_CHILD (ARB_TAG_SYSTEM + 0x104u) // driver -> agent
#define TAG_CHILD (ARB_TAG_SYSTEM + 0x114u) // agent -> driver: its answer

#define RESEND_MS 500 // a START or report not answered: sent again

// --- remote_msg.c: what the driver and the agent send and read ------------
// arb__remote_msg_open makes pid (the agent's) the sender of every
// envelope arb__remote_send sends; arb__remote_msg_close forgets it.
void    arb__remote_msg_open(arb_pid pid);
void    arb__remote_msg_close(void);
// arb__remote_self is that pid (all zero while closed).
arb_pid arb__remote_self(void);
// arb__remote_send queues b as an envelope tag from the agent's pid to
// `to` on node's links and flushes them (arb__outq_push's result).
int  arb__remote_send(
     arb_node *node, arb_pid to, uint32_t tag, const arb__buf *b);
// arb__remote_put_exit / arb__remote_get_exit write and read an exit
// reason as [kind, code, text] (three elements of an array).
int  arb__remote_put_exit(arb__buf *b, const arb_exit *why);
bool arb__remote_get_exit(arb__mp_rd *r, arb_exit *why);
// arb__remote_noconnection makes *why noconnection: "node NODE text".
void arb__remote_noconnection(
     arb_exit *why, const char *node, const char *text);
// arb__remote_send_triple / arb__remote_get_triple: [key, gen, n] (ACK,
// CLAIM, KEEP).
void arb__remote_send_triple(arb_node *node, arb_pid to, uint32_t tag,
     const char *key, size_t nk, uint64_t gen, uint64_t n);
bool arb__remote_get_triple(const arb_msg *m, const uint8_t **key,
     size_t *nk, uint64_t *gen, uint64_t *n);

// --- remote_driver.c: our children that run on other nodes ----------------
// arb__drv_remote_open gives node's tree the remote-child driver;
// arb__drv_remote_close answers nothing and frees what waits (the
// records went first).
void arb__drv_remote_open(arb_node *node);
void arb__drv_remote_close(void);
// The agent's answers, from remote.c's dispatch: CHILD, READY / FAIL /
// EXIT, CLAIM.
void arb__drv_remote_child(const arb_msg *m);
void arb__drv_remote_report(arb_node *node, const arb_msg *m);
void arb__drv_remote_claim(arb_node *node, const arb_msg *m);
// What the node's DOWN, UP and resend timer ask of the driver (each
// function's comment is at its definition).
void arb__drv_remote_pends_fail(
     uint32_t node_id, const char *key, int rv, const char *what);
void arb__drv_remote_lost(arb_node *node, uint32_t node_id, const char *name);
void arb__drv_remote_lost_flush(arb_node *node, uint32_t node_id);
void arb__drv_remote_resend_starts(arb_node *node, uint32_t node_id);
// arb__drv_remote_stats adds the driver's counter (remote_lost_dropped).
void arb__drv_remote_stats(arb_node_stats *st);

// --- remote_agent.c: other nodes' children that run here ------------------
// arb__agent_open readies the agent for node (its retry timer; its
// orphan grace, 0 or less: ARB__ORPHAN_GRACE_MS).  ARB_ENOMEM.
// arb__agent_close frees every record and report without a word.
int  arb__agent_open(arb_node *node, int orphan_grace_ms);
void arb__agent_close(void);
// The supervisors' requests, from remote.c's dispatch: START, STOP, ACK,
// KEEP, START_CHILD; and the DOWN of a child the agent monitors.
void arb__agent_start(const arb_msg *m);
void arb__agent_stop_msg(const arb_msg *m);
void arb__agent_ack(const arb_msg *m);
void arb__agent_keep(const arb_msg *m);
void arb__agent_start_child(const arb_msg *m);
void arb__agent_down(const arb_msg *m);
// What the node's UP and resend timer ask of the agent (each function's
// comment is at its definition).
void arb__agent_pump(void);
void arb__agent_reports_flush(uint32_t node_id, bool all);
void arb__agent_claims_send(uint32_t node_id);
// arb__agent_peer_down: node_id is lost: the children the agent runs for
// it are orphans (their grace starts).
void arb__agent_peer_down(arb_node *node, uint32_t node_id);
// arb__agent_stats adds the agent's counters (the agent_* fields).
void arb__agent_stats(arb_node_stats *st);

#endif // ARB_REMOTE_INT_H
