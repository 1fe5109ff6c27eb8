/* http_tickets: the TLS session-ticket keys, our own ring rotated on a timer, kept across reloads.
 */
#ifndef RB_HTTP_TICKETS_H
#define RB_HTTP_TICKETS_H

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdbool.h>

/* Makes ctx encrypt and decrypt its session tickets with the process's key ring, with no
 * server-side session cache, and binds resumption to the client CA file's contents (client_ca
 * may be NULL). False (err filled) when the CA file cannot be read. */
bool http_tickets_use(SSL_CTX *ctx, const char *client_ca, char *err, size_t errlen);
/* Starts the rotation timer for one more server (one ring per process; the last
 * http_tickets_stop ends it). */
bool http_tickets_start(struct event_base *base, int interval_s);
/* Changes the timer's period (at a reload); an unchanged period keeps the timer's phase, so
 * frequent reloads do not postpone a rotation. */
bool http_tickets_retime(struct event_base *base, int interval_s);
/* Makes a new current key; the current one becomes the previous one (still decrypts, and a
 * ticket it decrypts is renewed), the previous one is wiped. */
void http_tickets_rotate(void);
/* The last server gone: stops the timer and wipes the keys. */
void http_tickets_stop(void);

#endif
