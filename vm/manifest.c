/* OVF manifest checking, DSP0243 section 5.1: each line
 * "ALGO(FILE)= HEX" with ALGO SHA1 (OVF 1.x) or SHA256 (OVF 2.x, ovftool
 * 4 and later), digests computed with OpenSSL.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "vm/manifest.h"

struct vmc_digester {
	EVP_MD_CTX *s1, *s256;
};

struct vmc_digester *vmc_digester_new(void)
{
	struct vmc_digester *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->s1 = EVP_MD_CTX_new();
	g->s256 = EVP_MD_CTX_new();
	if (!g->s1 || !g->s256 ||
	    !EVP_DigestInit_ex(g->s1, EVP_sha1(), NULL) ||
	    !EVP_DigestInit_ex(g->s256, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(g->s1);
		EVP_MD_CTX_free(g->s256);
		free(g);
		return NULL;
	}
	return g;
}

void vmc_digester_update(struct vmc_digester *g, const void *buf, size_t len)
{
	EVP_DigestUpdate(g->s1, buf, len);
	EVP_DigestUpdate(g->s256, buf, len);
}

static void hex(const unsigned char *b, unsigned n, char *out)
{
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

void vmc_digester_final(struct vmc_digester *g, struct vmc_digests *d)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n;

	EVP_DigestFinal_ex(g->s1, md, &n);
	hex(md, n, d->sha1);
	EVP_DigestFinal_ex(g->s256, md, &n);
	hex(md, n, d->sha256);
	EVP_MD_CTX_free(g->s1);
	EVP_MD_CTX_free(g->s256);
	free(g);
}

int vmc_digest_file(const char *path, struct vmc_digests *d,
		    struct vmc_error *err)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct vmc_digester *g = NULL;
	struct stat st;
	char *buf = NULL;
	ssize_t r = -1;

	if (fd < 0)
		return vmc_error_errno(err, errno, "%s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		vmc_error_set(err, EINVAL, "%s: not a regular file", path);
		goto out;
	}
	buf = malloc(1 << 20);
	g = vmc_digester_new();
	if (!buf || !g) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	while ((r = read(fd, buf, 1 << 20)) > 0)
		vmc_digester_update(g, buf, (size_t)r);
	if (r < 0)
		vmc_error_errno(err, errno, "%s: read", path);
	else
		vmc_digester_final(g, d);
	if (r == 0)
		g = NULL;
out:
	if (g) {
		struct vmc_digests junk;

		vmc_digester_final(g, &junk);
	}
	free(buf);
	close(fd);
	return r == 0 ? 0 : -1;
}

/* "SHA256(name)= hex" (also "SHA256 (name) = hex") into its parts. */
static int parse_line(char *l, char **algo, char **name, char **digest)
{
	char *lp = strchr(l, '('), *rp = strrchr(l, ')'), *eq;
	size_t n;

	if (!lp || !rp || rp < lp)
		return -1;
	eq = strchr(rp, '=');
	if (!eq)
		return -1;
	*lp = *rp = 0;
	for (n = strlen(l); n && isspace((unsigned char)l[n - 1]); n--)
		l[n - 1] = 0;
	*algo = l;
	*name = lp + 1;
	for (eq++; isspace((unsigned char)*eq); eq++)
		;
	for (n = strlen(eq); n && isspace((unsigned char)eq[n - 1]); n--)
		eq[n - 1] = 0;
	*digest = eq;
	return 0;
}

static int check_line(char *l, unsigned lineno, const char *mf,
		      vmc_digest_fn fn, void *ctx, struct vmc_error *err)
{
	struct vmc_digests d;
	char *algo, *name, *want;
	const char *have;

	if (parse_line(l, &algo, &name, &want) < 0)
		return vmc_error_set(err, EINVAL, "%s: line %u is not"
				     " 'ALGO(FILE)= DIGEST'", mf, lineno);
	if (!strcasecmp(algo, "SHA1"))
		have = d.sha1;
	else if (!strcasecmp(algo, "SHA256"))
		have = d.sha256;
	else
		return vmc_error_set(err, ENOTSUP, "%s: line %u: digest %s is"
				     " not SHA1 or SHA256", mf, lineno, algo);
	if (fn(ctx, name, &d, err) < 0) {
		vmc_error_prefix(err, "%s: line %u names '%s'", mf, lineno,
				 name);
		return -1;
	}
	if (strcasecmp(have, want))
		return vmc_error_set(err, EINVAL, "%s: %s of '%s' does not"
				     " match: the manifest says %s, the file"
				     " has %s", mf, algo, name, want, have);
	return 0;
}

int vmc_manifest_check(const char *text, size_t len, const char *mf,
		       vmc_digest_fn fn, void *ctx, size_t *checked,
		       struct vmc_error *err)
{
	char *copy = strndup(text, len), *save = NULL, *l;
	unsigned lineno = 0;
	int r = 0;

	*checked = 0;
	if (!copy)
		return vmc_error_set(err, ENOMEM, "out of memory");
	if (strlen(copy) != len)
		r = vmc_error_set(err, EINVAL, "%s: a NUL byte in the"
				  " manifest", mf);
	for (l = strtok_r(copy, "\r\n", &save); l && r == 0;
	     l = strtok_r(NULL, "\r\n", &save)) {
		lineno++;
		if (!*l)
			continue;
		r = check_line(l, lineno, mf, fn, ctx, err);
		if (r == 0)
			(*checked)++;
	}
	free(copy);
	return r;
}
