/* server-internal.h — what server.c shares with server-accept.c and
 * server-background.c (the server's parts, split by job); no other file
 * includes it. */
#pragma once

#include "server.h"

/* server.c: (re)start the idle exit's countdown if no client is left,
 * stop it while any is connected. */
void server_idle_arm(Server *s);

/* server-accept.c: the listeners' event sources (and the accept pause's
 * timer). */
int server_accept_add(Server *s);
/* After a pause for want of descriptors, accept again (a connection
 * closed: a descriptor is free); nothing if not paused. */
void server_accept_resume(Server *s);

/* server-background.c: the rewrap, sweep, deferred-step and write-group
 * sources, off until there is work. */
int server_background_add(Server *s);
/* Switch on what the frame just handled started. */
void server_background_after_frame(Server *s);
