/* fuzz-frame.c — cutting frames out of an arbitrary byte stream.
 *
 * The first byte of the input chooses how the stream arrives (the sizes
 * of the reads); the rest is the stream. It is cut twice: all at once, and
 * as a connection does (daemon/net/connection.c): bytes appended a read
 * at a time, whole frames cut as soon as they are there, an empty frame
 * skipped, an oversized length the end of the stream. Both must give the
 * same frames, each exactly what its header says, and frame_parse() must
 * keep every promise of frame.h on the way. */
#include <errno.h>
#include <string.h>

#include "frame.h"
#include "fuzz.h"
#include "proto-limits.h"

typedef struct Cut {
        int result; /* > 0 a frame, -EBADMSG, -EMSGSIZE */
        size_t offset, body_size;
} Cut;

typedef struct Cuts {
        Cut *cuts;
        size_t n, alloc;
        size_t consumed;
        bool closed; /* an oversized length ended the stream */
} Cuts;

static void cuts_add(Cuts *c, int result, size_t offset, size_t body_size) {
        if (c->n == c->alloc) {
                c->alloc = c->alloc * 2 + 16;
                c->cuts = realloc(c->cuts, c->alloc * sizeof(Cut));
                FUZZ_CHECK(c->cuts, "out of memory");
        }
        c->cuts[c->n++] = (Cut) { .result = result, .offset = offset, .body_size = body_size };
}

static uint32_t header_value(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* Cut what buf[0..size) holds, from its start; returns the bytes used.
 * stream_offset is where buf starts in the stream. */
static size_t cut(const uint8_t *buf, size_t size, size_t stream_offset, Cuts *c) {
        size_t off = 0;

        while (!c->closed) {
                const uint8_t *body = NULL;
                size_t body_size = SIZE_MAX, left = size - off;
                int k = frame_parse(buf + off, left, &body, &body_size);

                if (left < FRAME_HEADER_SIZE) {
                        FUZZ_CHECK(k == 0, "%d with only %zu bytes", k, left);
                        break;
                }
                uint32_t want = header_value(buf + off);
                if (want > FRAME_BODY_MAX) {
                        FUZZ_CHECK(k == -EMSGSIZE, "length %u over the cap gave %d", want, k);
                        cuts_add(c, k, stream_offset + off, 0);
                        c->closed = true;
                        off = size;
                        break;
                }
                /* Once the header is there the length is known, whole body
                 * or not. */
                FUZZ_CHECK(body_size == want, "body size %zu, header says %u", body_size, want);
                FUZZ_CHECK(body == buf + off + FRAME_HEADER_SIZE, "body not right after the header");
                if (want == 0) {
                        FUZZ_CHECK(k == -EBADMSG, "empty frame gave %d", k);
                        cuts_add(c, k, stream_offset + off, 0);
                        off += FRAME_HEADER_SIZE;
                        continue;
                }
                if (left - FRAME_HEADER_SIZE < want) {
                        FUZZ_CHECK(k == 0, "partial frame gave %d", k);
                        break;
                }
                FUZZ_CHECK(k > 0 && (size_t) k == FRAME_HEADER_SIZE + want, "whole frame gave %d for %u", k, want);
                uint8_t header[FRAME_HEADER_SIZE];
                frame_header_write(header, want);
                FUZZ_CHECK(memcmp(header, buf + off, FRAME_HEADER_SIZE) == 0, "header does not round-trip");
                cuts_add(c, k, stream_offset + off, body_size);
                off += (size_t) k;
        }
        return off;
}

/* A small deterministic generator for the read sizes. */
static uint32_t next_random(uint32_t *state) {
        *state ^= *state << 13;
        *state ^= *state >> 17;
        *state ^= *state << 5;
        return *state;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Cuts whole = {}, pieces = {};

        if (size < 1)
                return 0;
        uint8_t mode = data[0];
        const uint8_t *stream = data + 1;
        size_t n = size - 1;

        /* All at once. */
        whole.consumed = cut(stream, n, 0, &whole);

        /* A read at a time into a buffer, as a connection reads. Read sizes:
         * 1..(mode+1) bytes, or a fixed size when mode's top bit is set. */
        uint8_t *buf = malloc(n + 1);
        FUZZ_CHECK(buf, "out of memory");
        size_t buf_size = 0, buf_start = 0, fed = 0;
        uint32_t state = 0x9e3779b9u ^ mode;
        while (fed < n && !pieces.closed) {
                size_t step = mode & 0x80 ? (size_t) (mode & 0x7f) + 1 : next_random(&state) % ((size_t) mode + 1) + 1;
                if (step > n - fed)
                        step = n - fed;
                memcpy(buf + buf_size, stream + fed, step);
                buf_size += step;
                fed += step;
                size_t used = cut(buf, buf_size, buf_start, &pieces);
                memmove(buf, buf + used, buf_size - used);
                buf_size -= used;
                buf_start += used;
        }
        pieces.consumed = buf_start;
        free(buf);

        FUZZ_CHECK(whole.n == pieces.n, "%zu frames at once, %zu a read at a time", whole.n, pieces.n);
        for (size_t i = 0; i < whole.n; i++)
                FUZZ_CHECK(whole.cuts[i].result == pieces.cuts[i].result &&
                                   whole.cuts[i].offset == pieces.cuts[i].offset &&
                                   whole.cuts[i].body_size == pieces.cuts[i].body_size,
                           "frame %zu differs", i);
        FUZZ_CHECK(whole.closed == pieces.closed, "closed differs");
        FUZZ_CHECK(whole.consumed == pieces.consumed || whole.closed, "consumed %zu at once, %zu in pieces",
                   whole.consumed, pieces.consumed);
        free(whole.cuts);
        free(pieces.cuts);
        return 0;
}
