// SPDX-License-Identifier: MIT
// serial.c -- the serial actor: its ops (init, handle, terminate).
//
// The port's lifecycle is in reader.c, polling in poll.c; under them the
// delivery path (deliver.c: the destination, sending), the counters
// (counters.c) and the timers (timer.c).  Nothing blocks the loop: every
// wait is an event.  Thread: the actor's loop.

#include "serial.h"

#include "serial_int.h"
#include "serial_msgs.h"

#include "core/arb_clock.h" // arbor's clocks (header only)

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
serial_free(serial *s)
{
	ser_reader_fini(s); // closes the port: its settings are restored
	ser_poll_fini(s);
	serial_framer_fini(&s->fr);
	free(s->rbuf);
	free(s->body);
	free(s);
}

static int
serial_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	serial  *s;
	arb_cfg *cfg;
	int      rv;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		return ARB_ENOMEM;
	}
	if ((rv = arb_cfg_alloc(&cfg, arg, len)) != ARB_OK) {
		free(s);
		return rv;
	}
	serial_cfg_read(cfg, &s->cfg);
	rv = arb_cfg_report(ctx, cfg);
	arb_cfg_free(cfg);
	if (rv != ARB_OK) {
		free(s);
		return rv;
	}
	s->ctx = ctx;
	s->base = arb_base(ctx);
	s->cur = -1;
	ser_counters_declare(s);
	serial_port_init(&s->port);
	s->watch.fd = -1;
	s->stream = s->cfg.stream[0] != '\0' ? s->cfg.stream : arb_path(ctx);
	s->stream_len = strlen(s->stream);
	s->session = arb__wall_ns() / 1000;
	s->rng = (uint32_t) (s->session ^ (s->session >> 32))
	    ^ ((uint32_t) getpid() << 16) ^ 0x2545f491u;
	s->body_cap = ARB_SERIAL_FRAME_OVERHEAD + s->stream_len
	    + SERIAL_NAME_MAX + s->cfg.framer.max_frame;
	s->rbuf = malloc(READ_BUF);
	s->body = malloc(s->body_cap);
	if (s->rbuf == NULL || s->body == NULL
	    || serial_framer_init(&s->fr, &s->cfg.framer) != 0
	    || ser_reader_init(s) != ARB_OK || ser_poll_init(s) != ARB_OK) {
		serial_free(s);
		return ARB_ENOMEM;
	}
	s->now_ms = arb__now_ms();
	ser_dest_resolve(s); // the destination may start later: not an error
	ser_try_open(s);
	ser_poll_start(s);
	*statep = s;
	return ARB_OK;
}

static void
serial_handle(arb_ctx *ctx, void *state, const arb_msg *msg)
{
	serial *s = state;
	uint8_t buf[1024];
	size_t  len;

	if (arb_msg_tag(msg) != ARB_SERIAL_TAG_STATS
	    || !arb_msg_is_request(msg)) {
		return;
	}
	len = ser_counters_encode(s, buf, sizeof(buf));
	arb_reply(ctx, msg, ARB_SERIAL_TAG_STATS, buf, len);
}

static void
serial_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	(void) ctx;
	(void) why;
	serial_free(state); // restores the port's settings
}

const arb_actor_ops arb_serial_ops = {
	.type = "serial",
	.init = serial_init,
	.handle = serial_handle,
	.terminate = serial_terminate,
	.check = serial_cfg_check,
};
