// SPDX-License-Identifier: MIT
// sim_serial.c -- collector-serial-sim: serial sensors without hardware.
//
// Each simulated sensor is a pty whose slave is reached through a stable,
// /dev/serial/by-id-like symlink (DIR/by-id/usb-arbor_sim_<name>-if00);
// the sensor writes numbered readings ("n=1 t=21.53 h=40.2 *5A\n") at a
// chosen rate into the master, as a device writes into a UART.  On
// demand it misbehaves: garbage lines, silence, an unplug (the symlink
// goes, then the pty: the reader sees a hang-up) and a replug (a new pty
// behind the same symlink, atomically, as udev does).
//
// It knows whether a reader has the port open (a pty master polls
// POLLHUP while nobody holds the slave), so every reading has a fate:
// written while a reader was attached, written while none was (the
// kernel keeps those and the next open reads them: only the first, which
// may be half a line, is lost), or not written because the pty's buffer
// was full (an overrun).
// --log FILE writes one line per reading: "SENSOR N T_MS FATE".
//
// Commands, one per line, on stdin (--stdin) or on a FIFO it makes
// (--commands PATH): "garbage I [BYTES]", "silence I MS", "unplug I",
// "plug I", "replug I MS", "rate R", "quit".  Sensors are numbered
// from 1.  SIGINT and SIGTERM end it cleanly (links removed, summary
// printed).  Exit 0, or 64 for a usage error, 1 for a failure.

#include "cli.h"
#include "clock.h"
#include "reading.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SENSORS_MAX 64

typedef struct sensor {
	int      master;      // -1 while unplugged
	char     pty[64];     // /dev/pts/N
	char     link[PATH_MAX];
	bool     attached;    // a reader holds the slave
	bool     started;     // produced since (--wait-attached)
	uint64_t next_n;      // the next reading's number
	uint64_t produced;    // readings due since `phase_t0`
	int64_t  phase_t0;    // ms: when production (re)started
	int64_t  silent_until;
	int64_t  replug_at;   // ms, 0: none
	uint64_t written, detached, overrun, garbage;
	char     out[65536];  // lines not yet written (one tick's)
	size_t   outn;
	char     carry[128];  // the tail of a line a full pty cut
	size_t   carryn;
} sensor;

static volatile sig_atomic_t stop_sig;
static sensor                s[SENSORS_MAX];
static int                   nsensors = 2;
static double                rate     = 10; // readings/s per sensor
static uint64_t              count;         // per sensor; 0: no end
static char                  dir[PATH_MAX - 64] = ".";
static char                  prefix[32]     = "s";
static FILE                 *logfile;
static bool                  quiet;
static bool                  wait_attached; // start at the first open

static void
on_signal(int sig)
{
	stop_sig = sig;
}

static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("sim ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
}

static int
plug(int i)
{
	sensor *x = &s[i];
	char    tmp[PATH_MAX + 8];
	int     m, sl;

	if (x->master >= 0) {
		return 0;
	}
	if (openpty(&m, &sl, NULL, NULL, NULL) != 0) {
		say("event=error sensor=%d op=openpty error=\"%s\"", i + 1,
		    strerror(errno));
		return -1;
	}
	fcntl(m, F_SETFD, FD_CLOEXEC);
	fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
	snprintf(x->pty, sizeof(x->pty), "%s", ttyname(sl));
	close(sl); // a reader opens it by the link
	// A new link beside the old name, then rename: the path is never
	// missing once plugged, and never points at a stale pty.
	snprintf(tmp, sizeof(tmp), "%s.tmp", x->link);
	unlink(tmp);
	if (symlink(x->pty, tmp) != 0 || rename(tmp, x->link) != 0) {
		say("event=error sensor=%d op=symlink error=\"%s\"", i + 1,
		    strerror(errno));
		close(m);
		return -1;
	}
	x->master   = m;
	x->attached = false;
	x->phase_t0 = clk_mono_ms();
	x->produced = 0;
	x->outn     = 0;
	say("event=plugged sensor=%d link=%s pty=%s", i + 1, x->link, x->pty);
	return 0;
}

static void
unplug(int i)
{
	sensor *x = &s[i];

	if (x->master < 0) {
		return;
	}
	// As udev: the link goes first (the kernel reuses pty numbers at
	// once; a link left at /dev/pts/N would lead to another pty).
	unlink(x->link);
	close(x->master);
	x->master   = -1;
	x->attached = false;
	x->outn     = 0;
	x->carryn   = 0;
	say("event=unplugged sensor=%d link=%s", i + 1, x->link);
}

// line writes reading n of sensor i into its buffer.
static void
line(sensor *x, int i, uint64_t n)
{
	char   b[128];
	int    k;
	double t = 20.0 + (double) ((n * 37 + (uint64_t) i * 11) % 1000) / 100.0;
	double h = 40.0 + (double) ((n * 53 + (uint64_t) i * 7) % 400) / 10.0;

	k = snprintf(b, sizeof(b), "n=%llu t=%.2f h=%.1f ",
	    (unsigned long long) n, t, h);
	k += snprintf(b + k, sizeof(b) - (size_t) k, "*%02X\n",
	    reading_checksum_of(b, (size_t) k));
	if (x->outn + (size_t) k <= sizeof(x->out)) {
		memcpy(x->out + x->outn, b, (size_t) k);
		x->outn += (size_t) k;
	}
}

// emit writes the lines buffered this tick.  A line the full pty cut
// in two keeps its tail for the next write (fate "cut": it may still
// arrive whole); lines after it are not written (fate "overrun", as a
// UART's FIFO overflows).
static void
emit(sensor *x, int i, uint64_t first, uint64_t n)
{
	size_t      off = 0, pos = 0, end;
	ssize_t     w;
	int64_t     t       = clk_real_ms();
	bool        blocked = false;
	uint64_t    k;
	const char *fate;

	if (x->carryn > 0) {
		w = write(x->master, x->carry, x->carryn);
		if (w > 0) {
			memmove(x->carry, x->carry + w, x->carryn - (size_t) w);
			x->carryn -= (size_t) w;
		}
		blocked = x->carryn > 0;
	}
	while (!blocked && off < x->outn) {
		w = write(x->master, x->out + off, x->outn - off);
		if (w <= 0) {
			break;
		}
		off += (size_t) w;
	}
	for (k = 0; k < n; k++, pos = end) {
		end = (size_t) ((char *) memchr(x->out + pos, '\n', x->outn - pos)
		          - x->out)
		    + 1;
		if (end <= off) {
			fate = x->attached ? "ok" : "detached";
			if (x->attached) {
				x->written++;
			} else {
				x->detached++;
			}
		} else if (pos < off) {
			fate = "cut";
			x->overrun++;
			memcpy(x->carry, x->out + off, end - off);
			x->carryn = end - off;
		} else {
			fate = "overrun";
			x->overrun++;
		}
		if (logfile != NULL) {
			fprintf(logfile, "%d %llu %lld %s\n", i + 1,
			    (unsigned long long) (first + k), (long long) t,
			    fate);
		}
	}
	x->outn = 0;
}

static void
garbage(int i, size_t bytes)
{
	sensor *x = &s[i];
	char    b[8192];
	size_t  k;

	if (x->master < 0) {
		return;
	}
	if (bytes > sizeof(b) - 1) {
		bytes = sizeof(b) - 1;
	}
	for (k = 0; k < bytes; k++) {
		// Random bytes, but no newline: one bad line.
		b[k] = (char) (rand() % 255 + 1);
		if (b[k] == '\n') {
			b[k] = '?';
		}
	}
	b[bytes] = '\n';
	if (write(x->master, b, bytes + 1) > 0) {
		x->garbage++;
	}
	say("event=garbage sensor=%d bytes=%zu", i + 1, bytes);
}

// bad_command says why a command was not done, with the command as given.
static void
bad_command(const char *line, const char *why)
{
	say("event=bad_command command=\"%s\" why=\"%s\"", line, why);
}

static void
command(char *cmd)
{
	char  line[128], why[96];
	char *word, *a1, *a2;
	int   i;

	snprintf(line, sizeof(line), "%.127s", cmd);
	line[strcspn(line, "\r\n")] = '\0';
	for (i = 0; line[i] != '\0'; i++) {
		line[i] = line[i] == '"' ? '\'' : line[i];
	}
	word = strtok(cmd, " \t\r\n");
	a1   = strtok(NULL, " \t\r\n");
	a2   = strtok(NULL, " \t\r\n");
	i    = a1 != NULL ? atoi(a1) - 1 : -1;
	if (word == NULL) {
		return;
	}
	if (strcmp(word, "quit") == 0) {
		stop_sig = SIGTERM;
		return;
	}
	if (strcmp(word, "rate") == 0) {
		int k;

		if (a1 == NULL || atof(a1) <= 0) {
			bad_command(line, "rate R: R must be a number above 0");
			return;
		}
		rate = atof(a1);
		for (k = 0; k < nsensors; k++) {
			s[k].phase_t0 = clk_mono_ms();
			s[k].produced = 0;
		}
		say("event=rate rate=%g", rate);
		return;
	}
	if (strcmp(word, "garbage") != 0 && strcmp(word, "silence") != 0
	    && strcmp(word, "unplug") != 0 && strcmp(word, "plug") != 0
	    && strcmp(word, "replug") != 0) {
		bad_command(line, "unknown command (garbage I [BYTES], silence "
		                  "I MS, unplug I, plug I, replug I MS, rate R, "
		                  "quit)");
		return;
	}
	if (i < 0 || i >= nsensors) {
		snprintf(why, sizeof(why), "no sensor %s: they are 1 to %d",
		    a1 != NULL ? a1 : "given", nsensors);
		bad_command(line, why);
		return;
	}
	if (strcmp(word, "garbage") == 0) {
		garbage(i, a2 != NULL ? (size_t) atol(a2) : 40);
	} else if (strcmp(word, "silence") == 0) {
		if (a2 == NULL) {
			bad_command(line, "silence I MS: MS is missing");
			return;
		}
		s[i].silent_until = clk_mono_ms() + atol(a2);
		say("event=silence sensor=%d ms=%ld", i + 1, atol(a2));
	} else if (strcmp(word, "unplug") == 0) {
		unplug(i);
	} else if (strcmp(word, "plug") == 0) {
		plug(i);
	} else {
		unplug(i);
		s[i].replug_at = clk_mono_ms() + (a2 != NULL ? atol(a2) : 500);
	}
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: collector-serial-sim [options]\n"
	    "  --dir DIR          links go to DIR/by-id/ (default .)\n"
	    "  --sensors N        how many sensors (default 2, at most 64)\n"
	    "  --name PREFIX      sensor names PREFIX1, PREFIX2... (default s)\n"
	    "  --rate R           readings per second per sensor (default 10)\n"
	    "  --count N          readings per sensor, then stop (default: no end)\n"
	    "  --log FILE         one line per reading: SENSOR N T_MS FATE\n"
	    "  --stdin            read commands from stdin\n"
	    "  --commands FIFO    read commands from a FIFO (made if missing)\n"
	    "  --wait-attached    a sensor starts 100 ms after a reader first\n"
	    "                     opened it\n"
	    "  --quiet            no progress line\n"
	    "commands: garbage I [BYTES] | silence I MS | unplug I | plug I |\n"
	    "          replug I MS | rate R | quit\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = { { "dir", 1, NULL, 'd' },
		{ "sensors", 1, NULL, CLI_SENSORS }, { "name", 1, NULL, CLI_NAME },
		{ "rate", 1, NULL, CLI_RATE }, { "count", 1, NULL, CLI_COUNT },
		{ "log", 1, NULL, CLI_LOG }, { "stdin", 0, NULL, 's' },
		{ "commands", 1, NULL, 'f' }, { "quiet", 0, NULL, CLI_QUIET },
		{ "wait-attached", 0, NULL, 'w' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	char             fifo[PATH_MAX] = "", cmdbuf[1024];
	size_t           cmdn           = 0;
	int              cmdfd = -1, o, i;
	bool             use_stdin = false, done_said = false;
	int64_t          last_progress = 0;
	const cli_vars   cv = { .sensors = &nsensors, .prefix = prefix,
		  .prefix_cap = sizeof(prefix), .rate = &rate, .count = &count,
		  .log = &logfile, .quiet = &quiet };

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			snprintf(dir, sizeof(dir), "%s", optarg);
			break;
		case 's':
			use_stdin = true;
			break;
		case 'f':
			snprintf(fifo, sizeof(fifo), "%s", optarg);
			break;
		case 'w':
			wait_attached = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if ((i = cli_option(&cv, "collector-serial-sim", o, optarg))
			    < 0) {
				return 1;
			}
			if (i == 0) {
				usage(stderr);
				return 64;
			}
			break;
		}
	}
	if (optind != argc || nsensors < 1 || nsensors > SENSORS_MAX
	    || !(rate > 0) || rate > 1e6) {
		usage(stderr);
		return 64;
	}
	cli_signals(on_signal);
	{
		char by[PATH_MAX + 8];

		snprintf(by, sizeof(by), "%s/by-id", dir);
		mkdir(dir, 0755);
		if (mkdir(by, 0755) != 0 && errno != EEXIST) {
			fprintf(stderr, "collector-serial-sim: %s: %s\n", by,
			    strerror(errno));
			return 1;
		}
	}
	if (fifo[0] != '\0') {
		if (mkfifo(fifo, 0600) != 0 && errno != EEXIST) {
			fprintf(stderr, "collector-serial-sim: %s: %s\n", fifo,
			    strerror(errno));
			return 1;
		}
		// O_RDWR: the FIFO never reads EOF when a writer goes.
		cmdfd = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	} else if (use_stdin) {
		cmdfd = 0;
		fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	}
	for (i = 0; i < nsensors; i++) {
		s[i].master = -1;
		s[i].next_n = 1;
		int w = snprintf(s[i].link, sizeof(s[i].link),
		    "%s/by-id/usb-arbor_sim_%s%d-if00", dir, prefix, i + 1);

		if (w < 0 || (size_t) w >= sizeof(s[i].link)) {
			fprintf(stderr, "collector-serial-sim: --dir %s: too long\n",
			    dir);
			return 64;
		}
		if (plug(i) != 0) {
			return 1;
		}
	}
	say("event=ready sensors=%d rate=%g count=%llu dir=%s", nsensors, rate,
	    (unsigned long long) count, dir);
	while (stop_sig == 0) {
		struct pollfd pf[SENSORS_MAX + 1];
		int64_t       now = clk_mono_ms();
		bool          all_done = count > 0;
		int           np = 0;

		for (i = 0; i < nsensors; i++) {
			sensor  *x = &s[i];
			uint64_t due, first, k;

			if (x->replug_at != 0 && now >= x->replug_at) {
				x->replug_at = 0;
				plug(i);
			}
			if (count > 0 && x->next_n <= count) {
				all_done = false;
			}
			if (x->master < 0) {
				continue;
			}
			// Attached: nobody holds the slave <=> POLLHUP.
			pf[0] = (struct pollfd) { .fd = x->master, .events = 0 };
			poll(pf, 1, 0);
			x->attached = (pf[0].revents & POLLHUP) == 0;
			if (!x->started) {
				// --wait-attached: the first reading comes 100 ms
				// after the first open, as from a device that starts
				// talking once asked (a serial reader drops a frame
				// that began before its open: it cannot know where
				// it started).
				if (wait_attached && !x->attached) {
					x->phase_t0 = now;
					continue;
				}
				if (wait_attached && now - x->phase_t0 < 100) {
					continue;
				}
				x->started  = true;
				x->phase_t0 = now;
				x->produced = 0;
			}
			if (now < x->silent_until) {
				x->phase_t0 = now;
				x->produced = 0;
				continue;
			}
			due = (uint64_t) ((double) (now - x->phase_t0) * rate
			    / 1000.0);
			first = x->next_n;
			for (k = 0; x->produced < due
			     && (count == 0 || x->next_n <= count)
			     && x->outn + 128 <= sizeof(x->out);
			     k++) {
				line(x, i, x->next_n++);
				x->produced++;
			}
			if (k > 0) {
				emit(x, i, first, k);
			}
		}
		if (all_done && !done_said) {
			uint64_t w = 0, d = 0, v = 0;

			for (i = 0; i < nsensors; i++) {
				w += s[i].written;
				d += s[i].detached;
				v += s[i].overrun;
			}
			say("event=done written=%llu detached=%llu overrun=%llu",
			    (unsigned long long) w, (unsigned long long) d,
			    (unsigned long long) v);
			done_said = true;
			if (logfile != NULL) {
				fflush(logfile);
			}
		}
		if (!quiet && now - last_progress >= 1000) {
			uint64_t w = 0;

			for (i = 0; i < nsensors; i++) {
				w += s[i].written + s[i].detached;
			}
			if (last_progress != 0) {
				say("event=progress written=%llu",
				    (unsigned long long) w);
			}
			last_progress = now;
		}
		// Sleep until the next reading is due (at most 10 ms), or a
		// command comes.
		if (cmdfd >= 0) {
			pf[np++] = (struct pollfd) { .fd = cmdfd,
				.events = POLLIN };
		}
		{
			int wait = rate >= 100 ? 1 : 10;

			if (poll(pf, (nfds_t) np, wait) > 0
			    && (pf[0].revents & POLLIN) != 0) {
				ssize_t r = read(cmdfd, cmdbuf + cmdn,
				    sizeof(cmdbuf) - 1 - cmdn);
				char   *nl;

				if (r > 0) {
					cmdn += (size_t) r;
				} else if (r == 0 && cmdfd == 0) {
					cmdfd = -1; // stdin ended
				}
				cmdbuf[cmdn] = '\0';
				while ((nl = strchr(cmdbuf, '\n')) != NULL) {
					size_t used = (size_t) (nl - cmdbuf) + 1;

					*nl = '\0';
					command(cmdbuf);
					memmove(cmdbuf, cmdbuf + used,
					    cmdn - used + 1);
					cmdn -= used;
				}
				if (cmdn == sizeof(cmdbuf) - 1) {
					cmdn = 0; // a line too long: dropped
				}
			}
		}
	}
	for (i = 0; i < nsensors; i++) {
		say("event=summary sensor=%d written=%llu detached=%llu "
		    "overrun=%llu garbage=%llu last_n=%llu",
		    i + 1, (unsigned long long) s[i].written,
		    (unsigned long long) s[i].detached,
		    (unsigned long long) s[i].overrun,
		    (unsigned long long) s[i].garbage,
		    (unsigned long long) (s[i].next_n - 1));
		unplug(i);
	}
	if (fifo[0] != '\0') {
		close(cmdfd);
		unlink(fifo);
	}
	if (logfile != NULL) {
		fclose(logfile);
	}
	return 0;
}
