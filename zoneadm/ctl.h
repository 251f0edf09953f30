/*
 * The control protocol between the admin commands and a zone's kzhost,
 * over ROOT/run/ZONE/ctl.sock (a Unix stream socket, mode 0600).
 *
 * One request a connection: the client sends one line, "VERB [ARGS]\n";
 * the server answers with zero or more "KEY VALUE" lines and ends with
 * "ok[ TEXT]\n" or "error TEXT\n", then closes.  Lines are at most
 * CTL_LINE_MAX bytes; longer input is refused.  Verbs (kzhost answers):
 *
 *   status     state STATE / aux AUX[,AUX...] / pid PID / boots N / vcpus N
 *   boot       start the vCPUs of a zone made ready
 *   halt       stop the machine at once; kzhost exits
 *   reboot     reset the machine and boot it again
 *   shutdown   press the ACPI power button: the guest shuts itself down
 *   console-log   print the path of the console log
 *   stats      pid / vcpus / memory BYTES / memory-locked yes|no /
 *              page-backing / console-out / console-in / device LINE...
 *   gdb-listen ADDR PORT   listen for one gdb client on TCP: listening A:P
 */
#ifndef KZ_ZONEADM_CTL_H
#define KZ_ZONEADM_CTL_H

#include <stddef.h>

#define CTL_LINE_MAX 4096

/*
 * Send one request to ROOT/run/ZONE/ctl.sock and collect the reply lines
 * (without the final ok/error line) into reply.  Returns 0 on "ok",
 * -EREMOTEIO on "error" (err holds the server's text), or -errno when the
 * socket cannot be reached (-ENOENT/-ECONNREFUSED: no kzhost).
 */
int ctl_request(const char *root, const char *zone, const char *line,
		char *reply, size_t replylen, char *err, size_t errlen);

/* Path of the zone's control socket. */
int ctl_socket_path(char *buf, size_t len, const char *root, const char *zone);

/* Server side: a listening socket at path (replacing a stale one). */
int ctl_listen(const char *path);

/* Read one request line from a connected client (timeout in ms). */
int ctl_read_line(int fd, char *buf, size_t len, int timeout_ms);

#endif
