#!/bin/sh
# The manual page, docs/medcrypt.1, against the program it describes:
#
#     sh tests/man_check.sh /abs/path/to/medcrypt /abs/path/to/testdata
#
# - every verb of `medcrypt --help` has its section (.SS VERB);
# - every long option a verb's --help names is in that verb's section,
#   with its short form beside it where the help gives one ("-k, --key");
#   and every option the section lists (.TP) is one the help names: no
#   option missing, none left over from an earlier version;
# - every --help is within 80 columns;
# - the page's version (.TH) is the program's;
# - groff formats it without a warning (-ww), and man(1) reads it.
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
    out=$(python3 - "$PAGE" "$verb" "$T/$verb.help" <<'EOF'
import re, sys
page, verb, helpf = sys.argv[1:]
src = open(page, encoding='utf-8').read()
help_text = open(helpf, encoding='utf-8').read()

def plain(s):
    """roff source to the text it shows: \\- is -, font changes vanish"""
    s = re.sub(r'\\f[BIRP]', '', s)
    return s.replace('\\-', '-').replace('\\&', '')

# the verb's section: from ".SS verb" to the next .SS or .SH
m = re.search(r'^\.SS ' + re.escape(verb) + r'\n(.*?)(?=^\.S[SH] )', src, re.S | re.M)
if m is None:
    print('no section .SS ' + verb)
    sys.exit()
section = m.group(1)
shown = plain(section)
# the options a .TP entry of the section lists (its line after .TP)
listed = set()
for tp in re.findall(r'^\.TP\n(.*)$', section, re.M):
    listed.update(re.findall(r'(?<![\w-])--[a-z][a-z-]*', plain(tp)))
    listed.update(re.findall(r'(?<![\w-])-[a-zA-Z](?![\w-])', plain(tp)))
helped = set(re.findall(r'(?<![\w-])--[a-z][a-z-]*', help_text)) - {'--help'}
problems = []
for opt in sorted(helped):
    if not re.search(r'(?<![\w-])' + re.escape(opt) + r'(?![\w-])', shown):
        problems.append(opt + ' not described')
# "    -k, --key KEYFILE": the short form beside the long one in the page
for short, long_ in re.findall(r'^\s+(-[a-zA-Z]), (--[a-z][a-z-]*)', help_text, re.M):
    if long_ == '--help':
        continue
    pair = re.compile(r'(?<![\w-])' + re.escape(short) + r', ' + re.escape(long_) + r'(?![\w-])')
    if not any(pair.search(l) for l in map(plain, re.findall(r'^\.TP\n(.*)$', section, re.M))):
        problems.append(short + ', ' + long_ + ' not listed together')
shorts = set(re.findall(r'(?<![\w-])-[a-zA-Z](?![\w-])', help_text)) - {'-h'}
for opt in sorted(listed):
    if opt not in (helped | shorts):
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
for verb in "" $VERBS; do
    "$MC" $verb --help 2>&1 | awk -v v="${verb:-medcrypt}" \
        'length > 80 { printf "%s:%d ", v, NR }' >>"$T/long"
done
if [ ! -s "$T/long" ]; then
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
# man -l renders its sections.
if command -v groff >/dev/null 2>&1; then
    if groff -man -ww -z "$PAGE" >"$T/groff" 2>&1 && [ ! -s "$T/groff" ]; then
        ok "groff -man -ww formats the page without a warning"
    else
        not_ok "groff -man -ww formats the page without a warning ($(head -3 "$T/groff"))"
    fi
    MANWIDTH=80 groff -man -Tutf8 -P-c "$PAGE" 2>/dev/null | sed 's/.\x08//g' >"$T/shown"
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
    not_ok "groff is installed to check the page (make deps installs groff-base)"
fi

printf '%d passed, %d failed\n' "$PASS" "$FAIL"
[ "$FAIL" -eq 0 ]
