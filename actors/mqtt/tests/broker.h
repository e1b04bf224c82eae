// SPDX-License-Identifier: MIT
// broker.h -- a real mosquitto broker for tests and the bench: started on
// a free loopback port with its own config and directory, ready once it
// says so on its log, stopped (and reaped) by whoever started it.  Also
// a test CA and certificates made with openssl(1), password files made
// with mosquitto_passwd(1), and a "silent broker": a listening socket
// that accepts TCP connections (the kernel completes them) and never
// answers.  Every wait is bounded.  Thread: the caller's.

#ifndef MQTT_TEST_BROKER_H
#define MQTT_TEST_BROKER_H

#include <stdbool.h>
#include <sys/types.h>

#ifndef MOSQUITTO_BIN
#define MOSQUITTO_BIN "/usr/sbin/mosquitto"
#endif
#ifndef SETPRIV_BIN
#define SETPRIV_BIN "/usr/bin/setpriv"
#endif

typedef struct tbroker {
	char  dir[128]; // the broker's own directory (config, data, log)
	int   port;
	pid_t pid; // 0 when not running
	int   out; // its log (stdout+stderr), read end
	// Options, set before tbroker_start:
	bool auth; // password_file dir/passwd, no anonymous clients
	bool tls;  // TLS listener with dir/ca.pem, server.pem, server.key
	bool tls_require_cert; // clients must present a certificate
	bool persist;          // persistence in dir (survives a restart)
	char log[8192];        // the last output read (for failure messages)
} tbroker;

// tbroker_init prepares b with a fresh directory under parent (NULL:
// /tmp) and a free port.  Returns 0 or -1.
int tbroker_init(tbroker *b, const char *parent);

// tbroker_start writes the config and runs mosquitto; returns 0 once it
// said it is running (within 5 s), or -1 (it is stopped again).
int tbroker_start(tbroker *b);

// tbroker_stop sends SIGTERM (SIGKILL after 3 s) and reaps it.  A
// harmless no-op when not running.  Persistence is saved on SIGTERM.
void tbroker_stop(tbroker *b);

// tbroker_kill kills it with SIGKILL and reaps it (nothing saved).
void tbroker_kill(tbroker *b);

// tbroker_fini stops it if needed and removes its directory.
void tbroker_fini(tbroker *b);

// tbroker_passwd adds user:pass to dir/passwd (mosquitto_passwd -b).
int tbroker_passwd(tbroker *b, const char *user, const char *pass);

// tbroker_make_ca makes a CA (dir/ca.pem, ca.key), a server certificate
// for "localhost" and 127.0.0.1 (server.pem, server.key) and a client
// certificate (client.pem, client.key), all signed by the CA; and a
// second CA (other-ca.pem) that signed nothing of these.  openssl(1).
int tbroker_make_ca(tbroker *b);

// tbroker_free_port returns a loopback TCP port nobody listens on now.
int tbroker_free_port(void);

// tsilent_open listens on a free loopback port and never accepts: TCP
// connections complete in the kernel and are never answered.  Returns
// the listening fd (close it to end) and the port in *port, or -1.
int tsilent_open(int *port);

#endif // MQTT_TEST_BROKER_H
