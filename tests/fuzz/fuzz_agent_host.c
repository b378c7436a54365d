// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: what Clone parses from clone-agent (src/api/agent_proto.c).
 * The input is a byte stream as it comes off a vsock connection: it is
 * split into frames with ap_frame_parse() and each frame is decoded with
 * the host-side decoder of its type (HELLO, REPORT, ACK, STARTED, EXIT,
 * ERROR); whatever decodes is encoded again and must decode to the same
 * values.  The same bytes then go through the stream reassembly both ends
 * use (ap_rbuf) in chunks whose sizes the input picks, which must yield
 * the same frames.  Single-threaded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/agent_proto.h"

static uint8_t out[AP_MAX_FRAME];

static struct ap_frame reparse(long n)
{
	struct ap_frame f;

	if (n <= 0 || ap_frame_parse(out, (size_t)n, &f) != n)
		abort();
	return f;
}

static void one(const struct ap_frame *f)
{
	struct ap_frame g;

	switch (f->type) {
	case AP_HELLO: {
		struct ap_hello h, h2;

		if (ap_decode_hello(f, &h))
			return;
		g = reparse(ap_encode_hello(out, sizeof(out), &h));
		if (ap_decode_hello(&g, &h2) || h2.version != h.version ||
		    memcmp(h2.token, h.token, AP_TOKEN_LEN) || strcmp(h2.hostname, h.hostname) ||
		    strcmp(h2.kernel, h.kernel) || strcmp(h2.agent_version, h.agent_version))
			abort();
		break;
	}
	case AP_REPORT: {
		struct ap_report r, r2;

		if (ap_decode_report(f, &r))
			return;
		g = reparse(ap_encode_report(out, sizeof(out), &r));
		if (ap_decode_report(&g, &r2) || r2.seq != r.seq || r2.active != r.active ||
		    r2.mem_total != r.mem_total || r2.load[2] != r.load[2])
			abort();
		break;
	}
	case AP_ACK: {
		struct ap_ack a, a2;

		if (ap_decode_ack(f, &a))
			return;
		g = reparse(ap_encode_ack(out, sizeof(out), &a));
		if (ap_decode_ack(&g, &a2) || a2.status != a.status || a2.req_id != a.req_id ||
		    strcmp(a2.message, a.message))
			abort();
		break;
	}
	case AP_STARTED: {
		uint32_t pid, pid2;

		if (ap_decode_started(f, &pid))
			return;
		g = reparse(ap_encode_started(out, sizeof(out), pid));
		if (ap_decode_started(&g, &pid2) || pid2 != pid)
			abort();
		break;
	}
	case AP_EXIT: {
		struct ap_exit e, e2;

		if (ap_decode_exit(f, &e))
			return;
		g = reparse(ap_encode_exit(out, sizeof(out), &e));
		if (ap_decode_exit(&g, &e2) || e2.signaled != e.signaled || e2.code != e.code ||
		    e2.core != e.core)
			abort();
		break;
	}
	case AP_ERROR: {
		struct ap_error e, e2;

		if (ap_decode_error(f, &e))
			return;
		g = reparse(ap_encode_error(out, sizeof(out), &e));
		if (ap_decode_error(&g, &e2) || e2.status != e.status ||
		    strcmp(e2.message, e.message))
			abort();
		break;
	}
	case AP_STDOUT:
	case AP_STDERR:
		if (f->len > AP_MAX_PAYLOAD)
			abort();
		break;
	default:
		(void)ap_type_name(f->type);
		break;
	}
}

static struct ap_rbuf rx;
static unsigned direct_frames, stream_frames;

/* Feed n bytes to rx, taking every whole frame; false once the stream is broken. */
static bool feed(const uint8_t *p, size_t n)
{
	while (n) {
		struct ap_frame f;
		size_t room;
		uint8_t *dst = ap_rbuf_space(&rx, &room);
		size_t take = n < room ? n : room;
		int r;

		memcpy(dst, p, take);
		ap_rbuf_fill(&rx, take);
		p += take;
		n -= take;
		while ((r = ap_rbuf_next(&rx, &f)) > 0) {
			stream_frames++;
			one(&f);
		}
		if (r < 0)
			return false;
		if (!take)
			abort(); /* a whole frame always fits */
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *all = data;
	size_t all_size = size, off = 0;
	bool broken = false;
	struct ap_frame f;

	direct_frames = stream_frames = 0;
	while (size) {
		long n = ap_frame_parse(data, size, &f);

		if (n <= 0)
			break; /* incomplete (wait for more) or a fatal header error */
		if ((size_t)n > size || f.payload != data + AP_HDR_SIZE || f.flags)
			abort();
		one(&f);
		direct_frames++;
		data += n;
		size -= (size_t)n;
	}
	if (size && ap_frame_parse(data, size, &f) < 0)
		broken = true;

	ap_rbuf_init(&rx);
	while (off < all_size) {
		size_t chunk = 1 + (all[off] % 97) * 37;

		if (chunk > all_size - off)
			chunk = all_size - off;
		if (!feed(all + off, chunk))
			break;
		off += chunk;
	}
	/* Up to the first broken header both see the same frames. */
	if (stream_frames != direct_frames || (!broken && off != all_size))
		abort();
	return 0;
}
