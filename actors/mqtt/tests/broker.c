// SPDX-License-Identifier: MIT
// broker.c -- a real mosquitto for the mqtt tests and bench (broker.h).
// Programs are run with posix_spawn (the test processes may have nng
// threads: no fork without exec).  Thread: the caller's.

#include "broker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
tbroker_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t          len = sizeof(sa);
	int                fd, port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		return -1;
	}
	if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0
	    && getsockname(fd, (struct sockaddr *) &sa, &len) == 0) {
		port = ntohs(sa.sin_port);
	}
	close(fd);
	return port;
}

int
tsilent_open(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t          len = sizeof(sa);
	int                fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		return -1;
	}
	if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0
	    || listen(fd, 16) != 0
	    || getsockname(fd, (struct sockaddr *) &sa, &len) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

// wait_pid waits (at most timeout_ms) for pid to end and reaps it,
// reading drain (if >= 0) meanwhile so the child never blocks on a full
// pipe; at the deadline it kills it with SIGKILL.  Returns the wait
// status.  The wait is on a pidfd: woken by the exit itself.
static int
wait_pid(pid_t pid, int timeout_ms, int drain)
{
	struct pollfd p[2];
	long long     end = now_ms() + timeout_ms;
	char          buf[4096];
	int           st = 0, fd, n;

	fd = (int) syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			break;
		}
		if (now_ms() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		n = 0;
		p[n++] = (struct pollfd) { .fd = fd, .events = POLLIN };
		if (drain >= 0) {
			p[n++] = (struct pollfd) { .fd = drain,
				.events = POLLIN };
		}
		if (poll(p, (nfds_t) n, fd >= 0 ? (int) (end - now_ms()) : 5)
		        > 0
		    && n == 2 && (p[1].revents & (POLLIN | POLLHUP)) != 0
		    && read(drain, buf, sizeof(buf)) <= 0) {
			drain = -1; // EOF: the pidfd alone
		}
	}
	if (fd >= 0) {
		close(fd);
	}
	return st;
}

// run_quiet runs argv to completion (at most 20 s), its output to
// dir/name.out; returns its exit status or -1.
static int
run_quiet(const char *dir, const char *name, char *const argv[])
{
	posix_spawn_file_actions_t fa;
	char                       out[256];
	pid_t                      pid;
	int                        st, rv;

	snprintf(out, sizeof(out), "%s/%s.out", dir, name);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(
	    &fa, 1, out, O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	rv = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rv != 0) {
		return -1;
	}
	st = wait_pid(pid, 20000, -1);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int
tbroker_init(tbroker *b, const char *parent)
{
	memset(b, 0, sizeof(*b));
	b->out = -1;
	snprintf(b->dir, sizeof(b->dir), "%s/mqttbroker-XXXXXX",
	    parent != NULL ? parent : "/tmp");
	if (mkdtemp(b->dir) == NULL) {
		return -1;
	}
	b->port = tbroker_free_port();
	return b->port > 0 ? 0 : -1;
}

static int
write_config(tbroker *b)
{
	char  path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/mosquitto.conf", b->dir);
	if ((f = fopen(path, "w")) == NULL) {
		return -1;
	}
	// `user root`: a broker started as root keeps its user (else it
	// becomes `mosquitto` and cannot read this private directory).
	fprintf(f,
	    "user root\nlog_dest stderr\nlog_type error\nlog_type "
	    "warning\nlog_type notice\nlog_type information\n"
	    "per_listener_settings false\nmax_queued_messages 100000\n"
	    "listener %d 127.0.0.1\n",
	    b->port);
	if (b->auth) {
		fprintf(f, "allow_anonymous false\npassword_file %s/passwd\n",
		    b->dir);
	} else {
		fprintf(f, "allow_anonymous true\n");
	}
	if (b->tls) {
		fprintf(f,
		    "cafile %s/ca.pem\ncertfile %s/server.pem\n"
		    "keyfile %s/server.key\n",
		    b->dir, b->dir, b->dir);
		if (b->tls_require_cert) {
			fprintf(f, "require_certificate true\n");
		}
	}
	if (b->persist) {
		fprintf(f,
		    "persistence true\npersistence_location %s/\n"
		    "autosave_interval 0\n",
		    b->dir);
	}
	return fclose(f) == 0 ? 0 : -1;
}

// read_until reads the broker's output into b->log until needle shows, at
// most until the deadline; false on EOF or timeout.
static bool
read_until(tbroker *b, const char *needle, long long end)
{
	size_t        len = strlen(b->log);
	struct pollfd p = { .fd = b->out, .events = POLLIN };
	ssize_t       n;
	long long     left;

	for (;;) {
		if (strstr(b->log, needle) != NULL) {
			return true;
		}
		if ((left = end - now_ms()) <= 0) {
			return false;
		}
		if (poll(&p, 1, (int) left) <= 0) {
			continue;
		}
		if (len + 1 >= sizeof(b->log)) {
			// Keep the tail: the needle comes last.
			memmove(b->log, b->log + sizeof(b->log) / 2,
			    sizeof(b->log) / 2);
			len -= sizeof(b->log) / 2;
		}
		n = read(b->out, b->log + len, sizeof(b->log) - 1 - len);
		if (n <= 0) {
			return false;
		}
		len += (size_t) n;
		b->log[len] = '\0';
	}
}

int
tbroker_start(tbroker *b)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t          at;
	sigset_t                   none;
	char                       conf[256];
	// Through setpriv(1) (util-linux) when there is one: the broker gets
	// SIGKILL when the thread that started it ends, so a test killed by
	// its timeout leaves no broker behind.
	char  *argv[] = { SETPRIV_BIN, "--pdeathsig", "KILL", "--",
		 MOSQUITTO_BIN, "-c", conf, NULL };
	char **av = access(SETPRIV_BIN, X_OK) == 0 ? argv : argv + 4;
	int    pfd[2];
	int    rv;

	if (b->pid > 0 || write_config(b) != 0) {
		return -1;
	}
	snprintf(conf, sizeof(conf), "%s/mosquitto.conf", b->dir);
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	rv = posix_spawn(&b->pid, av[0], &fa, &at, av, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(pfd[1]);
	if (rv != 0) {
		close(pfd[0]);
		b->pid = 0;
		return -1;
	}
	b->out = pfd[0];
	b->log[0] = '\0';
	if (!read_until(b, " running", now_ms() + 5000)) {
		tbroker_kill(b);
		return -1;
	}
	return 0;
}

static void
broker_reap(tbroker *b, int sig, int grace_ms)
{
	if (b->pid <= 0) {
		return;
	}
	kill(b->pid, sig);
	wait_pid(b->pid, grace_ms, b->out);
	b->pid = 0;
	if (b->out >= 0) {
		close(b->out);
		b->out = -1;
	}
}

void
tbroker_stop(tbroker *b)
{
	broker_reap(b, SIGTERM, 3000);
}

void
tbroker_kill(tbroker *b)
{
	broker_reap(b, SIGKILL, 3000);
}

static void
rm_tree(const char *dir)
{
	DIR           *d;
	struct dirent *e;
	char           p[512];

	if ((d = opendir(dir)) == NULL) {
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0
		    || strcmp(e->d_name, "..") == 0) {
			continue;
		}
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR) {
			rm_tree(p);
		} else {
			unlink(p);
		}
	}
	closedir(d);
	rmdir(dir);
}

void
tbroker_fini(tbroker *b)
{
	tbroker_stop(b);
	if (b->dir[0] != '\0') {
		rm_tree(b->dir);
		b->dir[0] = '\0';
	}
}

int
tbroker_passwd(tbroker *b, const char *user, const char *pass)
{
	char  file[256];
	char *argv[] = { "mosquitto_passwd", "-b", file, (char *) user,
		(char *) pass, NULL };
	char *create[] = { "mosquitto_passwd", "-c", "-b", file, (char *) user,
		(char *) pass, NULL };

	snprintf(file, sizeof(file), "%s/passwd", b->dir);
	return run_quiet(
	           b->dir, "passwd", access(file, F_OK) == 0 ? argv : create)
	        == 0
	    ? 0
	    : -1;
}

static int
ossl(tbroker *b, char *const argv[])
{
	return run_quiet(b->dir, "openssl", argv) == 0 ? 0 : -1;
}

int
tbroker_make_ca(tbroker *b)
{
	char  d[160], ext[256], k[8][200];
	FILE *f;
	int   i;

	snprintf(d, sizeof(d), "%s", b->dir);
	snprintf(ext, sizeof(ext), "%s/server.ext", d);
	if ((f = fopen(ext, "w")) == NULL) {
		return -1;
	}
	fprintf(f, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
	fclose(f);
	for (i = 0; i < 8; i++) {
		k[i][0] = '\0';
	}
#define P(i, name) (snprintf(k[i], sizeof(k[i]), "%s/%s", d, name), k[i])
	{
		char *ca[] = { "openssl", "req", "-x509", "-newkey", "ec",
			"-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
			"-days", "2", "-subj", "/CN=arbor test CA", "-keyout",
			P(0, "ca.key"), "-out", P(1, "ca.pem"), NULL };
		char *oca[] = { "openssl", "req", "-x509", "-newkey", "ec",
			"-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
			"-days", "2", "-subj", "/CN=other CA", "-keyout",
			P(2, "other-ca.key"), "-out", P(3, "other-ca.pem"),
			NULL };
		if (ossl(b, ca) != 0 || ossl(b, oca) != 0) {
			return -1;
		}
	}
	{
		const char *who[2] = { "server", "client" };
		const char *cn[2] = { "/CN=localhost", "/CN=arbor-client" };
		for (i = 0; i < 2; i++) {
			char key[200], csr[200], pem[200];
			snprintf(key, sizeof(key), "%s/%s.key", d, who[i]);
			snprintf(csr, sizeof(csr), "%s/%s.csr", d, who[i]);
			snprintf(pem, sizeof(pem), "%s/%s.pem", d, who[i]);
			char *req[] = { "openssl", "req", "-newkey", "ec",
				"-pkeyopt", "ec_paramgen_curve:prime256v1",
				"-nodes", "-subj", (char *) cn[i], "-keyout",
				key, "-out", csr, NULL };
			char *sign[] = { "openssl", "x509", "-req", "-in", csr,
				"-CA", k[1], "-CAkey", k[0], "-CAcreateserial",
				"-days", "2", "-out", pem, "-extfile", ext,
				NULL };
			char *sign_c[]
			    = { "openssl", "x509", "-req", "-in", csr, "-CA",
				      k[1], "-CAkey", k[0], "-CAcreateserial",
				      "-days", "2", "-out", pem, NULL };
			if (ossl(b, req) != 0
			    || ossl(b, i == 0 ? sign : sign_c) != 0) {
				return -1;
			}
		}
	}
#undef P
	return 0;
}
