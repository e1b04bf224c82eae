// SPDX-License-Identifier: MIT
// netem_tun.c -- a link with delay, jitter and loss between two network
// namespaces, in user space, for the benches (bench/multinode_detect.sh,
// bench/multinode_stream.sh): this machine's kernel has no sch_netem, so
// `tc qdisc ... netem` is not available.  The program makes a TUN device
// in each namespace (both called DEV) and forwards every IP packet from
// one to the other after DELAY_MS +/- JITTER_MS (uniform), dropping
// LOSS_PCT % of them at random.  Each direction is a FIFO: a packet is
// never sent before the one ahead of it (netem's jitter reorders; this
// one does not).  SIGUSR1 drops everything (a cut link: "loss 100%"),
// SIGUSR2 goes back to the configured loss.  It prints "ready" once both
// devices exist (the caller then gives them addresses and brings them
// up) and runs until SIGTERM or SIGINT, then prints what it forwarded
// and dropped.
//
//   netem-tun NS_A NS_B DEV DELAY_MS JITTER_MS LOSS_PCT
//
// Runs as root.  Not a test and not part of arbor.

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define QMAX 8192 // packets waiting per direction (more: dropped)
#define PMAX 65536

typedef struct pkt {
	int64_t  due_us;
	uint16_t len;
	uint8_t *data;
} pkt;

typedef struct dir {
	int      in, out;
	pkt      q[QMAX];
	size_t   head, n;
	int64_t  last_due;
	uint64_t fwd, lost, overflow;
} dir;

static volatile sig_atomic_t cut, stop;

static void
on_sig(int sig)
{
	if (sig == SIGUSR1) {
		cut = 1;
	} else if (sig == SIGUSR2) {
		cut = 0;
	} else {
		stop = 1;
	}
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

// tun_in makes the TUN device dev in namespace ns (then returns to the
// namespace it was called in).  Returns its fd, or -1.
static int
tun_in(const char *ns, const char *dev)
{
	char         path[256];
	struct ifreq ifr;
	int          self, nsfd, fd = -1;

	snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	if ((self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0
	    || (nsfd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		perror(path);
		return -1;
	}
	if (setns(nsfd, CLONE_NEWNET) == 0) {
		fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
		memset(&ifr, 0, sizeof(ifr));
		ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
		if (fd >= 0 && ioctl(fd, TUNSETIFF, &ifr) != 0) {
			perror("TUNSETIFF");
			close(fd);
			fd = -1;
		}
		if (setns(self, CLONE_NEWNET) != 0) {
			perror("setns back");
			exit(1);
		}
	} else {
		perror("setns");
	}
	close(nsfd);
	close(self);
	return fd;
}

// take reads every packet waiting on d->in into d's queue (or drops it).
static void
take(dir *d, int delay_us, int jitter_us, int loss_pct)
{
	uint8_t b[PMAX];
	ssize_t n;

	while ((n = read(d->in, b, sizeof(b))) > 0) {
		int64_t due = now_us() + delay_us;
		pkt    *p;

		if (jitter_us > 0) {
			due += (random() % (2 * jitter_us + 1)) - jitter_us;
		}
		if (cut || (loss_pct > 0 && random() % 10000 < loss_pct * 100)) {
			d->lost++;
			continue;
		}
		if (d->n == QMAX) {
			d->overflow++;
			continue;
		}
		if (due < d->last_due) {
			due = d->last_due; // FIFO: never ahead of the one before
		}
		d->last_due = due;
		p = &d->q[(d->head + d->n) % QMAX];
		if ((p->data = malloc((size_t) n)) == NULL) {
			d->overflow++;
			continue;
		}
		memcpy(p->data, b, (size_t) n);
		p->len = (uint16_t) n;
		p->due_us = due;
		d->n++;
	}
}

// give writes the packets of d that are due; returns the µs until the
// next one (-1: none waiting).
static int64_t
give(dir *d)
{
	int64_t t = now_us();

	while (d->n > 0 && d->q[d->head].due_us <= t) {
		pkt *p = &d->q[d->head];

		if (write(d->out, p->data, p->len) == (ssize_t) p->len) {
			d->fwd++;
		} else {
			d->overflow++;
		}
		free(p->data);
		d->head = (d->head + 1) % QMAX;
		d->n--;
	}
	return d->n > 0 ? d->q[d->head].due_us - t : -1;
}

int
main(int argc, char **argv)
{
	static dir       ab, ba;
	struct sigaction sa;
	int              a, b, delay_us, jitter_us, loss_pct;

	if (argc != 7) {
		fprintf(stderr,
		    "usage: %s NS_A NS_B DEV DELAY_MS JITTER_MS LOSS_PCT\n",
		    argv[0]);
		return 64;
	}
	delay_us = atoi(argv[4]) * 1000;
	jitter_us = atoi(argv[5]) * 1000;
	loss_pct = atoi(argv[6]);
	if (delay_us < 0 || jitter_us < 0 || jitter_us > delay_us
	    || loss_pct < 0 || loss_pct > 100) {
		fprintf(stderr, "delay >= jitter >= 0, loss 0-100 %%\n");
		return 64;
	}
	if ((a = tun_in(argv[1], argv[3])) < 0
	    || (b = tun_in(argv[2], argv[3])) < 0) {
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	srandom((unsigned) now_us());
	ab.in = a;
	ab.out = b;
	ba.in = b;
	ba.out = a;
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		struct pollfd pfd[2] = { { .fd = a, .events = POLLIN },
			{ .fd = b, .events = POLLIN } };
		int64_t       w1 = give(&ab), w2 = give(&ba), w = -1;

		if (w1 >= 0 && (w2 < 0 || w1 < w2)) {
			w = w1;
		} else if (w2 >= 0) {
			w = w2;
		}
		// Wake for the next packet due (rounded up to a ms), or
		// after 100 ms to look at the signals.
		if (poll(pfd, 2, w < 0 ? 100 : (int) ((w + 999) / 1000)) < 0
		    && errno != EINTR) {
			perror("poll");
			return 1;
		}
		take(&ab, delay_us, jitter_us, loss_pct);
		take(&ba, delay_us, jitter_us, loss_pct);
	}
	printf("a->b forwarded %llu dropped %llu (queue full %llu); "
	       "b->a forwarded %llu dropped %llu (queue full %llu)\n",
	    (unsigned long long) ab.fwd, (unsigned long long) ab.lost,
	    (unsigned long long) ab.overflow, (unsigned long long) ba.fwd,
	    (unsigned long long) ba.lost, (unsigned long long) ba.overflow);
	return 0;
}
