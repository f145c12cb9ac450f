/* libxml2 helpers shared by the XML readers and writers of vm/. */
#ifndef VMC_VM_XML_H
#define VMC_VM_XML_H

#include <stdbool.h>
#include <stdint.h>

#include <libxml/tree.h>

#include <vmconv/error.h>

/* Parse an untrusted document: no network, no external entities or DTDs
 * loaded, no entity substitution.  The error names the file and line. */
xmlDocPtr vmc_xml_parse(const char *buf, size_t len, const char *name,
			struct vmc_error *err);
/* The same from a file, at most max bytes. */
xmlDocPtr vmc_xml_read_file(const char *path, size_t max,
			    struct vmc_error *err);

/* The first element child of n with local name ln (any namespace), or
 * the next sibling element after n with that name. */
xmlNodePtr vmc_xml_child(xmlNodePtr n, const char *ln);
xmlNodePtr vmc_xml_next(xmlNodePtr n, const char *ln);
bool vmc_xml_is(xmlNodePtr n, const char *ln);
/* Attribute by local name, any namespace; malloc'd copy or NULL. */
char *vmc_xml_attr(xmlNodePtr n, const char *ln);
/* Text of the child element ln, trimmed; malloc'd copy or NULL. */
char *vmc_xml_child_text(xmlNodePtr n, const char *ln);
/* Text of n trimmed; malloc'd copy (never NULL unless out of memory). */
char *vmc_xml_text(xmlNodePtr n);
/* Parse a decimal unsigned integer filling the whole string. */
int vmc_xml_u64(const char *s, uint64_t *v);

#endif
