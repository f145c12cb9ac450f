# vmconv batch report --html: one self-contained file (no external
# references), opened in headless Chromium: the DOM has each VM's verdict
# in its row and its section, the timeline SVGs, the console excerpt; a
# screenshot is taken (kept where BATCH_SCREENSHOT says).
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

chrome --screenshot="$T/shot.png" --window-size=1280,1700 \
	--hide-scrollbars "file://$T/r.html" || {
	cat chrome.err; fail "chromium --screenshot"; }
[ "$(head -c 8 shot.png | od -An -tx1 | tr -d ' \n')" = \
  89504e470d0a1a0a ] || fail "the screenshot is not a PNG"
[ "$(stat -c %s shot.png)" -gt 20000 ] || fail "a blank screenshot?"
[ -n "${BATCH_SCREENSHOT:-}" ] && cp shot.png "$BATCH_SCREENSHOT"
exit 0
