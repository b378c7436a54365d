// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the control socket's request parser (src/api/http.c).
 * The first input byte seeds how the rest is cut into pieces; the rest is
 * a byte stream from a client (several pipelined requests, garbage, split
 * anywhere).  It is parsed twice, in one piece and in the cut pieces, and
 * both runs must agree (same requests, same final error); every request
 * must respect the limits and every error must be final.  Single-threaded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"

struct outcome {
	unsigned requests, continues;
	uint64_t digest; /* of every request's method, path, query, body */
	int error;
};

static uint64_t mix(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h ^ len;
}

static void check_request(const struct http_request *r, struct outcome *o)
{
	if (!r || !r->method || !r->path || !r->query || !r->body)
		abort();
	if (r->body_len > HTTP_MAX_BODY || r->body[r->body_len] != '\0')
		abort();
	if (strlen(r->path) > HTTP_MAX_HEADER || strlen(r->query) > HTTP_MAX_HEADER)
		abort();
	o->digest = mix(o->digest, r->method, strlen(r->method));
	o->digest = mix(o->digest, r->path, strlen(r->path));
	o->digest = mix(o->digest, r->query, strlen(r->query));
	o->digest = mix(o->digest, r->body, r->body_len);
	o->digest = mix(o->digest, &r->keep_alive, 1);
}

static void run(const uint8_t *data, size_t len, unsigned seed, struct outcome *o)
{
	struct http_conn_parser *p;
	size_t off = 0;

	memset(o, 0, sizeof(*o));
	if (http_conn_parser_create(&p))
		abort();
	while (off < len && !o->error) {
		/* seed 0: everything at once; otherwise pseudo-random pieces of 1..64 */
		size_t piece = len - off, want;

		if (seed) {
			seed = seed * 1103515245u + 12345u;
			want = (size_t)((seed >> 16) % 64) + 1;
			if (want < piece)
				piece = want;
		}
		while (piece) {
			size_t used = 0;
			enum http_parse_result r =
				http_conn_parser_feed(p, (const char *)data + off, piece, &used);

			if (used > piece)
				abort();
			off += used;
			piece -= used;
			switch (r) {
			case HTTP_PARSE_MORE:
				if (piece)
					abort();
				break;
			case HTTP_PARSE_CONTINUE:
				o->continues++;
				break;
			case HTTP_PARSE_REQUEST:
				check_request(http_conn_parser_request(p), o);
				o->requests++;
				http_conn_parser_next(p);
				break;
			case HTTP_PARSE_ERROR: {
				const char *msg = NULL;

				o->error = http_conn_parser_error(p, &msg);
				if (o->error < 400 || o->error > 599 || !msg || !*msg)
					abort();
				if (http_conn_parser_feed(p, "GET / HTTP/1.1\r\n\r\n", 18, &used) !=
					    HTTP_PARSE_ERROR ||
				    used)
					abort();
				piece = 0;
				break;
			}
			}
		}
	}
	http_conn_parser_destroy(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, cut;

	if (size < 1)
		return 0;
	run(data + 1, size - 1, 0, &whole);
	run(data + 1, size - 1, data[0] | 1u, &cut);
	if (whole.requests != cut.requests || whole.digest != cut.digest ||
	    whole.error != cut.error)
		abort();
	return 0;
}
