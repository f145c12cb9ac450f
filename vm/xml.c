/* libxml2 helpers: safe parsing of untrusted XML and namespace-blind
 * lookups by local name (OVF 1.x and 2.x, VMware, VirtualBox and Hyper-V
 * use different prefixes and namespaces for the same element names). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "vm/xml.h"

#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR)

static void silent(void *ctx, const char *msg, ...)
{
}

xmlDocPtr vmc_xml_parse(const char *buf, size_t len, const char *name,
			struct vmc_error *err)
{
	xmlParserCtxtPtr ctx;
	xmlDocPtr doc;

	if (len > INT32_MAX)
		return vmc_error_set(err, EFBIG, "%s: XML document too large",
				     name), NULL;
	xmlSetGenericErrorFunc(NULL, silent);
	ctx = xmlNewParserCtxt();
	if (!ctx)
		return vmc_error_set(err, ENOMEM, "out of memory"), NULL;
	doc = xmlCtxtReadMemory(ctx, buf, (int)len, name, NULL, XML_OPTS);
	if (!doc || !xmlDocGetRootElement(doc)) {
		xmlErrorPtr e = xmlCtxtGetLastError(ctx);
		char msg[256] = "no root element";

		if (e && e->message) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			msg[strcspn(msg, "\n")] = 0;
		}
		vmc_error_set(err, EINVAL, "%s: not an XML document (line %d:"
			      " %s)", name, e ? e->line : 0, msg);
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(ctx);
	return doc;
}

xmlDocPtr vmc_xml_read_file(const char *path, size_t max,
			    struct vmc_error *err)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	xmlDocPtr doc = NULL;
	char *buf;
	size_t got = 0;

	if (fd < 0)
		return vmc_error_errno(err, errno, "%s", path), NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		vmc_error_set(err, EINVAL, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		vmc_error_set(err, EFBIG, "%s: %lld bytes, more than the %zu"
			      " a configuration may have", path,
			      (long long)st.st_size, max);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r <= 0) {
			vmc_error_errno(err, r < 0 ? errno : EIO, "%s: read",
					path);
			free(buf);
			goto out;
		}
		got += (size_t)r;
	}
	doc = vmc_xml_parse(buf, got, path, err);
	free(buf);
out:
	close(fd);
	return doc;
}

bool vmc_xml_is(xmlNodePtr n, const char *ln)
{
	return n && n->type == XML_ELEMENT_NODE &&
	       !strcmp((const char *)n->name, ln);
}

xmlNodePtr vmc_xml_next(xmlNodePtr n, const char *ln)
{
	for (n = n ? n->next : NULL; n; n = n->next)
		if (vmc_xml_is(n, ln))
			return n;
	return NULL;
}

xmlNodePtr vmc_xml_child(xmlNodePtr n, const char *ln)
{
	for (n = n ? n->children : NULL; n; n = n->next)
		if (vmc_xml_is(n, ln))
			return n;
	return NULL;
}

static char *trimdup(const char *s)
{
	size_t len;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	return strndup(s, len);
}

char *vmc_xml_attr(xmlNodePtr n, const char *ln)
{
	for (xmlAttrPtr a = n ? n->properties : NULL; a; a = a->next) {
		if (strcmp((const char *)a->name, ln))
			continue;
		xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);
		char *r = trimdup(v ? (const char *)v : "");

		xmlFree(v);
		return r;
	}
	return NULL;
}

char *vmc_xml_text(xmlNodePtr n)
{
	xmlChar *v = xmlNodeGetContent(n);
	char *r = trimdup(v ? (const char *)v : "");

	xmlFree(v);
	return r;
}

char *vmc_xml_child_text(xmlNodePtr n, const char *ln)
{
	xmlNodePtr c = vmc_xml_child(n, ln);

	return c ? vmc_xml_text(c) : NULL;
}

int vmc_xml_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}
