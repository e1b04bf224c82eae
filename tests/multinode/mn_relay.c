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
//
//   arb-mn-relay --mute LISTEN_IP PORT
//
// A mute peer instead (multinode.18_mute_peer): it accepts every
// connection and never says a word -- a hung node whose kernel still
// accepts, a middlebox holding the connection.  It reads and drops what
// comes, and prints "relay ready", then "accepted N" for each connection
// it takes and "closed N" for each one the other end closes (N counts
// them), a line each, flushed.  At most 64 connections at a time (the
// next ones wait in the kernel's queue).

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
#define MUTES 64

static int
addr_of(struct sockaddr_in *sa, const char *ip, const char *port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port   = htons((unsigned short) atoi(port));
	return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -1;
}

static int
listen_on(const struct sockaddr_in *self, const char *ip, const char *port)
{
	int lsn, one = 1;

	if ((lsn = socket(AF_INET, SOCK_STREAM, 0)) < 0
	    || setsockopt(lsn, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0
	    || bind(lsn, (const struct sockaddr *) self, sizeof(*self)) != 0
	    || listen(lsn, 16) != 0) {
		fprintf(stderr, "arb-mn-relay: listen %s:%s: %s\n", ip, port,
		    strerror(errno));
		return -1;
	}
	return lsn;
}

// mute: the --mute mode (above).
static int
mute(int lsn)
{
	struct pollfd pf[1 + MUTES];
	int           fd[MUTES];
	int           i, n = 0, accepted = 0, closed = 0;
	char          buf[4096];

	printf("relay ready\n");
	fflush(stdout);
	for (;;) {
		pf[0].fd     = n < MUTES ? lsn : -1;
		pf[0].events = POLLIN;
		for (i = 0; i < n; i++) {
			pf[1 + i].fd     = fd[i];
			pf[1 + i].events = POLLIN;
		}
		if (poll(pf, (nfds_t) (1 + n), -1) < 0) {
			if (errno == EINTR) {
				continue;
			}
			return 1;
		}
		for (i = n - 1; i >= 0; i--) {
			ssize_t r;

			if (!(pf[1 + i].revents & (POLLIN | POLLHUP | POLLERR))) {
				continue;
			}
			r = read(fd[i], buf, sizeof(buf));
			if (r == 0 || (r < 0 && errno != EINTR)) {
				close(fd[i]);
				fd[i] = fd[--n];
				printf("closed %d\n", ++closed);
				fflush(stdout);
			}
		}
		if (pf[0].revents & POLLIN) {
			int a = accept(lsn, NULL, NULL);

			if (a >= 0) {
				fd[n++] = a;
				printf("accepted %d\n", ++accepted);
				fflush(stdout);
			}
		}
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in self, target;
	struct pollfd      pf[1 + 2 * PAIRS];
	int                fd[2 * PAIRS]; // a pair: [2i] accepted, [2i+1] dialled
	int                lsn, one = 1, i;
	char               buf[65536];

	if (argc == 4 && strcmp(argv[1], "--mute") == 0
	    && addr_of(&self, argv[2], argv[3]) == 0) {
		if ((lsn = listen_on(&self, argv[2], argv[3])) < 0) {
			return 1;
		}
		return mute(lsn);
	}
	if (argc != 5 || addr_of(&self, argv[1], argv[2]) != 0
	    || addr_of(&target, argv[3], argv[4]) != 0) {
		fprintf(stderr,
		    "usage: arb-mn-relay LISTEN_IP PORT TARGET_IP TARGET_PORT\n"
		    "       arb-mn-relay --mute LISTEN_IP PORT\n");
		return 2;
	}
	if ((lsn = listen_on(&self, argv[1], argv[2])) < 0) {
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
