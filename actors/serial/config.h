// SPDX-License-Identifier: MIT
// config.h -- the settings of a serial actor (its `config:` in a tree
// file), read with the arb_cfg_* reader by both the check hook and init,
// so a config that passed `arbor check` cannot fail in init.
// docs/actors.md ("serial") documents every key.  Thread: the caller's.

#ifndef ARBOR_SERIAL_CONFIG_H
#define ARBOR_SERIAL_CONFIG_H

#include "framer.h"
#include "port.h"

#include <arbor/actor.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_NAME_MAX 63  // a stream or request name, a destination
#define SERIAL_SEND_MAX 256 // bytes of one poll request
#define SERIAL_REQS_MAX 32  // poll requests per port

typedef struct serial_req_cfg {
	char    name[SERIAL_NAME_MAX + 1];
	uint8_t data[SERIAL_SEND_MAX];
	size_t  len;
	int64_t every_ms;
} serial_req_cfg;

typedef struct serial_cfg {
	char              path[PATH_MAX];
	char              to[SERIAL_NAME_MAX + 1];
	char              stream[SERIAL_NAME_MAX + 1]; // "" = actor path
	serial_line_cfg   line;
	serial_framer_cfg framer;
	int64_t           gap_ms;
	int64_t           reopen_min_ms;
	int64_t           reopen_max_ms;
	int64_t           stall_ms;  // 0: no stall detector
	int64_t           stall_max; // 0: never exit for stalls
	// polling (nreqs > 0)
	serial_req_cfg reqs[SERIAL_REQS_MAX];
	size_t         nreqs;
	int64_t        poll_timeout_ms;
	int64_t        poll_turnaround_ms;
} serial_cfg;

// serial_cfg_read fills c from cfg: defaults for what is absent, every
// problem recorded in cfg (arb_cfg_errors tells how many).  This function
// can't fail.
void serial_cfg_read(arb_cfg *cfg, serial_cfg *c);

// serial_cfg_check is the type's check hook: serial_cfg_read into a
// scratch copy, for its problems only.  This function can't fail.
void serial_cfg_check(arb_cfg *cfg);

#endif // ARBOR_SERIAL_CONFIG_H
