/* rtmp.c — RTMP server state machine for publishers, sans I/O; see rtmp.h.
 *
 *   publisher (ffmpeg, OBS)                         lsp (this file)
 *   ------------------------------------------------------------------------
 *   C0 (version 3) + C1 (1536 bytes)   ──▶   HS_C0C1
 *                                      ◀──   S0 + S1 + S2 (= C1 echoed)
 *   C2 (1536 bytes)                    ──▶   HS_C2 → WAIT_CONNECT
 *   [SetChunkSize]                     ──▶   (protocol control, any stage)
 *   connect(tx 1, {app, tcUrl…})       ──▶   EV_CONNECT → CONNECT_PENDING
 *                                            caller: accept / refuse
 *                                      ◀──   WindowAckSize, SetPeerBandwidth,
 *                                            SetChunkSize, _result(tx 1)  → READY
 *                                            (refuse: _error, → ENDED)
 *   releaseStream(key), FCPublish(key) ──▶   _result
 *   createStream(tx n)                 ──▶   _result(tx n, stream id 1)
 *   publish(tx, null, key, "live")     ──▶   EV_PUBLISH → PUBLISH_PENDING
 *                                            caller: accept / refuse
 *                                      ◀──   StreamBegin, onStatus
 *                                            NetStream.Publish.Start  → PUBLISHING
 *                                            (refuse: onStatus error + _error → ENDED)
 *                                            (refuse while publishing, e.g. a codec
 *                                            lsp cannot serve: onStatus error → ENDED)
 *   @setDataFrame onMetaData {…}       ──▶   EV_META
 *   audio (8) / video (9) messages     ──▶   EV_MEDIA (FLV tag bodies)
 *   FCUnpublish / deleteStream         ──▶   EV_UNPUBLISH → ENDED
 *
 * Chunk stream: each chunk is a basic header (fmt, chunk stream id), a
 * message header of 11/7/3/0 bytes by fmt, an optional extended timestamp,
 * then up to chunk-size payload bytes; messages are reassembled per chunk
 * stream.  We acknowledge received bytes per the peer's window. */
#include "ingest/rtmp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/amf0.h"

#define HS_SIZE 1536
#define MAX_PARTIAL (2 * LSP_RTMP_MAX_MSG) /* bytes held for partial messages, all streams */

struct chunk_stream {
	uint32_t id;
	int used, has_hdr, ext;
	uint32_t ts, delta, mlen, msid, got;
	uint8_t mtype;
	uint8_t *buf;
	size_t bufcap;
};

struct lsp_rtmp {
	int stage;
	uint8_t in[LSP_RTMP_IN_CAP];
	size_t in_off, in_len;
	uint8_t out[LSP_RTMP_OUT_CAP];
	size_t out_len;
	uint32_t epoch;
	uint64_t seed;
	uint32_t in_chunk, out_chunk;
	struct chunk_stream cs[LSP_RTMP_MAX_CS];
	struct chunk_stream *body;   /* non-NULL while inside a chunk's payload */
	uint32_t body_left;
	size_t partial_total;
	uint64_t bytes_in, acked;
	uint32_t window;
	double txn;                  /* of the pending connect/publish */
	uint32_t pub_msid;
	int streams;                 /* createStream count */
	char name[256];
};

static const char *stage_names[] = { "handshake_c0c1", "handshake_c2", "wait_connect",
				     "connect_pending", "ready", "publish_pending",
				     "publishing", "ended" };

const char *lsp_rtmp_stage_name(int s)
{
	return s >= 0 && s <= LSP_RTMP_ENDED ? stage_names[s] : "?";
}

int lsp_rtmp_stage(const lsp_rtmp *r) { return r->stage; }
uint64_t lsp_rtmp_bytes_in(const lsp_rtmp *r) { return r->bytes_in; }

lsp_rtmp *lsp_rtmp_new(uint32_t epoch_ms, uint64_t seed)
{
	lsp_rtmp *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->stage = LSP_RTMP_HS_C0C1;
	r->epoch = epoch_ms;
	r->seed = seed ? seed : 0x9e3779b97f4a7c15ull;
	r->in_chunk = 128;
	r->out_chunk = 128;
	r->window = 2500000;
	return r;
}

void lsp_rtmp_free(lsp_rtmp *r)
{
	if (!r)
		return;
	for (int i = 0; i < LSP_RTMP_MAX_CS; i++)
		free(r->cs[i].buf);
	free(r);
}

size_t lsp_rtmp_space(const lsp_rtmp *r)
{
	return LSP_RTMP_IN_CAP - r->in_len;
}

size_t lsp_rtmp_feed(lsp_rtmp *r, const uint8_t *p, size_t len)
{
	if (r->in_off > 0 && r->in_off + r->in_len + len > LSP_RTMP_IN_CAP) {
		memmove(r->in, r->in + r->in_off, r->in_len);
		r->in_off = 0;
	}
	size_t room = LSP_RTMP_IN_CAP - r->in_off - r->in_len;
	if (len > room)
		len = room;
	if (len)
		memcpy(r->in + r->in_off + r->in_len, p, len);
	r->in_len += len;
	return len;
}

const uint8_t *lsp_rtmp_out(const lsp_rtmp *r, size_t *len)
{
	*len = r->out_len;
	return r->out;
}

void lsp_rtmp_out_done(lsp_rtmp *r, size_t n)
{
	if (n >= r->out_len) {
		r->out_len = 0;
		return;
	}
	memmove(r->out, r->out + n, r->out_len - n);
	r->out_len -= n;
}

static void consume(lsp_rtmp *r, size_t n)
{
	r->in_off += n;
	r->in_len -= n;
	r->bytes_in += n;
	if (r->in_len == 0)
		r->in_off = 0;
}

static uint32_t rd_be(const uint8_t *p, int n)
{
	uint32_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void wr_be(uint8_t *p, uint32_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* ---- output --------------------------------------------------------- */

static int out_put(lsp_rtmp *r, const void *p, size_t n)
{
	if (LSP_RTMP_OUT_CAP - r->out_len < n)
		return -ENOBUFS;
	memcpy(r->out + r->out_len, p, n);
	r->out_len += n;
	return 0;
}

/* One message, chunked with our chunk size (csid < 64). */
static int send_msg(lsp_rtmp *r, int csid, uint8_t type, uint32_t msid, const uint8_t *p, size_t n)
{
	uint8_t h[12];
	size_t off = 0, room = 12;
	if (n > 0xffffff)
		return -EINVAL;
	/* Worst case size check up front so a message is never half-queued. */
	room += n + (n / r->out_chunk + 1);
	if (LSP_RTMP_OUT_CAP - r->out_len < room)
		return -ENOBUFS;
	h[0] = (uint8_t)csid; /* fmt 0 */
	wr_be(h + 1, 0, 3);
	wr_be(h + 4, (uint32_t)n, 3);
	h[7] = type;
	h[8] = (uint8_t)msid; /* message stream id is little-endian */
	h[9] = (uint8_t)(msid >> 8);
	h[10] = (uint8_t)(msid >> 16);
	h[11] = (uint8_t)(msid >> 24);
	out_put(r, h, 12);
	for (;;) {
		size_t c = n - off < r->out_chunk ? n - off : r->out_chunk;
		out_put(r, p + off, c);
		off += c;
		if (off >= n)
			break;
		h[0] = (uint8_t)(0xc0 | csid); /* fmt 3 continuation */
		out_put(r, h, 1);
	}
	return 0;
}

static int send_ctrl32(lsp_rtmp *r, uint8_t type, uint32_t v)
{
	uint8_t b[4];
	wr_be(b, v, 4);
	return send_msg(r, 2, type, 0, b, 4);
}

static int send_user_ctrl(lsp_rtmp *r, uint16_t ev, uint32_t v)
{
	uint8_t b[6];
	wr_be(b, ev, 2);
	wr_be(b + 2, v, 4);
	return send_msg(r, 2, 4, 0, b, 6);
}

static int send_amf(lsp_rtmp *r, int csid, uint32_t msid, lsp_amf0_wr *w)
{
	if (w->err)
		return -ENOBUFS;
	return send_msg(r, csid, 20, msid, w->p, w->len);
}

static void put_status(lsp_amf0_wr *w, const char *level, const char *code, const char *desc)
{
	lsp_amf0_put_object_begin(w);
	lsp_amf0_put_key(w, "level");
	lsp_amf0_put_string(w, level);
	lsp_amf0_put_key(w, "code");
	lsp_amf0_put_string(w, code);
	lsp_amf0_put_key(w, "description");
	lsp_amf0_put_string(w, desc);
	lsp_amf0_put_object_end(w);
}

static int send_result_simple(lsp_rtmp *r, double txn, int with_num, double num)
{
	uint8_t b[128];
	lsp_amf0_wr w;
	lsp_amf0_wr_init(&w, b, sizeof b);
	lsp_amf0_put_string(&w, "_result");
	lsp_amf0_put_number(&w, txn);
	lsp_amf0_put_null(&w);
	if (with_num)
		lsp_amf0_put_number(&w, num);
	else
		lsp_amf0_put_null(&w);
	return send_amf(r, 3, 0, &w);
}

/* ---- decisions ------------------------------------------------------ */

int lsp_rtmp_accept(lsp_rtmp *r)
{
	uint8_t b[512];
	lsp_amf0_wr w;
	int rc;
	lsp_amf0_wr_init(&w, b, sizeof b);
	if (r->stage == LSP_RTMP_CONNECT_PENDING) {
		if ((rc = send_ctrl32(r, 5, 2500000)) < 0)
			return rc;
		{
			uint8_t bw[5];
			wr_be(bw, 2500000, 4);
			bw[4] = 2; /* dynamic */
			if ((rc = send_msg(r, 2, 6, 0, bw, 5)) < 0)
				return rc;
		}
		if ((rc = send_ctrl32(r, 1, LSP_RTMP_OUT_CHUNK)) < 0)
			return rc;
		r->out_chunk = LSP_RTMP_OUT_CHUNK;
		lsp_amf0_put_string(&w, "_result");
		lsp_amf0_put_number(&w, r->txn);
		lsp_amf0_put_object_begin(&w);
		lsp_amf0_put_key(&w, "fmsVer");
		lsp_amf0_put_string(&w, "FMS/3,0,1,123");
		lsp_amf0_put_key(&w, "capabilities");
		lsp_amf0_put_number(&w, 31);
		lsp_amf0_put_object_end(&w);
		lsp_amf0_put_object_begin(&w);
		lsp_amf0_put_key(&w, "level");
		lsp_amf0_put_string(&w, "status");
		lsp_amf0_put_key(&w, "code");
		lsp_amf0_put_string(&w, "NetConnection.Connect.Success");
		lsp_amf0_put_key(&w, "description");
		lsp_amf0_put_string(&w, "Connection succeeded.");
		lsp_amf0_put_key(&w, "objectEncoding");
		lsp_amf0_put_number(&w, 0);
		lsp_amf0_put_object_end(&w);
		if ((rc = send_amf(r, 3, 0, &w)) < 0)
			return rc;
		r->stage = LSP_RTMP_READY;
		return 0;
	}
	if (r->stage == LSP_RTMP_PUBLISH_PENDING) {
		if ((rc = send_user_ctrl(r, 0, r->pub_msid)) < 0)
			return rc;
		lsp_amf0_put_string(&w, "onStatus");
		lsp_amf0_put_number(&w, 0);
		lsp_amf0_put_null(&w);
		put_status(&w, "status", "NetStream.Publish.Start", "Publishing.");
		if ((rc = send_amf(r, 5, r->pub_msid, &w)) < 0)
			return rc;
		r->stage = LSP_RTMP_PUBLISHING;
		return 0;
	}
	return -EINVAL;
}

int lsp_rtmp_refuse(lsp_rtmp *r, const char *code, const char *desc)
{
	uint8_t b[512];
	lsp_amf0_wr w;
	int rc;
	if (r->stage != LSP_RTMP_CONNECT_PENDING && r->stage != LSP_RTMP_PUBLISH_PENDING &&
	    r->stage != LSP_RTMP_PUBLISHING)
		return -EINVAL;
	if (r->stage == LSP_RTMP_PUBLISH_PENDING || r->stage == LSP_RTMP_PUBLISHING) {
		lsp_amf0_wr_init(&w, b, sizeof b);
		lsp_amf0_put_string(&w, "onStatus");
		lsp_amf0_put_number(&w, 0);
		lsp_amf0_put_null(&w);
		put_status(&w, "error", code, desc);
		if ((rc = send_amf(r, 5, r->pub_msid, &w)) < 0)
			return rc;
		if (r->stage == LSP_RTMP_PUBLISHING) { /* no command is waiting for an answer */
			r->stage = LSP_RTMP_ENDED;
			return 0;
		}
	}
	lsp_amf0_wr_init(&w, b, sizeof b);
	lsp_amf0_put_string(&w, "_error");
	lsp_amf0_put_number(&w, r->txn);
	lsp_amf0_put_null(&w);
	put_status(&w, "error", code, desc);
	if ((rc = send_amf(r, 3, 0, &w)) < 0)
		return rc;
	r->stage = LSP_RTMP_ENDED;
	return 0;
}

/* ---- messages ------------------------------------------------------- */

static int fail(char *err, size_t cap, int rc, const char *msg)
{
	snprintf(err, cap, "%s", msg);
	return rc;
}

/* onMetaData's videocodecid/audiocodecid: a legacy FLV id, a FourCC as a
 * number (E-RTMP) or as a 4-character string; -1 absent or unreadable. */
static int64_t codec_id(const lsp_amf0_val *obj, const char *key)
{
	lsp_amf0_val x;
	if (lsp_amf0_prop(obj, key, &x) != 0)
		return -1;
	if (x.type == LSP_AMF0_NUMBER && x.num >= 0 && x.num <= 4294967295.0 && x.num == (double)(int64_t)x.num)
		return (int64_t)x.num;
	if (x.type == LSP_AMF0_STRING && x.slen == 4)
		return (int64_t)((uint32_t)(uint8_t)x.str[0] << 24 | (uint32_t)(uint8_t)x.str[1] << 16 |
				 (uint32_t)(uint8_t)x.str[2] << 8 | (uint8_t)x.str[3]);
	return -1;
}

static void meta_event(const uint8_t *p, size_t len, lsp_rtmp_event *ev)
{
	lsp_amf0_rd rd;
	lsp_amf0_val v, x;
	lsp_amf0_rd_init(&rd, p, len);
	memset(ev, 0, sizeof *ev);
	ev->type = LSP_RTMP_EV_META;
	ev->vcodec = ev->acodec = -1;
	while (lsp_amf0_next(&rd, &v) == 0) {
		if (v.type != LSP_AMF0_OBJECT && v.type != LSP_AMF0_ECMA_ARRAY)
			continue;
		if (lsp_amf0_prop(&v, "width", &x) == 0 && x.type == LSP_AMF0_NUMBER)
			ev->width = x.num;
		if (lsp_amf0_prop(&v, "height", &x) == 0 && x.type == LSP_AMF0_NUMBER)
			ev->height = x.num;
		if (lsp_amf0_prop(&v, "framerate", &x) == 0 && x.type == LSP_AMF0_NUMBER)
			ev->fps = x.num;
		ev->vcodec = codec_id(&v, "videocodecid");
		ev->acodec = codec_id(&v, "audiocodecid");
		break;
	}
}

static int is_cmd(const lsp_amf0_val *v, const char *s)
{
	size_t n = strlen(s);
	return v->type == LSP_AMF0_STRING && v->slen == n && memcmp(v->str, s, n) == 0;
}

/* 1 with an event, 0 without, negative on violation. */
static int on_command(lsp_rtmp *r, uint32_t msid, const uint8_t *p, size_t len, lsp_rtmp_event *ev,
		      char *err, size_t errcap)
{
	lsp_amf0_rd rd;
	lsp_amf0_val name, txn, obj, arg;
	int rc;
	lsp_amf0_rd_init(&rd, p, len);
	if (lsp_amf0_next(&rd, &name) < 0 || name.type != LSP_AMF0_STRING)
		return fail(err, errcap, -EPROTO, "command without a name");
	if (lsp_amf0_next(&rd, &txn) < 0 || txn.type != LSP_AMF0_NUMBER)
		return fail(err, errcap, -EPROTO, "command without a transaction id");
	if (is_cmd(&name, "connect")) {
		if (r->stage != LSP_RTMP_WAIT_CONNECT)
			return fail(err, errcap, -EPROTO, "connect out of order");
		if (lsp_amf0_next(&rd, &obj) < 0 || obj.type != LSP_AMF0_OBJECT)
			return fail(err, errcap, -EPROTO, "connect without an object");
		memset(ev, 0, sizeof *ev);
		ev->type = LSP_RTMP_EV_CONNECT;
		if (lsp_amf0_prop(&obj, "app", &arg) == 0)
			lsp_amf0_cstr(&arg, ev->app, sizeof ev->app);
		if (lsp_amf0_prop(&obj, "tcUrl", &arg) == 0)
			lsp_amf0_cstr(&arg, ev->tcurl, sizeof ev->tcurl);
		size_t n = strlen(ev->app);
		while (n > 0 && ev->app[n - 1] == '/')
			ev->app[--n] = 0;
		r->txn = txn.num;
		r->stage = LSP_RTMP_CONNECT_PENDING;
		return 1;
	}
	if (r->stage < LSP_RTMP_READY)
		return fail(err, errcap, -EPROTO, "command before connect");
	if (is_cmd(&name, "releaseStream") || is_cmd(&name, "FCPublish")) {
		if (txn.num != 0 && (rc = send_result_simple(r, txn.num, 0, 0)) < 0)
			return fail(err, errcap, rc, "output buffer full");
		return 0;
	}
	if (is_cmd(&name, "createStream")) {
		if (r->streams >= 8)
			return fail(err, errcap, -EPROTO, "too many createStream");
		r->streams++;
		if ((rc = send_result_simple(r, txn.num, 1, r->streams)) < 0)
			return fail(err, errcap, rc, "output buffer full");
		return 0;
	}
	if (is_cmd(&name, "publish")) {
		char *q;
		if (r->stage != LSP_RTMP_READY)
			return fail(err, errcap, -EPROTO, "publish out of order");
		if (msid == 0 || (int)msid > r->streams)
			return fail(err, errcap, -EPROTO, "publish on a stream never created");
		if (lsp_amf0_next(&rd, &obj) < 0 || lsp_amf0_next(&rd, &arg) < 0)
			return fail(err, errcap, -EPROTO, "publish without a name");
		memset(ev, 0, sizeof *ev);
		ev->type = LSP_RTMP_EV_PUBLISH;
		if (lsp_amf0_cstr(&arg, ev->name, sizeof ev->name) < 0)
			return fail(err, errcap, -EPROTO, "publish name not a short string");
		if ((q = strchr(ev->name, '?')) != NULL)
			*q = 0;
		r->txn = txn.num;
		r->pub_msid = msid;
		r->stage = LSP_RTMP_PUBLISH_PENDING;
		return 1;
	}
	if (is_cmd(&name, "FCUnpublish") || is_cmd(&name, "deleteStream") || is_cmd(&name, "closeStream")) {
		if (r->stage != LSP_RTMP_PUBLISHING)
			return 0;
		memset(ev, 0, sizeof *ev);
		ev->type = LSP_RTMP_EV_UNPUBLISH;
		r->stage = LSP_RTMP_ENDED;
		return 1;
	}
	return 0; /* other commands (_checkbw, getStreamLength, …) are ignored */
}

static int on_message(lsp_rtmp *r, struct chunk_stream *c, lsp_rtmp_event *ev, char *err, size_t errcap)
{
	const uint8_t *p = c->buf;
	size_t n = c->mlen;
	switch (c->mtype) {
	case 1: { /* set chunk size */
		uint32_t v;
		if (n < 4)
			return fail(err, errcap, -EPROTO, "short SetChunkSize");
		v = rd_be(p, 4) & 0x7fffffff;
		if (v < 1 || v > LSP_RTMP_MAX_MSG)
			return fail(err, errcap, -EPROTO, "chunk size out of bounds");
		r->in_chunk = v;
		return 0;
	}
	case 2: /* abort */
		if (n >= 4) {
			uint32_t id = rd_be(p, 4);
			for (int i = 0; i < LSP_RTMP_MAX_CS; i++)
				if (r->cs[i].used && r->cs[i].id == id && &r->cs[i] != c)
					r->cs[i].got = 0;
		}
		return 0;
	case 4: /* user control: answer ping requests */
		if (n >= 6 && rd_be(p, 2) == 6) {
			uint8_t b[6];
			wr_be(b, 7, 2);
			memcpy(b + 2, p + 2, 4);
			if (send_msg(r, 2, 4, 0, b, 6) < 0)
				return fail(err, errcap, -ENOBUFS, "output buffer full");
		}
		return 0;
	case 5: /* window acknowledgement size */
		if (n >= 4) {
			uint32_t w = rd_be(p, 4);
			r->window = w < 4096 ? 4096 : w;
		}
		return 0;
	case 8:
	case 9:
		if (r->stage != LSP_RTMP_PUBLISHING || c->msid != r->pub_msid)
			return 0;
		memset(ev, 0, sizeof *ev);
		ev->type = LSP_RTMP_EV_MEDIA;
		ev->kind = c->mtype;
		ev->ts = c->ts;
		ev->data = p;
		ev->len = n;
		return 1;
	case 15: /* AMF3 data: one marker byte then AMF0 */
	case 18:
		if (r->stage != LSP_RTMP_PUBLISHING)
			return 0;
		if (c->mtype == 15) {
			if (n < 1)
				return 0;
			p++, n--;
		}
		meta_event(p, n, ev);
		return ev->width > 0 || ev->height > 0 || ev->fps > 0 || ev->vcodec >= 0 || ev->acodec >= 0;
	case 17: /* AMF3 command: one marker byte then AMF0 */
		if (n < 1)
			return fail(err, errcap, -EPROTO, "empty AMF3 command");
		return on_command(r, c->msid, p + 1, n - 1, ev, err, errcap);
	case 20:
		return on_command(r, c->msid, p, n, ev, err, errcap);
	default:
		return 0; /* acks, peer bandwidth, aggregates, shared objects: ignored */
	}
}

static struct chunk_stream *find_cs(lsp_rtmp *r, uint32_t id)
{
	struct chunk_stream *fr = NULL;
	for (int i = 0; i < LSP_RTMP_MAX_CS; i++) {
		if (r->cs[i].used && r->cs[i].id == id)
			return &r->cs[i];
		if (!r->cs[i].used && !fr)
			fr = &r->cs[i];
	}
	if (fr) {
		memset(fr, 0, sizeof *fr);
		fr->used = 1;
		fr->id = id;
	}
	return fr;
}

/* Parse one chunk header if the whole of it is buffered. 1 done, 0 need more. */
static int chunk_header(lsp_rtmp *r, char *err, size_t errcap)
{
	const uint8_t *p = r->in + r->in_off;
	size_t avail = r->in_len, off = 1, mh;
	int fmt;
	uint32_t id, tsf = 0;
	struct chunk_stream *c;
	static const size_t mh_size[4] = { 11, 7, 3, 0 };

	if (avail < 1)
		return 0;
	fmt = p[0] >> 6;
	id = p[0] & 63;
	if (id == 0) {
		if (avail < 2)
			return 0;
		id = 64 + p[1];
		off = 2;
	} else if (id == 1) {
		if (avail < 3)
			return 0;
		id = 64 + p[1] + 256u * p[2];
		off = 3;
	}
	mh = mh_size[fmt];
	if (avail < off + mh)
		return 0;
	if (!(c = find_cs(r, id)))
		return fail(err, errcap, -EPROTO, "too many chunk streams");
	if (fmt != 0 && !c->has_hdr)
		return fail(err, errcap, -EPROTO, "chunk continues an unknown stream");
	if (fmt <= 2)
		tsf = rd_be(p + off, 3);
	{
		int ext = fmt <= 2 ? tsf == 0xffffff : c->ext;
		size_t need = off + mh + (ext ? 4 : 0);
		if (avail < need)
			return 0;
		if (ext)
			tsf = rd_be(p + off + mh, 4);
		if (fmt <= 2)
			c->ext = ext;
		if (fmt <= 1) {
			uint32_t len = rd_be(p + off + 3, 3);
			if (c->got && len != c->mlen)
				return fail(err, errcap, -EPROTO, "message header changed mid-message");
			if (len > LSP_RTMP_MAX_MSG)
				return fail(err, errcap, -EMSGSIZE, "message too large");
			c->mlen = len;
			c->mtype = p[off + 6];
		}
		if (fmt == 0)
			c->msid = (uint32_t)p[off + 7] | (uint32_t)p[off + 8] << 8 |
				  (uint32_t)p[off + 9] << 16 | (uint32_t)p[off + 10] << 24;
		if (c->got == 0) { /* a new message starts */
			if (fmt == 0) {
				c->ts = tsf;
				c->delta = 0;
			} else if (fmt <= 2) {
				c->delta = tsf;
				c->ts += tsf;
			} else {
				c->ts += c->delta;
			}
			if (c->bufcap < c->mlen) {
				uint8_t *nb;
				if (r->partial_total - c->bufcap + c->mlen > MAX_PARTIAL)
					return fail(err, errcap, -EMSGSIZE, "too much partial message data");
				if (!(nb = realloc(c->buf, c->mlen ? c->mlen : 1)))
					return fail(err, errcap, -ENOMEM, "out of memory");
				r->partial_total = r->partial_total - c->bufcap + c->mlen;
				c->buf = nb;
				c->bufcap = c->mlen;
			}
		}
		c->has_hdr = 1;
		consume(r, need);
	}
	r->body = c;
	r->body_left = c->mlen - c->got < r->in_chunk ? c->mlen - c->got : r->in_chunk;
	return 1;
}

int lsp_rtmp_step(lsp_rtmp *r, lsp_rtmp_event *ev, char *err, size_t errcap)
{
	int rc;
	for (;;) {
		switch (r->stage) {
		case LSP_RTMP_HS_C0C1: {
			uint8_t s[1 + 2 * HS_SIZE];
			if (r->in_len < 1 + HS_SIZE)
				return 0;
			if (r->in[r->in_off] != 3)
				return fail(err, errcap, -EPROTO, "unsupported RTMP version");
			s[0] = 3;
			wr_be(s + 1, r->epoch, 4);
			memset(s + 5, 0, 4);
			for (int i = 9; i < 1 + HS_SIZE; i++) {
				r->seed ^= r->seed << 13;
				r->seed ^= r->seed >> 7;
				r->seed ^= r->seed << 17;
				s[i] = (uint8_t)r->seed;
			}
			memcpy(s + 1 + HS_SIZE, r->in + r->in_off + 1, HS_SIZE); /* S2 = C1 */
			if (out_put(r, s, sizeof s) < 0)
				return fail(err, errcap, -ENOBUFS, "output buffer full");
			consume(r, 1 + HS_SIZE);
			r->stage = LSP_RTMP_HS_C2;
			break;
		}
		case LSP_RTMP_HS_C2:
			if (r->in_len < HS_SIZE)
				return 0;
			consume(r, HS_SIZE);
			r->stage = LSP_RTMP_WAIT_CONNECT;
			break;
		case LSP_RTMP_CONNECT_PENDING:
		case LSP_RTMP_PUBLISH_PENDING:
		case LSP_RTMP_ENDED:
			return 0;
		default:
			if (r->bytes_in - r->acked >= r->window) {
				if (send_ctrl32(r, 3, (uint32_t)r->bytes_in) < 0)
					return fail(err, errcap, -ENOBUFS, "output buffer full");
				r->acked = r->bytes_in;
			}
			if (!r->body) {
				if ((rc = chunk_header(r, err, errcap)) <= 0)
					return rc;
			}
			{
				struct chunk_stream *c = r->body;
				size_t n = r->in_len < r->body_left ? r->in_len : r->body_left;
				if (n) {
					memcpy(c->buf + c->got, r->in + r->in_off, n);
					c->got += (uint32_t)n;
					r->body_left -= (uint32_t)n;
					consume(r, n);
				}
				if (r->body_left > 0)
					return 0;
				r->body = NULL;
				if (c->got == c->mlen) {
					c->got = 0;
					rc = on_message(r, c, ev, err, errcap);
					if (rc != 0)
						return rc;
				}
			}
			break;
		}
	}
}
