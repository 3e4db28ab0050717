/* frame.h — length-prefixed framing of the wire protocol.
 *
 * Owns: turning a byte stream into frame bodies and back. Never: reads or
 * writes a socket, allocates, or looks inside the body. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Look at the start of buf. Returns:
 *   > 0   a whole frame is there; that many bytes (header + body) make it up,
 *         and *ret_body / *ret_body_size point at the body inside buf;
 *   0     not enough bytes yet (a partial frame is not an error); once
 *         the header is there, *ret_body_size already says how long the
 *         body will be, so a reader knows how much more to wait for;
 *   -EMSGSIZE  the declared length is over FRAME_BODY_MAX: the stream cannot
 *         be resynchronised, the caller must close it;
 *   -EBADMSG   the declared length is zero: the frame is consumed (4 bytes),
 *         *ret_body_size is 0, and the stream can go on.
 * The length is checked before any body byte is needed. */
int frame_parse(const uint8_t *buf, size_t size, const uint8_t **ret_body, size_t *ret_body_size);

/* Write the 4-byte header for a body of body_size bytes. */
void frame_header_write(uint8_t header[static 4], uint32_t body_size);
