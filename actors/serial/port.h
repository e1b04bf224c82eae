// SPDX-License-Identifier: MIT
// port.h -- opening a serial port the way a gateway needs it: raw,
// configured, exclusive, and given back as it was found.
//
// The only file of the serial actor that calls open/ioctl/flock/termios on
// the device.  serial_port_open never blocks (O_NONBLOCK); the descriptor
// it returns is non-blocking and close-on-exec.
//
// Exclusive open uses two locks, because neither covers everything:
//  - flock(LOCK_EX|LOCK_NB) on the open file: every program that takes the
//    same lock is kept out, root included (another arbor actor or node;
//    pyserial with exclusive=True takes the same lock); a program that
//    never calls flock is not stopped by it.
//  - ioctl(TIOCEXCL) on the tty: the kernel then refuses every further
//    open(2) of the device with EBUSY, whatever the program, but not to a
//    process with CAP_SYS_ADMIN (root): root is kept out only by flock.
// The flock is taken first, so a second opener that loses never touches
// the terminal settings or the TIOCEXCL flag of the owner.
// Thread: the caller's (no shared state).

#ifndef ARBOR_SERIAL_PORT_H
#define ARBOR_SERIAL_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

typedef enum serial_parity {
	SERIAL_PARITY_NONE = 0,
	SERIAL_PARITY_EVEN,
	SERIAL_PARITY_ODD,
	SERIAL_PARITY_MARK,
	SERIAL_PARITY_SPACE,
} serial_parity;

typedef enum serial_flow {
	SERIAL_FLOW_NONE = 0,
	SERIAL_FLOW_RTSCTS,
	SERIAL_FLOW_XONXOFF,
} serial_flow;

typedef struct serial_line_cfg {
	unsigned      baud;      // one of the standard rates (serial_baud_ok)
	int           data_bits; // 5..8
	serial_parity parity;
	int           stop_bits; // 1 or 2
	serial_flow   flow;
	bool          exclusive; // flock + TIOCEXCL
} serial_line_cfg;

typedef struct serial_port {
	int            fd; // -1 when closed
	struct termios saved;
	bool           excl; // TIOCEXCL set by us
} serial_port;

// serial_baud_ok is true for the rates termios can set by name (50 to
// 4000000 baud).  Thread: any.
bool serial_baud_ok(unsigned baud);

// serial_port_init makes p a closed port.  This function can't fail.
void serial_port_init(serial_port *p);

// serial_port_open opens path (a device or a symlink to one, such as
// /dev/serial/by-id/...), takes the locks (when c->exclusive), saves the
// terminal settings and sets raw mode with c's line settings.  Input the
// kernel holds already is kept, for the caller to read: it is the
// device's.  A tty's input lives and dies with the tty: a device that
// went away (unplugged, a pty whose other end closed) takes what it held
// with it, the kernel discards it at a hang-up, and a hardware port's at
// its last close; so nothing of a device that vanished is ever found
// here.  What is found was written by the device at this path while no
// reader read it: a pty's (or a shared port's) peer writing while the
// port was closed -- between a stall and its reopen, or while a killed
// reader was restarted -- or a device that answered the open at once.
// Returns 0, or an errno value with a one-line reason in err: ENOENT (not
// there), EBUSY (locked by another process, or in exclusive use),
// EACCES, ENOTTY (not a terminal), EINVAL (settings refused).  On failure
// nothing is left open.  The settings are read back: a driver that did
// not take one of them (a pty keeps 8 data bits and no parity) gives
// EINVAL naming it, and the port's own settings are put back.
int serial_port_open(serial_port *p, const char *path,
    const serial_line_cfg *c, char *err, size_t errlen);

// serial_port_close discards unsent output (so close never waits for it to
// drain), restores the saved terminal settings, clears TIOCEXCL, releases
// the lock and closes.  Errors (a device that is gone) are
// ignored.  Closing a closed port is a harmless no-op.
void serial_port_close(serial_port *p);

// serial_port_reopen closes p and opens path again with c's settings (a
// stall's reopen: the same port, its driver made to start over) without
// putting the saved terminal settings back in between: the port keeps the
// raw settings the open sets again at once, and p keeps the settings its
// first open found, for serial_port_close.  Put back in between, they
// handled what reached the line discipline meanwhile -- on a pty, whose
// input outlives the close, what the kernel held too: with the settings a
// tty starts with (canonical, echo) each such byte was echoed to the
// device, a line grown to the line discipline's 4 KiB lost its next bytes
// up to its newline, and erase, kill, end-of-file and flow-control
// characters would have been acted on.  Returns what serial_port_open
// returns; on failure p is closed and the settings found are not put back
// (no descriptor is left to do it with).  A closed p is simply opened.
int serial_port_reopen(serial_port *p, const char *path,
    const serial_line_cfg *c, char *err, size_t errlen);

// serial_port_pending is the number of bytes the line discipline holds
// for reading (FIONREAD), 0 on error: not what the tty's buffers behind it
// hold (serial_port_quiet).
size_t serial_port_pending(const serial_port *p);

// serial_port_quiet is true when the kernel holds nothing for reading:
// neither the line discipline (FIONREAD's count) nor the tty's buffers
// behind it, which a kernel worker hands on -- after a read emptied the
// line discipline, FIONREAD says 0 until that worker has run, on a
// loaded machine tens of milliseconds later.  A hang-up or an error to
// read is not quiet either (the next read reports it).  A closed port is
// quiet.
bool serial_port_quiet(const serial_port *p);

// serial_port_flush_input discards what the kernel holds for reading and
// returns how many bytes that was, exactly: it reads until EAGAIN (FIONREAD
// sees only the line discipline's 4 KiB of what a tty holds).  A device
// that is still talking after 1 MiB is cut with tcflush and the rest
// counted as FIONREAD sees it.  End of file and errors end it quietly
// (the next read reports them).
size_t serial_port_flush_input(serial_port *p);

#endif // ARBOR_SERIAL_PORT_H
