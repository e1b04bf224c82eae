// SPDX-License-Identifier: MIT
// port.c -- open, configure, lock and restore a serial port (port.h).
// Thread: the caller's.

#include "port.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define FLUSH_READS_MAX 256 // serial_port_flush_input: at most 1 MiB

static const struct {
	unsigned baud;
	speed_t  speed;
} bauds[] = {
	{ 50, B50 },
	{ 75, B75 },
	{ 110, B110 },
	{ 134, B134 },
	{ 150, B150 },
	{ 200, B200 },
	{ 300, B300 },
	{ 600, B600 },
	{ 1200, B1200 },
	{ 1800, B1800 },
	{ 2400, B2400 },
	{ 4800, B4800 },
	{ 9600, B9600 },
	{ 19200, B19200 },
	{ 38400, B38400 },
	{ 57600, B57600 },
	{ 115200, B115200 },
	{ 230400, B230400 },
	{ 460800, B460800 },
	{ 500000, B500000 },
	{ 576000, B576000 },
	{ 921600, B921600 },
	{ 1000000, B1000000 },
	{ 1152000, B1152000 },
	{ 1500000, B1500000 },
	{ 2000000, B2000000 },
	{ 2500000, B2500000 },
	{ 3000000, B3000000 },
	{ 3500000, B3500000 },
	{ 4000000, B4000000 },
};

static bool
baud_speed(unsigned baud, speed_t *sp)
{
	size_t i;

	for (i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++) {
		if (bauds[i].baud == baud) {
			*sp = bauds[i].speed;
			return true;
		}
	}
	return false;
}

bool
serial_baud_ok(unsigned baud)
{
	speed_t sp;

	return baud_speed(baud, &sp);
}

void
serial_port_init(serial_port *p)
{
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}

// line_set turns t into raw mode with c's settings.
static int
line_set(struct termios *t, const serial_line_cfg *c)
{
	static const tcflag_t sizes[] = { CS5, CS6, CS7, CS8 };
	speed_t               sp;

	if (!baud_speed(c->baud, &sp) || c->data_bits < 5 || c->data_bits > 8
	    || (c->stop_bits != 1 && c->stop_bits != 2)) {
		return EINVAL;
	}
	cfmakeraw(t); // no echo, no translation, no signals, 8 bits
	t->c_cflag |= CLOCAL | CREAD;
	t->c_cflag &= ~(
	    tcflag_t) (CSIZE | PARENB | PARODD | CMSPAR | CSTOPB | CRTSCTS);
	t->c_cflag |= sizes[c->data_bits - 5];
	switch (c->parity) {
	case SERIAL_PARITY_NONE:
		break;
	case SERIAL_PARITY_EVEN:
		t->c_cflag |= PARENB;
		break;
	case SERIAL_PARITY_ODD:
		t->c_cflag |= PARENB | PARODD;
		break;
	case SERIAL_PARITY_MARK:
		t->c_cflag |= PARENB | CMSPAR | PARODD;
		break;
	case SERIAL_PARITY_SPACE:
		t->c_cflag |= PARENB | CMSPAR;
		break;
	}
	if (c->stop_bits == 2) {
		t->c_cflag |= CSTOPB;
	}
	t->c_iflag &= ~(tcflag_t) (IXON | IXOFF | IXANY);
	if (c->flow == SERIAL_FLOW_RTSCTS) {
		t->c_cflag |= CRTSCTS;
	} else if (c->flow == SERIAL_FLOW_XONXOFF) {
		t->c_iflag |= IXON | IXOFF;
	}
	t->c_cc[VMIN] = 1;
	t->c_cc[VTIME] = 0;
	if (cfsetispeed(t, sp) != 0 || cfsetospeed(t, sp) != 0) {
		return EINVAL;
	}
	return 0;
}

// line_check reads the settings back: tcsetattr succeeds when it applied
// any of them, and a driver may drop what it cannot do (a pty keeps 8
// data bits and no parity, some USB adapters refuse mark/space parity).
// A port that runs with other settings than asked is an error that names
// the first difference.
static int
line_check(int fd, const struct termios *want, char *err, size_t errlen)
{
	static const struct {
		tcflag_t    mask;
		const char *what;
	} cflags[] = {
		{ CSIZE, "data bits" },
		{ PARENB | PARODD | CMSPAR, "parity" },
		{ CSTOPB, "stop bits" },
		{ CRTSCTS, "rtscts flow control" },
	};
	struct termios got;
	size_t         i;

	if (tcgetattr(fd, &got) != 0) {
		snprintf(err, errlen, "tcgetattr: %s", strerror(errno));
		return errno;
	}
	if (cfgetispeed(&got) != cfgetispeed(want)
	    || cfgetospeed(&got) != cfgetospeed(want)) {
		snprintf(err, errlen, "the device did not take the baud rate");
		return EINVAL;
	}
	for (i = 0; i < sizeof(cflags) / sizeof(cflags[0]); i++) {
		if ((got.c_cflag & cflags[i].mask)
		    != (want->c_cflag & cflags[i].mask)) {
			snprintf(err, errlen,
			    "the device did not take the %s setting",
			    cflags[i].what);
			return EINVAL;
		}
	}
	if ((got.c_iflag & (IXON | IXOFF))
	    != (want->c_iflag & (IXON | IXOFF))) {
		snprintf(err, errlen,
		    "the device did not take xonxoff flow control");
		return EINVAL;
	}
	return 0;
}

int
serial_port_open(serial_port *p, const char *path, const serial_line_cfg *c,
    char *err, size_t errlen)
{
	struct termios t;
	int            fd, e;

	serial_port_init(p);
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e == EBUSY) {
			snprintf(err, errlen,
			    "in exclusive use by another process (TIOCEXCL)");
		} else {
			snprintf(err, errlen, "%s", strerror(e));
		}
		return e;
	}
	if (c->exclusive && flock(fd, LOCK_EX | LOCK_NB) != 0) {
		e = errno == EWOULDBLOCK ? EBUSY : errno;
		snprintf(err, errlen, "%s",
		    e == EBUSY ? "locked by another process (flock)"
		               : strerror(e));
		close(fd);
		return e;
	}
	if (tcgetattr(fd, &p->saved) != 0) {
		e = errno;
		snprintf(err, errlen, "%s",
		    e == ENOTTY ? "not a terminal device" : strerror(e));
		close(fd);
		return e;
	}
	if (c->exclusive) {
		if (ioctl(fd, TIOCEXCL) != 0) {
			e = errno;
			snprintf(err, errlen, "TIOCEXCL: %s", strerror(e));
			close(fd);
			return e;
		}
		p->excl = true;
	}
	t = p->saved;
	if ((e = line_set(&t, c)) != 0) {
		snprintf(err, errlen, "line settings refused");
	} else if (tcsetattr(fd, TCSANOW, &t) != 0) {
		e = errno;
		snprintf(err, errlen, "tcsetattr: %s", strerror(e));
	} else {
		e = line_check(fd, &t, err, errlen);
	}
	if (e != 0) {
		tcsetattr(fd, TCSANOW, &p->saved);
		if (p->excl) {
			ioctl(fd, TIOCNXCL);
			p->excl = false;
		}
		close(fd);
		return e;
	}
	// Input the kernel holds already is kept: the reader reads it as
	// it reads everything (port.h says why it is the device's).
	p->fd = fd;
	return 0;
}

// port_close closes p, putting the saved terminal settings back when
// restore is true.
static void
port_close(serial_port *p, bool restore)
{
	if (p->fd < 0) {
		return;
	}
	// Unsent output is dropped first: a serial driver's close waits for
	// it to drain (closing_wait, 30 s by default), which a device that
	// holds CTS low would turn into a blocked loop.
	tcflush(p->fd, TCOFLUSH);
	if (restore) {
		tcsetattr(p->fd, TCSANOW, &p->saved);
	}
	if (p->excl) {
		ioctl(p->fd, TIOCNXCL); // else a pty's flag outlives the close
	}
	close(p->fd); // releases the flock
	serial_port_init(p);
}

void
serial_port_close(serial_port *p)
{
	port_close(p, true);
}

int
serial_port_reopen(serial_port *p, const char *path, const serial_line_cfg *c,
    char *err, size_t errlen)
{
	struct termios found = p->saved;
	bool           was_open = p->fd >= 0;
	int            e;

	// The settings found stay off the port: the ones it runs with were
	// set by us and are set again at once (port.h says why).
	port_close(p, false);
	if ((e = serial_port_open(p, path, c, err, errlen)) == 0 && was_open) {
		p->saved = found;
	}
	return e;
}

size_t
serial_port_pending(const serial_port *p)
{
	int n = 0;

	if (p->fd < 0 || ioctl(p->fd, FIONREAD, &n) != 0 || n < 0) {
		return 0;
	}
	return (size_t) n;
}

bool
serial_port_quiet(const serial_port *p)
{
	struct pollfd pf = { p->fd, POLLIN, 0 };
	int           r;

	if (p->fd < 0) {
		return true;
	}
	// poll, not FIONREAD: a tty's poll first waits for the kernel worker
	// that hands the tty's buffers to the line discipline; FIONREAD
	// counts the line discipline's buffer only.
	if ((r = poll(&pf, 1, 0)) < 0) {
		return serial_port_pending(p) == 0;
	}
	return r == 0;
}

size_t
serial_port_flush_input(serial_port *p)
{
	uint8_t buf[4096];
	size_t  n = 0, i;
	ssize_t r;

	if (p->fd < 0) {
		return 0;
	}
	// Read, not tcflush: FIONREAD shows only the line discipline's
	// buffer (4 KiB), not the tty's buffers behind it (a pty holds about
	// 20 KiB), so a count taken with it before a tcflush fell short.  A
	// non-blocking tty read that finds nothing first waits for the
	// kernel to hand over what those buffers hold, so EAGAIN means
	// empty.  FLUSH_READS_MAX bounds the time a device that never stops
	// talking can keep the loop here.
	for (i = 0; i < FLUSH_READS_MAX; i++) {
		r = read(p->fd, buf, sizeof(buf));
		if (r > 0) {
			n += (size_t) r;
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else {
			// EAGAIN: all read.  End of file, an error: the
			// reader's next read sees it and reports the loss.
			return n;
		}
	}
	// Still talking: what is left is counted as FIONREAD sees it.
	n += serial_port_pending(p);
	tcflush(p->fd, TCIFLUSH);
	return n;
}
