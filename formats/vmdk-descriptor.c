/* VMDK descriptor files: VMware "Virtual Disk Format 1.1", section
 * "The Descriptor File" (header lines, extent descriptions, the disk
 * database), parsed the way VMware and qemu write them and written the way
 * VMware's own tools lay them out. */
#define _GNU_SOURCE
#include <errno.h>
#include <iconv.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/bytes.h"
#include "formats/vmdk.h"

static const char *const type_names[] = {
	[VMDK_EXT_FLAT] = "FLAT",
	[VMDK_EXT_SPARSE] = "SPARSE",
	[VMDK_EXT_ZERO] = "ZERO",
	[VMDK_EXT_VMFS] = "VMFS",
	[VMDK_EXT_VMFSSPARSE] = "VMFSSPARSE",
	[VMDK_EXT_SESPARSE] = "SESPARSE",
	[VMDK_EXT_VMFSRDM] = "VMFSRDM",
	[VMDK_EXT_VMFSRAW] = "VMFSRAW",
};

static const char *const access_names[] = {
	[VMDK_RW] = "RW",
	[VMDK_RDONLY] = "RDONLY",
	[VMDK_NOACCESS] = "NOACCESS",
};

const char *vmdk_ext_type_name(enum vmdk_ext_type t)
{
	return type_names[t];
}

const char *vmdk_access_name(enum vmdk_access a)
{
	return access_names[a];
}

void vmdk_desc_free(struct vmdk_desc *d)
{
	for (size_t i = 0; i < d->n_ext; i++)
		free(d->ext[i].file);
	for (size_t i = 0; i < d->n_kv; i++) {
		free(d->kv[i].key);
		free(d->kv[i].value);
	}
	free(d->ext);
	free(d->kv);
	free(d->encoding);
	free(d->create_type);
	free(d->parent_hint);
	memset(d, 0, sizeof(*d));
}

const char *vmdk_desc_get(const struct vmdk_desc *d, const char *key)
{
	/* The last definition wins, as it does for VMware. */
	for (size_t i = d->n_kv; i-- > 0;)
		if (!strcasecmp(d->kv[i].key, key))
			return d->kv[i].value;
	return NULL;
}

/* windows-1252 bytes 0x80..0x9f; 0 marks the five undefined ones, which
 * are passed through as the C1 control of the same value. */
static const uint16_t cp1252[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

static char *cp1252_to_utf8(const char *s, size_t len)
{
	char *out = malloc(len * 3 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned c = (uint8_t)s[i];

		if (c >= 0x80 && c < 0xa0 && cp1252[c - 0x80])
			c = cp1252[c - 0x80];
		if (c < 0x80) {
			*o++ = (char)c;
		} else if (c < 0x800) {
			*o++ = (char)(0xc0 | (c >> 6));
			*o++ = (char)(0x80 | (c & 0x3f));
		} else {
			*o++ = (char)(0xe0 | (c >> 12));
			*o++ = (char)(0x80 | ((c >> 6) & 0x3f));
			*o++ = (char)(0x80 | (c & 0x3f));
		}
	}
	*o = 0;
	return out;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* A line's text without surrounding blanks. */
struct line {
	const char *p;
	size_t len;
	unsigned no;
};

static char *dup_n(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

/* Find the encoding line before converting: its value decides how the
 * rest is read.  Only needs to recognise the line, not validate it. */
static bool find_encoding(const char *t, size_t len, char *out, size_t cap)
{
	const char *p = t, *end = t + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;

		while (p < e && is_space(*p))
			p++;
		if ((size_t)(e - p) > 8 && !strncasecmp(p, "encoding", 8)) {
			const char *v = p + 8;
			size_t n = 0;

			while (v < e && (is_space(*v) || *v == '=' ||
					 *v == '"'))
				v++;
			while (v + n < e && n + 1 < cap && v[n] != '"' &&
			       !is_space(v[n]))
				n++;
			memcpy(out, v, n);
			out[n] = 0;
			return n > 0;
		}
		p = e + 1;
	}
	return false;
}

/* Any other encoding VMware writes (Shift_JIS, GBK, Big5, ...) through
 * the C library's converters. */
static char *iconv_to_utf8(const char *s, size_t len, const char *enc,
			   const char *name, struct vmc_error *err)
{
	iconv_t cd = iconv_open("UTF-8", enc);
	size_t cap = len * 4 + 1, left = cap - 1;
	char *out, *o, *in = (char *)s;

	if (cd == (iconv_t)-1) {
		vmc_error_set(err, ENOTSUP,
			"%s: descriptor encoding '%.32s' is not supported",
			name, enc);
		return NULL;
	}
	out = malloc(cap);
	o = out;
	if (!out) {
		iconv_close(cd);
		vmc_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	if (iconv(cd, &in, &len, &o, &left) == (size_t)-1) {
		vmc_error_set(err, EILSEQ,
			"%s: descriptor is not valid %.32s text (byte offset"
			" %zu)", name, enc, (size_t)(in - s));
		free(out);
		out = NULL;
	} else {
		*o = 0;
	}
	iconv_close(cd);
	return out;
}

static int parse_u64(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (vmc_mul_overflow(v, 10, &v) ||
		    vmc_add_overflow(v, (uint64_t)(p[i] - '0'), &v))
			return -1;
	}
	*out = v;
	return 0;
}

static int parse_cid(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 8)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -1;
		v = v * 16 + d;
	}
	*out = (uint32_t)v;
	return 0;
}

static int bad(struct vmc_error *err, const char *name, unsigned no,
	       const char *what)
{
	return vmc_error_set(err, EINVAL, "%s: descriptor line %u: %s", name,
			     no, what);
}

/* Room for element n of an array of n elements: capacities are powers
 * of two, so a descriptor of many lines costs linear time. */
static void *grow(void *a, size_t n, size_t size)
{
	if (n && (n & (n - 1)))
		return a;
	return realloc(a, (n ? 2 * n : 1) * size);
}

/* RW 4192256 SPARSE "disk-s001.vmdk" [offset] */
static int parse_extent(struct vmdk_desc *d, struct line *l,
			const char *name, struct vmc_error *err)
{
	const char *p = l->p, *end = l->p + l->len, *tok;
	struct vmdk_desc_extent x = { 0 };
	size_t i, n;
	void *nx;

	tok = p;
	while (p < end && !is_space(*p))
		p++;
	n = (size_t)(p - tok);
	for (i = 0; i < VMC_ARRAY_SIZE(access_names); i++)
		if (n == strlen(access_names[i]) &&
		    !strncmp(tok, access_names[i], n))
			break;
	x.access = (enum vmdk_access)i;
	while (p < end && is_space(*p))
		p++;
	tok = p;
	while (p < end && !is_space(*p))
		p++;
	if (parse_u64(tok, (size_t)(p - tok), &x.sectors) < 0 ||
	    x.sectors > (UINT64_MAX >> 9))
		return bad(err, name, l->no, "extent size is not a number of"
			   " sectors");
	while (p < end && is_space(*p))
		p++;
	tok = p;
	while (p < end && !is_space(*p))
		p++;
	n = (size_t)(p - tok);
	for (i = 0; i < VMC_ARRAY_SIZE(type_names); i++)
		if (n == strlen(type_names[i]) &&
		    !strncasecmp(tok, type_names[i], n))
			break;
	if (i == VMC_ARRAY_SIZE(type_names)) {
		char msg[96];

		snprintf(msg, sizeof(msg), "unknown extent type '%.*s'",
			 (int)VMC_MIN(n, 40), tok);
		return bad(err, name, l->no, msg);
	}
	x.type = (enum vmdk_ext_type)i;
	while (p < end && is_space(*p))
		p++;
	if (p < end && *p == '"') {
		const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));

		if (!q)
			return bad(err, name, l->no,
				   "extent file name has no closing quote");
		if (q > p + 1) {
			x.file = dup_n(p + 1, (size_t)(q - p - 1));
			if (!x.file)
				return vmc_error_set(err, ENOMEM,
						     "out of memory");
		}
		p = q + 1;
		while (p < end && is_space(*p))
			p++;
		tok = p;
		while (p < end && !is_space(*p))
			p++;
		if (p > tok && parse_u64(tok, (size_t)(p - tok),
					 &x.offset) < 0) {
			free(x.file);
			return bad(err, name, l->no,
				   "extent offset is not a number");
		}
		while (p < end && is_space(*p))
			p++;
		/* VMFSRDM / VMFSRAW lines may carry more fields; anything
		 * else after the offset is a mistake. */
		if (p < end && x.type != VMDK_EXT_VMFSRDM &&
		    x.type != VMDK_EXT_VMFSRAW) {
			free(x.file);
			return bad(err, name, l->no,
				   "unexpected text after the extent");
		}
	} else if (p < end) {
		return bad(err, name, l->no,
			   "extent file name is not quoted");
	}
	if (!x.file && x.type != VMDK_EXT_ZERO)
		return bad(err, name, l->no, "extent has no file name");
	if (d->n_ext == VMDK_MAX_EXTENTS) {
		free(x.file);
		return bad(err, name, l->no, "too many extents");
	}
	nx = grow(d->ext, d->n_ext, sizeof(*d->ext));
	if (!nx) {
		free(x.file);
		return vmc_error_set(err, ENOMEM, "out of memory");
	}
	d->ext = nx;
	d->ext[d->n_ext++] = x;
	return 0;
}

static int add_kv(struct vmdk_desc *d, struct line *l, const char *eq,
		  const char *name, struct vmc_error *err)
{
	const char *k = l->p, *ke = eq, *v = eq + 1, *ve = l->p + l->len;
	struct vmdk_kv kv;
	void *nkv;

	while (ke > k && is_space(ke[-1]))
		ke--;
	while (v < ve && is_space(*v))
		v++;
	if (ke == k)
		return bad(err, name, l->no, "empty key before '='");
	for (const char *c = k; c < ke; c++)
		if (is_space(*c) || *c == '"')
			return bad(err, name, l->no, "malformed key");
	if (v < ve && *v == '"') {
		if (ve - v < 2 || ve[-1] != '"')
			return bad(err, name, l->no,
				   "value has no closing quote");
		v++;
		ve--;
	}
	kv.key = dup_n(k, (size_t)(ke - k));
	kv.value = dup_n(v, (size_t)(ve - v));
	nkv = grow(d->kv, d->n_kv, sizeof(*d->kv));
	if (!kv.key || !kv.value || !nkv) {
		free(kv.key);
		free(kv.value);
		if (nkv)
			d->kv = nkv;
		return vmc_error_set(err, ENOMEM, "out of memory");
	}
	d->kv = nkv;
	d->kv[d->n_kv++] = kv;
	return 0;
}

static int set_str(char **dst, const char *v, struct vmc_error *err)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : vmc_error_set(err, ENOMEM, "out of memory");
}

/* Interpret the header keys once every line is in. */
static int finish(struct vmdk_desc *d, const char *name,
		  struct vmc_error *err)
{
	const char *v;

	v = vmdk_desc_get(d, "version");
	if (!v)
		return vmc_error_set(err, EINVAL,
			"%s: descriptor has no 'version' line", name);
	if (strcmp(v, "1") && strcmp(v, "2") && strcmp(v, "3"))
		return vmc_error_set(err, ENOTSUP,
			"%s: descriptor version '%.32s' not supported", name,
			v);
	d->version = (unsigned)(v[0] - '0');
	if ((v = vmdk_desc_get(d, "CID"))) {
		if (parse_cid(v, &d->cid) < 0)
			return vmc_error_set(err, EINVAL,
				"%s: descriptor CID '%.32s' is not 8 hex"
				" digits", name, v);
		d->have_cid = true;
	}
	d->parent_cid = VMDK_CID_NONE;
	if ((v = vmdk_desc_get(d, "parentCID"))) {
		if (parse_cid(v, &d->parent_cid) < 0)
			return vmc_error_set(err, EINVAL,
				"%s: descriptor parentCID '%.32s' is not 8"
				" hex digits", name, v);
		d->have_parent_cid = true;
	}
	if ((v = vmdk_desc_get(d, "createType")) &&
	    set_str(&d->create_type, v, err) < 0)
		return -1;
	if ((v = vmdk_desc_get(d, "encoding")) &&
	    set_str(&d->encoding, v, err) < 0)
		return -1;
	if ((v = vmdk_desc_get(d, "parentFileNameHint")) && *v &&
	    set_str(&d->parent_hint, v, err) < 0)
		return -1;
	if (!d->create_type)
		return vmc_error_set(err, EINVAL,
			"%s: descriptor has no 'createType' line", name);
	return 0;
}

static bool is_access_word(const char *p, size_t n)
{
	for (size_t i = 0; i < VMC_ARRAY_SIZE(access_names); i++) {
		size_t k = strlen(access_names[i]);

		if (n > k && !strncmp(p, access_names[i], k) &&
		    is_space(p[k]))
			return true;
	}
	return false;
}

int vmdk_desc_parse(struct vmdk_desc *d, const char *text, size_t len,
		    const char *name, struct vmc_error *err)
{
	char *conv = NULL;
	const char *p, *end;
	const char *nul = memchr(text, 0, len);
	char enc[64];
	bool high = false;
	unsigned no = 0;

	memset(d, 0, sizeof(*d));
	if (nul)
		len = (size_t)(nul - text);
	if (len > VMDK_DESC_MAX)
		return vmc_error_set(err, EFBIG,
			"%s: descriptor is %zu bytes (at most %u)", name, len,
			VMDK_DESC_MAX);
	for (size_t i = 0; i < len && !high; i++)
		high = (uint8_t)text[i] >= 0x80;
	if (high && find_encoding(text, len, enc, sizeof(enc)) &&
	    strcasecmp(enc, "UTF-8") && strcasecmp(enc, "UTF8")) {
		if (!strcasecmp(enc, "windows-1252") ||
		    !strcasecmp(enc, "ISO-8859-1")) {
			conv = cp1252_to_utf8(text, len);
			if (!conv)
				return vmc_error_set(err, ENOMEM,
						     "out of memory");
		} else {
			conv = iconv_to_utf8(text, len, enc, name, err);
			if (!conv)
				return -1;
		}
		text = conv;
		len = strlen(conv);
	}
	p = text;
	end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		struct line l;
		const char *eq;

		no++;
		if ((size_t)(e - p) > VMDK_DESC_LINE_MAX) {
			vmc_error_set(err, EINVAL,
				"%s: descriptor line %u is %zu bytes long (at"
				" most %u)", name, no, (size_t)(e - p),
				VMDK_DESC_LINE_MAX);
			goto fail;
		}
		l.p = p;
		while (l.p < e && is_space(*l.p))
			l.p++;
		while (e > l.p && is_space(e[-1]))
			e--;
		l.len = (size_t)(e - l.p);
		l.no = no;
		p = nl ? nl + 1 : end;
		if (l.len == 0 || l.p[0] == '#')
			continue;
		if (is_access_word(l.p, l.len)) {
			if (parse_extent(d, &l, name, err) < 0)
				goto fail;
			continue;
		}
		eq = memchr(l.p, '=', l.len);
		if (!eq) {
			bad(err, name, no, "neither 'key = value' nor an"
			    " extent");
			goto fail;
		}
		if (add_kv(d, &l, eq, name, err) < 0)
			goto fail;
	}
	if (finish(d, name, err) < 0)
		goto fail;
	free(conv);
	return 0;
fail:
	free(conv);
	vmdk_desc_free(d);
	return -1;
}

/* ---- writing ---- */

struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL,
			      b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = (b->cap + (size_t)n + 1) * 2;
		char *ns = realloc(b->s, ncap);

		if (!ns) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = ncap;
	}
}

char *vmdk_desc_format(const struct vmdk_desc_out *o)
{
	struct sbuf b = { 0 };
	bool ide = !strcmp(o->adapter, "ide");
	uint64_t heads = ide ? 16 : 255, secs = 63;
	uint64_t cyl = o->sectors / (heads * secs);
	uint64_t cmax = ide ? 16383 : 65535;
	const uint8_t *u = o->uuid;

	if (cyl > cmax)
		cyl = cmax;
	sb_printf(&b, "# Disk DescriptorFile\nversion=1\n"
		  "encoding=\"UTF-8\"\nCID=%08" PRIx32 "\n"
		  "parentCID=%08" PRIx32 "\n", o->cid,
		  o->parent_hint ? o->parent_cid : VMDK_CID_NONE);
	if (!strcmp(o->create_type, "streamOptimized") || o->parent_hint)
		sb_printf(&b, "isNativeSnapshot=\"no\"\n");
	sb_printf(&b, "createType=\"%s\"\n", o->create_type);
	if (o->parent_hint)
		sb_printf(&b, "parentFileNameHint=\"%s\"\n", o->parent_hint);
	sb_printf(&b, "\n# Extent description\n");
	for (size_t i = 0; i < o->n_ext; i++) {
		const struct vmdk_desc_extent *x = &o->ext[i];

		sb_printf(&b, "%s %" PRIu64 " %s \"%s\"",
			  access_names[x->access], x->sectors,
			  type_names[x->type], x->file);
		/* ESXi writes VMFS extents without an offset. */
		if (x->type == VMDK_EXT_FLAT)
			sb_printf(&b, " %" PRIu64, x->offset);
		sb_printf(&b, "\n");
	}
	sb_printf(&b, "\n# The Disk Data Base \n#DDB\n\n");
	sb_printf(&b, "ddb.adapterType = \"%s\"\n", o->adapter);
	sb_printf(&b, "ddb.geometry.cylinders = \"%" PRIu64 "\"\n"
		  "ddb.geometry.heads = \"%" PRIu64 "\"\n"
		  "ddb.geometry.sectors = \"%" PRIu64 "\"\n", cyl, heads,
		  secs);
	sb_printf(&b, "ddb.longContentID = \"%02x%02x%02x%02x%02x%02x%02x%02x"
		  "%02x%02x%02x%02x%08" PRIx32 "\"\n", u[0], u[1], u[2], u[3],
		  u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], o->cid);
	if (o->thin)
		sb_printf(&b, "ddb.thinProvisioned = \"1\"\n");
	sb_printf(&b, "ddb.uuid = \"%02x %02x %02x %02x %02x %02x %02x %02x-"
		  "%02x %02x %02x %02x %02x %02x %02x %02x\"\n", u[0], u[1],
		  u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
		  u[11], u[12], u[13], u[14], u[15]);
	sb_printf(&b, "ddb.virtualHWVersion = \"%u\"\n", o->hwversion);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
