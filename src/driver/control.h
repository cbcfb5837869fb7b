/*
 * control.h - the control channel between the source and destination
 * drivers: a Unix stream socket in the pipes dir carrying one compact JSON
 * object per line.  Messages (field "t"):
 *
 *   source -> destination
 *     hello   {v, replication}            first message
 *     open    {}                          the source holds the data FIFO open
 *     state   {seq, fp, streams:[...]}    a STATE was forwarded (fingerprint,
 *                                         records per stream so far)
 *     stats   {streams, messages, ...}    every second: live stats, heartbeat
 *     done    {code, reason}              the source side has finished
 *   destination -> source
 *     welcome {v, run, state}             handshake reply with the input state
 *     reject  {reason}                    handshake refused
 *     abort   {code, reason}              stop now: the destination failed
 *     result  {code, reason}              final outcome of the run
 *
 * A peer that dies is seen as end of file.
 */
#ifndef AB_CONTROL_H
#define AB_CONTROL_H

#include <jansson.h>

#include "protocol/lines.h"

#define CONTROL_VERSION 1
#define CONTROL_SOCKET "control.sock"
#define CONTROL_DATA_FIFO "data.fifo"

struct control {
	int fd;
	struct lines in;
};

/* Bind and listen on path (a stale socket file must be removed first). */
int control_listen(const char *path);
/* One connection attempt; -ENOENT/-ECONNREFUSED while nobody listens. */
int control_connect(struct control *c, const char *path);
/* Take over an accepted fd. */
int control_adopt(struct control *c, int fd);
void control_close(struct control *c);

/* Send msg (borrowed) as one line; waits up to a few seconds for room. */
int control_send(struct control *c, const json_t *msg);
/* Build and send {"t": type, ...fields (stolen, may be NULL)}. */
int control_sendf(struct control *c, const char *type, json_t *fields);

/*
 * Read what is available (non-blocking).  Returns bytes read, 0 at end of
 * file, -EAGAIN when nothing was ready.
 */
ssize_t control_fill(struct control *c);
/*
 * Next complete message as a new reference in *msg; 1 when one was
 * returned, 0 when none is complete, -EBADMSG for a malformed line.
 */
int control_next(struct control *c, json_t **msg);

/* The message type, "" when missing. */
const char *control_type(const json_t *msg);

#endif
