/* frame.c — length-prefixed framing (see frame.h). */
#include <errno.h>

#include "frame.h"
#include "proto-limits.h"

int frame_parse(const uint8_t *buf, size_t size, const uint8_t **ret_body, size_t *ret_body_size) {
        if (size < FRAME_HEADER_SIZE)
                return 0;

        uint32_t body_size =
                (uint32_t) buf[0] << 24 | (uint32_t) buf[1] << 16 | (uint32_t) buf[2] << 8 | (uint32_t) buf[3];
        if (body_size > FRAME_BODY_MAX)
                return -EMSGSIZE;
        *ret_body = buf + FRAME_HEADER_SIZE;
        *ret_body_size = body_size;
        if (body_size == 0)
                return -EBADMSG;
        if (size - FRAME_HEADER_SIZE < body_size)
                return 0;
        return (int) (FRAME_HEADER_SIZE + body_size);
}

void frame_header_write(uint8_t header[static 4], uint32_t body_size) {
        header[0] = (uint8_t) (body_size >> 24);
        header[1] = (uint8_t) (body_size >> 16);
        header[2] = (uint8_t) (body_size >> 8);
        header[3] = (uint8_t) body_size;
}
