/* The pre-cutover report as one self-contained HTML file: inline style,
 * inline script (sorting and filtering), inline SVG boot timelines; no
 * network, fonts or files it needs besides itself.  Printable: the
 * controls are hidden on paper and every VM's details follow the table. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "batch/batch.h"
#include "batch/report-html.h"

static const char style[] =
"body{font:14px/1.4 sans-serif;margin:1.5em;color:#222}"
"h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.4em 0 .4em}"
".cards{display:flex;gap:.8em;flex-wrap:wrap}"
".card{border:1px solid #ccc;border-radius:6px;padding:.5em .9em;min-width:7em}"
".card b{display:block;font-size:1.6em}"
"table{border-collapse:collapse;width:100%;margin-top:.6em;"
"table-layout:auto}td{overflow-wrap:anywhere}td:first-child{"
"white-space:nowrap;overflow-wrap:normal}"
"th,td{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;"
"vertical-align:top}th{background:#f3f3f3;cursor:pointer;user-select:none}"
"td.num{text-align:right;font-variant-numeric:tabular-nums}"
"code{font-size:.9em}.v{font-weight:bold;padding:.1em .5em;border-radius:4px;"
"white-space:nowrap}.v-ready{background:#d4f4d4;color:#14571a}"
".v-converted{background:#e3ecfa;color:#1d3f7a}"
".v-not-ready{background:#fde2cf;color:#8a3300}"
".v-failed{background:#f9d0d0;color:#8b0000}"
".v-unfinished{background:#eee;color:#555}"
".vm{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;margin:.8em 0;"
"break-inside:avoid}pre{background:#f7f7f7;padding:.5em;overflow-x:auto;"
"font-size:12px;white-space:pre-wrap}.controls{margin:.6em 0}"
".controls button{margin-right:.3em}"
"ul.changes{margin:.2em 0;padding-left:1.1em;font-size:.9em}"
"@media print{.controls{display:none}th{cursor:auto}}";

static const char script[] =
"function filt(v){document.querySelectorAll('[data-verdict]').forEach("
"function(e){e.style.display=(v==='all'||e.dataset.verdict===v)?'':'none';"
"});}\n"
"function sortBy(c){var t=document.getElementById('vms').tBodies[0];"
"var r=Array.prototype.slice.call(t.rows);var d=t.dataset.col==c&&"
"t.dataset.dir!=='desc'?'desc':'asc';t.dataset.col=c;t.dataset.dir=d;"
"r.sort(function(a,b){var x=a.cells[c].dataset.key||a.cells[c].textContent;"
"var y=b.cells[c].dataset.key||b.cells[c].textContent;var n=parseFloat(x)-"
"parseFloat(y);var k=isNaN(n)?x.localeCompare(y):n;return d==='asc'?k:-k;});"
"r.forEach(function(e){t.appendChild(e);});}\n";

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* The injection as the migration reports it: a sentence when it did not
 * run, else its status, message and every change (file: before -> after)
 * and note. */
static void injection(FILE *f, json_t *inj)
{
	json_t *c;
	size_t i;

	if (!json_is_object(inj)) {
		esc(f, json_string_value(inj));
		return;
	}
	fputs("<b class=\"inj\">", f);
	esc(f, json_string_value(json_object_get(inj, "status")));
	fputs("</b>: ", f);
	esc(f, json_string_value(json_object_get(inj, "message")));
	fputs("<ul class=\"changes\">", f);
	json_array_foreach(json_object_get(inj, "changes"), i, c) {
		fputs("<li><code>", f);
		esc(f, json_string_value(json_object_get(c, "file")));
		fputs("</code>: ", f);
		esc(f, json_string_value(json_object_get(c, "before")));
		fputs(" &rarr; ", f);
		esc(f, json_string_value(json_object_get(c, "after")));
		fputs("</li>", f);
	}
	json_array_foreach(json_object_get(inj, "notes"), i, c) {
		fputs("<li class=\"note\">", f);
		esc(f, json_string_value(c));
		fputs("</li>", f);
	}
	fputs("</ul>", f);
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static void human(char *buf, size_t len, json_t *v)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double x = (double)json_integer_value(v);
	int i = 0;

	if (!json_is_integer(v)) {
		snprintf(buf, len, "-");
		return;
	}
	while (x >= 1024 && i < 4) {
		x /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", x, u[i]);
}

static const char *verdict_text(json_t *vm)
{
	const char *o = str(vm, "outcome");

	if (!strcmp(o, "ready")) return "READY";
	if (!strcmp(o, "converted")) return "CONVERTED (not validated)";
	if (!strcmp(o, "not-ready")) return "NOT READY";
	if (!strcmp(o, "failed")) return "FAILED TO CONVERT";
	return "UNFINISHED";
}

static void summary(FILE *f, json_t *rep)
{
	json_t *s = json_object_get(rep, "summary");
	static const char *const k[] = { "ready", "not-ready", "failed",
		"converted", "unfinished" };
	static const char *const t[] = { "ready", "not ready",
		"failed to convert", "converted, not validated",
		"unfinished" };
	char moved[32];

	human(moved, sizeof(moved), json_object_get(s, "bytes-moved"));
	fprintf(f, "<div class=\"cards\">");
	fprintf(f, "<div class=\"card\"><b>%lld</b>VMs</div>",
		(long long)json_integer_value(json_object_get(s, "vms")));
	for (int i = 0; i < 5; i++)
		fprintf(f, "<div class=\"card\" id=\"count-%s\"><b>%lld</b>%s"
			"</div>", k[i], (long long)json_integer_value(
				json_object_get(s, k[i])), t[i]);
	fprintf(f, "<div class=\"card\"><b>%s</b>data moved</div>", moved);
	fprintf(f, "<div class=\"card\"><b>%.1f s</b>time</div></div>\n",
		json_real_value(json_object_get(s, "seconds")));
}

/* A file's name, its full path on hover (and in the JSON). */
static void path_cell(FILE *f, const char *path)
{
	const char *base = strrchr(path, '/');

	fputs("<td><code title=\"", f);
	esc(f, path);
	fputs("\">", f);
	esc(f, base ? base + 1 : path);
	fputs("</code></td>", f);
}

static void table_row(FILE *f, json_t *vm)
{
	char vs[32], ts[32];
	const char *sha = str(vm, "sha256"), *o = str(vm, "outcome");

	human(vs, sizeof(vs), json_object_get(vm, "virtual-size"));
	human(ts, sizeof(ts), json_object_get(vm, "target-size"));
	fprintf(f, "<tr data-verdict=\"%s\" id=\"row-%lld\"><td class=num>"
		"%lld</td><td><a href=\"#vm-%lld\">", o,
		(long long)json_integer_value(json_object_get(vm, "id")),
		(long long)json_integer_value(json_object_get(vm, "id")),
		(long long)json_integer_value(json_object_get(vm, "id")));
	esc(f, str(vm, "name"));
	fputs("</a></td>", f);
	path_cell(f, str(vm, "source"));
	path_cell(f, str(vm, "target"));
	fprintf(f, "<td class=num data-key=\"%lld\">%s</td>"
		"<td class=num data-key=\"%lld\">%s</td><td><code title=\"",
		(long long)json_integer_value(json_object_get(vm,
							      "virtual-size")),
		vs, (long long)json_integer_value(json_object_get(vm,
							"target-size")), ts);
	esc(f, sha);
	fprintf(f, "\">%.12s</code></td><td>", *sha ? sha : "-");
	injection(f, json_object_get(vm, "injection"));
	fprintf(f, "</td><td><span class=\"v v-%s verdict\">%s</span></td>"
		"<td>", o, verdict_text(vm));
	esc(f, str(vm, "reason"));
	fputs("</td></tr>\n", f);
}

static void table(FILE *f, json_t *rep)
{
	static const char *const cols[] = { "#", "VM", "source", "target",
		"virtual size", "target size", "sha256", "injected changes",
		"verdict", "reason" };
	json_t *vm;
	size_t i;

	fputs("<div class=\"controls\">Show: ", f);
	fputs("<button onclick=\"filt('all')\">all</button>", f);
	for (i = 0; i < 5; i++) {
		static const char *const v[] = { "ready", "not-ready",
			"failed", "converted", "unfinished" };

		fprintf(f, "<button onclick=\"filt('%s')\">%s</button>", v[i],
			v[i]);
	}
	fputs("</div>\n<table id=\"vms\"><thead><tr>", f);
	for (i = 0; i < 10; i++)
		fprintf(f, "<th onclick=\"sortBy(%zu)\">%s</th>", i, cols[i]);
	fputs("</tr></thead><tbody>\n", f);
	json_array_foreach(json_object_get(rep, "vms"), i, vm)
		table_row(f, vm);
	fputs("</tbody></table>\n", f);
}

static void vm_detail(FILE *f, json_t *vm)
{
	json_t *val = json_object_get(vm, "validation"), *l;
	size_t i;

	fprintf(f, "<section class=\"vm\" id=\"vm-%lld\" data-verdict=\"%s\">"
		"<h3>", (long long)json_integer_value(json_object_get(vm, "id")),
		str(vm, "outcome"));
	esc(f, str(vm, "name"));
	fprintf(f, " <span class=\"v v-%s\">%s</span></h3><p>",
		str(vm, "outcome"), verdict_text(vm));
	esc(f, str(vm, "reason"));
	fputs("</p>", f);
	if (json_is_object(val)) {
		fprintf(f, "<p>Boot on %s (%s engine): furthest stage <b>",
			str(val, "bus"), str(val, "engine"));
		esc(f, str(val, "stage"));
		fputs("</b></p>", f);
		vmc_batch_html_timeline(f, val);
		fputs("<pre class=\"console\">", f);
		json_array_foreach(json_object_get(vm, "console-excerpt"), i,
				   l) {
			esc(f, json_string_value(l));
			fputc('\n', f);
		}
		fputs("</pre><p>Full console log: <a href=\"", f);
		esc(f, str(val, "console_log"));
		fputs("\"><code>", f);
		esc(f, str(val, "console_log"));
		fputs("</code></a></p>", f);
	}
	fputs("<p>Worker log: <a href=\"", f);
	esc(f, str(vm, "log"));
	fputs("\"><code>", f);
	esc(f, str(vm, "log"));
	fputs("</code></a></p></section>\n", f);
}

static void page(FILE *f, json_t *rep)
{
	json_t *vm;
	size_t i;

	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset="
		"\"utf-8\"><title>vmconv pre-cutover report</title><style>%s"
		"</style></head><body>\n<h1>Pre-cutover report</h1><p>State "
		"folder <code>", style);
	esc(f, str(rep, "state"));
	fprintf(f, "</code>, generated %s.</p>\n", str(rep, "generated"));
	summary(f, rep);
	table(f, rep);
	fputs("<h2>Per VM</h2>\n", f);
	json_array_foreach(json_object_get(rep, "vms"), i, vm)
		vm_detail(f, vm);
	fprintf(f, "<script>%s</script></body></html>\n", script);
}

int vmc_batch_report_html(json_t *rep, const char *path,
			  struct vmc_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r;

	if (!f)
		return vmc_error_errno(err, errno, "%s: out of memory", path);
	page(f, rep);
	if (fclose(f) != 0) {
		free(buf);
		return vmc_error_errno(err, errno, "%s: out of memory", path);
	}
	r = vmc_batch_write_file(path, buf, len, err);
	free(buf);
	return r;
}
