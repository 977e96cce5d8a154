#!/bin/sh
# The manual page, docs/medcrypt.1, against the program it describes:
#
#     sh tests/man_check.sh /abs/path/to/medcrypt /abs/path/to/testdata
#
# - every verb of `medcrypt --help` has its section (.SS VERB);
# - every long option a verb's --help names is in that verb's section,
#   those of its option and usage lines each in an entry (.TP) of its own,
#   with its short form beside it as the help gives it ("-k, --key"),
#   and no pairing the help does not make; every option the entries list
#   is one the help names: no option missing, none left over from an
#   earlier version;
# - every --help is within 80 columns;
# - the page's version (.TH) is the program's;
# - groff formats it without a warning (-ww) and with its sections.
# python3 and groff (make deps installs both) or those checks are skipped.
# The testdata argument is unused (the suites' common arguments).
. "$(dirname "$0")/lib.sh"
tl_args man_check.sh "$@"
PAGE=$(cd "$(dirname "$0")/../docs" && pwd)/medcrypt.1
T=$(mktemp -d "${TMPDIR:-/tmp}/medcrypt-man.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
trap 'exit 1' HUP INT TERM

if [ ! -f "$PAGE" ]; then
    not_ok "docs/medcrypt.1 exists"
    printf '%d passed, %d failed\n' "$PASS" "$FAIL"
    exit 1
fi

# The verbs, from the synopsis of `medcrypt --help` ("medcrypt VERB ...").
"$MC" --help >"$T/help" 2>&1
VERBS=$(sed -n 's/^ *medcrypt \([a-z][a-z]*\) .*/\1/p' "$T/help" | sort -u)
if [ "$(echo "$VERBS" | wc -l)" -ge 9 ]; then
    ok "medcrypt --help names its verbs ($(echo $VERBS))"
else
    not_ok "medcrypt --help names its verbs (found: $(echo $VERBS))"
fi

for verb in $VERBS; do
    "$MC" "$verb" --help >"$T/$verb.help" 2>&1
    if ! command -v python3 >/dev/null 2>&1; then
        skip "man page, $verb: its options against its --help" "python3 is not installed"
        continue
    fi
    out=$(python3 - "$PAGE" "$verb" "$T/$verb.help" <<'EOF'
import re, sys
page, verb, helpf = sys.argv[1:]
src = open(page, encoding='utf-8').read()
help_text = open(helpf, encoding='utf-8').read()

def plain(s):
    """roff source to the text it shows: \\- is -, font changes vanish"""
    s = re.sub(r'\\f[BIRP]', '', s)
    return s.replace('\\-', '-').replace('\\&', '')

# the verb's section: from ".SS verb" to the next .SS or .SH, or the end
m = re.search(r'^\.SS ' + re.escape(verb) + r'\n(.*?)(?=^\.S[SH] |\Z)', src, re.S | re.M)
if m is None:
    print('no section .SS ' + verb)
    sys.exit()
section = m.group(1)
shown = plain(section)
LONG = r'(?<![\w-])--[a-z][a-z-]*'
SHORT = r'(?<![\w-])-[a-zA-Z](?![\w-])'
PAIR = r'(?<![\w-])(-[a-zA-Z]), (--[a-z][a-z-]*)'
# each .TP entry's tag (its line after .TP)
tags = [plain(t) for t in re.findall(r'^\.TP\n(.*)$', section, re.M)]
listed_long = {o for t in tags for o in re.findall(LONG, t)}
listed_short = {o for t in tags for o in re.findall(SHORT, t)}
page_pairs = {p for t in tags for p in re.findall(PAIR, t)}
# the help's options: all it names, and those of its option lines
# ("    -k, --key KEYFILE") and usage lines ("Usage: medcrypt VERB [...]",
# their continuations), each of which needs an entry of its own
usage = [l for l in help_text.split('\n')
         if re.match(r'\s+-', l) or re.match(r'\s*(Usage:\s*)?medcrypt ', l) or re.match(r'\s+\[', l)]
helped = set(re.findall(LONG, help_text)) - {'--help'}
entried = set(re.findall(LONG, '\n'.join(usage))) - {'--help'}
help_shorts = set(re.findall(SHORT, '\n'.join(usage))) - {'-h'}
help_pairs = {p for p in re.findall(r'^\s+(-[a-zA-Z]), (--[a-z][a-z-]*)', help_text, re.M)
              if p[1] != '--help'}
problems = []
for opt in sorted(helped):
    if not re.search(r'(?<![\w-])' + re.escape(opt) + r'(?![\w-])', shown):
        problems.append(opt + ' not described')
for opt in sorted(entried - listed_long):
    problems.append(opt + ' has no entry (.TP)')
for short, long_ in sorted(help_pairs - page_pairs):
    problems.append(short + ', ' + long_ + ' not listed together')
for short, long_ in sorted(page_pairs - help_pairs):
    problems.append(short + ', ' + long_ + ' listed together, not so in --help')
for opt in sorted((listed_long - helped) | (listed_short - help_shorts)):
    problems.append(opt + ' listed, not in --help')
print('; '.join(problems) if problems else 'OK %d' % len(helped))
EOF
)
    case $out in
    "OK "*) ok "man page, $verb: its ${out#OK } long options described, short forms beside them, none extra" ;;
    *) not_ok "man page, $verb: $out" ;;
    esac
done

# Each --help within 80 columns, as the page is formatted.
# Counted in characters (UTF-8), not bytes (Debian's awk counts bytes).
for verb in "" $VERBS; do
    "$MC" $verb --help 2>&1 | python3 -c '
import sys
for n, line in enumerate(sys.stdin.buffer.read().decode("utf-8").split("\n"), 1):
    if len(line) > 80:
        print("%s:%d" % (sys.argv[1], n), end=" ")' "${verb:-medcrypt}" >>"$T/long"
done
if ! command -v python3 >/dev/null 2>&1; then
    skip "every --help is within 80 columns" "python3 is not installed"
elif [ ! -s "$T/long" ]; then
    ok "every --help is within 80 columns"
else
    not_ok "every --help is within 80 columns (over: $(cat "$T/long"))"
fi

# The version: ".TH MEDCRYPT 1 DATE "medcrypt X.Y.Z"" and `medcrypt --version`.
want=$("$MC" --version | sed -n '1s/^medcrypt \([0-9.]*\).*/\1/p')
have=$(sed -n 's/^\.TH MEDCRYPT 1 [0-9-]* "medcrypt \([0-9.]*\)".*/\1/p' "$PAGE")
if [ -n "$want" ] && [ "$want" = "$have" ]; then
    ok "the page's version is the program's ($want)"
else
    not_ok "the page's version is the program's (page '$have', program '$want')"
fi

# Formatted: no warning from groff (make deps installs groff-base), and
# its sections there, at 80 columns.
if command -v groff >/dev/null 2>&1; then
    if groff -man -ww -z "$PAGE" >"$T/groff" 2>&1 && [ ! -s "$T/groff" ]; then
        ok "groff -man -ww formats the page without a warning"
    else
        not_ok "groff -man -ww formats the page without a warning ($(head -3 "$T/groff"))"
    fi
    groff -man -Tutf8 -rLL=80n -P-c "$PAGE" 2>/dev/null | sed 's/.\x08//g' >"$T/shown"
    missing=
    for h in NAME SYNOPSIS DESCRIPTION COMMANDS KEYS ENVIRONMENT "EXIT STATUS" EXAMPLES SECURITY; do
        grep -q "^$h\$" "$T/shown" || missing="$missing $h"
    done
    if [ -z "$missing" ]; then
        ok "the formatted page has its sections"
    else
        not_ok "the formatted page has its sections (missing:$missing)"
    fi
else
    skip "groff formats the page" "groff is not installed (make deps installs groff-base)"
fi

printf '%d passed, %d failed\n' "$PASS" "$FAIL"
[ "$FAIL" -eq 0 ]
