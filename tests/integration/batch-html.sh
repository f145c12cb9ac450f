# vmconv batch report --html: one self-contained file (no external
# references), opened in headless Chromium: the DOM has each VM's verdict
# in its row and its section, the timeline SVGs, the console excerpt; a
# screenshot is taken (kept where BATCH_SCREENSHOT says).  The timelines'
# labels, as Chromium lays them out, neither overlap nor leave their SVG,
# in the real report and in one whose five stages are 10 ms apart at the
# end of its boot (the labels pushed against the right edge).
# run-tests: timeout=1200
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/batch-common.inc"
requires chromium python3
VALIDATED="raw-to-qcow2"
make_batch $VALIDATED wiped-mbr
cd "$T" || fail cd
expect_exit 1 "$VMCONV" batch run -j 2 --dest out --state st plan.csv
expect_exit 0 "$VMCONV" batch report --state st --html r.html --json r.json
check_outcomes r.json

# self-contained: no scheme, no protocol-relative URL, no linked files
grep -Eio '(https?|ftp|wss?):|(src|href|action)="//|<link|@import|url\(' \
	r.html && fail "r.html refers to something outside itself"
grep -Eo '(src|href)="[^"#][^"]*"' r.html | grep -v '^href="/' &&
	fail "a reference that is not a local log"
grep -q '<script src' r.html && fail "an external script"
[ "$(grep -o '<svg class="timeline"' r.html | wc -l)" = 2 ] ||
	fail "a timeline per validated VM"

export HOME=$T/home
mkdir -p "$HOME"
chrome() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu \
		--no-first-run --disable-dev-shm-usage "$@" 2>chrome.err
}
chrome --dump-dom "file://$T/r.html" > dom.html || {
	cat chrome.err; fail "chromium --dump-dom"; }
[ -s dom.html ] || { cat chrome.err; fail "empty DOM"; }
python3 - r.json dom.html <<'PY' || fail "the DOM's verdicts"
import json, sys
from html.parser import HTMLParser
rep = json.load(open(sys.argv[1]))
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.rows = {}; s.cur = None; s.span = False
        s.sections = {}; s.text = {}
    def handle_starttag(s, t, a):
        a = dict(a)
        if t == 'tr' and a.get('id', '').startswith('row-'):
            s.cur = a['id']; s.rows[s.cur] = a.get('data-verdict')
        if t == 'section' and a.get('id', '').startswith('vm-'):
            s.sections[a['id']] = a.get('data-verdict')
        if t == 'span' and 'verdict' in a.get('class', '').split():
            s.span = True
    def handle_endtag(s, t):
        if t == 'span': s.span = False
        if t == 'tr': s.cur = None
    def handle_data(s, d):
        if s.span and s.cur: s.text[s.cur] = d
p = P(); p.feed(open(sys.argv[2]).read())
words = {'ready': 'READY', 'converted': 'CONVERTED (not validated)',
         'not-ready': 'NOT READY', 'failed': 'FAILED TO CONVERT'}
for vm in rep['vms']:
    i = vm['id']; o = vm['outcome']
    assert p.rows.get('row-%d' % i) == o, (i, p.rows.get('row-%d' % i), o)
    assert p.sections.get('vm-%d' % i) == o, (i, 'section')
    assert p.text.get('row-%d' % i) == words[o], (i, p.text.get('row-%d' % i))
    print(vm['name'], o, 'in the DOM')
PY
grep -q 'class="console"' dom.html || fail "no console excerpt"
grep -q 'VMCONV-GUEST-USERSPACE-OK' dom.html || fail "console text"
grep -q 'id="count-ready"><b>1</b>' dom.html || fail "summary counts"

# the timelines as rendered: each label's box (getBBox) against the others
# and against its SVG, by a script added to a copy of the report
overlaps() {	# REPORT: prints the problems, and how many labels
	sed 's#</body>#<script src="check.js"></script></body>#' "$1" \
		> "$1.chk.html"
	chrome --dump-dom "file://$T/$1.chk.html" > "$1.dom" || {
		cat chrome.err; fail "chromium --dump-dom $1"; }
	grep -o '<body[^>]*>' "$1.dom"
}
cat > check.js <<'JS'
var bad = [], n = 0;
document.querySelectorAll('svg.timeline').forEach(function (s, k) {
	var ts = [].slice.call(s.querySelectorAll('text'));
	var w = s.viewBox.baseVal.width, h = s.viewBox.baseVal.height;
	var b = ts.map(function (e) { return e.getBBox(); });
	n += ts.length;
	b.forEach(function (a, i) {
		if (a.x < 0 || a.y < 0 || a.x + a.width > w + 0.5 ||
		    a.y + a.height > h + 0.5)
			bad.push(k + ' ' + ts[i].textContent + ' outside');
		for (var j = i + 1; j < b.length; j++) {
			var c = b[j];
			if (a.x < c.x + c.width && c.x < a.x + a.width &&
			    a.y < c.y + c.height && c.y < a.y + a.height)
				bad.push(k + ' ' + ts[i].textContent + ' over ' +
					 ts[j].textContent);
		}
	});
});
document.body.setAttribute('data-labels', n);
document.body.setAttribute('data-overlaps', bad.join('; '));
JS
overlaps r.html | tee body.txt
grep -q 'data-labels="[1-9][0-9]*"' body.txt || fail "no labels measured"
grep -q 'data-overlaps=""' body.txt || fail "labels overlap in r.html"
# stages 10 ms apart: the same VM's journal, its times squeezed
cp -a st st2
id=$(jq '.vms[] | select(.name == "raw-to-qcow2") | .id' r.json)
jq '.validation.stages |= [range(length) as $i | .[$i] |
	.ms = 1000 + 10 * $i] | .validation.seconds = 1.05' \
	st2/vm/$id.json > j.tmp && mv j.tmp st2/vm/$id.json
expect_exit 0 "$VMCONV" batch report --state st2 --html close.html
overlaps close.html | tee body.txt
grep -q 'data-labels="[1-9][0-9]*"' body.txt || fail "no labels measured"
grep -q 'data-overlaps=""' body.txt || fail "labels overlap in close.html"

chrome --screenshot="$T/shot.png" --window-size=1280,1700 \
	--hide-scrollbars "file://$T/r.html" || {
	cat chrome.err; fail "chromium --screenshot"; }
[ "$(head -c 8 shot.png | od -An -tx1 | tr -d ' \n')" = \
  89504e470d0a1a0a ] || fail "the screenshot is not a PNG"
[ "$(stat -c %s shot.png)" -gt 20000 ] || fail "a blank screenshot?"
[ -n "${BATCH_SCREENSHOT:-}" ] && cp shot.png "$BATCH_SCREENSHOT"
exit 0
