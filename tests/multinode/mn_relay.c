// SPDX-License-Identifier: MIT
// mn_relay.c -- arb-mn-relay: a TCP relay that one node dials instead of
// its peer, so a script can end or silence the stream ONE node of a pair
// dialled (issue 12: a relay, NAT or firewall that cut one connection).
// A pair keeps one data stream (and its heartbeat channel): when both
// nodes dialled, the one the lower name dialled (docs/multinode.md, "One
// stream per pair"); the other node's dials do not pass here.  Cutting
// the pair's stream makes both nodes see the other DOWN
// (multinode.78_one_link); a relay that stays dead keeps only the first
// node's redials from getting through, and the first node then sends on
// the other's stream.
//
//   arb-mn-relay LISTEN_IP PORT TARGET_IP TARGET_PORT
//
// It listens, prints "relay ready" once it does, and for each connection
// it accepts dials the target and copies bytes both ways until either
// end closes (then it closes the other).  SIGKILL is the cut: every
// relayed connection closes at once and nothing listens until a new
// relay runs.  At most 16 connections at a time; no timeouts of its own.

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PAIRS 16

static int
addr_of(struct sockaddr_in *sa, const char *ip, const char *port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port   = htons((unsigned short) atoi(port));
	return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in self, target;
	struct pollfd      pf[1 + 2 * PAIRS];
	int                fd[2 * PAIRS]; // a pair: [2i] accepted, [2i+1] dialled
	int                lsn, one = 1, i;
	char               buf[65536];

	if (argc != 5 || addr_of(&self, argv[1], argv[2]) != 0
	    || addr_of(&target, argv[3], argv[4]) != 0) {
		fprintf(stderr,
		    "usage: arb-mn-relay LISTEN_IP PORT TARGET_IP TARGET_PORT\n");
		return 2;
	}
	if ((lsn = socket(AF_INET, SOCK_STREAM, 0)) < 0
	    || setsockopt(lsn, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0
	    || bind(lsn, (struct sockaddr *) &self, sizeof(self)) != 0
	    || listen(lsn, 16) != 0) {
		fprintf(stderr, "arb-mn-relay: listen %s:%s: %s\n", argv[1],
		    argv[2], strerror(errno));
		return 1;
	}
	for (i = 0; i < 2 * PAIRS; i++) {
		fd[i] = -1;
	}
	printf("relay ready\n");
	fflush(stdout);
	for (;;) {
		pf[0].fd     = lsn;
		pf[0].events = POLLIN;
		for (i = 0; i < 2 * PAIRS; i++) {
			pf[1 + i].fd     = fd[i];
			pf[1 + i].events = POLLIN;
		}
		if (poll(pf, 1 + 2 * PAIRS, -1) < 0) {
			if (errno == EINTR) {
				continue;
			}
			return 1;
		}
		if (pf[0].revents & POLLIN) {
			int a = accept(lsn, NULL, NULL), d;

			for (i = 0; a >= 0 && i < PAIRS && fd[2 * i] >= 0; i++) { }
			if (a >= 0 && i < PAIRS
			    && (d = socket(AF_INET, SOCK_STREAM, 0)) >= 0) {
				if (connect(d, (struct sockaddr *) &target,
				        sizeof(target))
				    == 0) {
					setsockopt(a, IPPROTO_TCP, TCP_NODELAY,
					    &one, sizeof(one));
					setsockopt(d, IPPROTO_TCP, TCP_NODELAY,
					    &one, sizeof(one));
					fd[2 * i]     = a;
					fd[2 * i + 1] = d;
					a             = -1;
				} else {
					close(d);
				}
			}
			if (a >= 0) {
				close(a); // no room, or the target refused
			}
		}
		for (i = 0; i < 2 * PAIRS; i++) {
			ssize_t n, w, off;

			if (fd[i] < 0 || !(pf[1 + i].revents & (POLLIN | POLLHUP | POLLERR))) {
				continue;
			}
			n = read(fd[i], buf, sizeof(buf));
			for (off = 0; n > 0 && off < n; off += w) {
				// Blocking writes: a node reads its links at once.
				if ((w = write(fd[i ^ 1], buf + off,
				         (size_t) (n - off)))
				    <= 0) {
					n = -1;
					break;
				}
			}
			if (n <= 0 && !(n < 0 && errno == EINTR)) {
				close(fd[i]);
				close(fd[i ^ 1]);
				fd[i] = fd[i ^ 1] = -1;
			}
		}
	}
}
