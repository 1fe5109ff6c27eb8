#!/usr/bin/env python3
"""sql_definitions: every SQL function, view, trigger and policy is defined in exactly one file
of sql/, every function and view lives in sql/api/ (repeatable), sql/api/ holds nothing else,
and every function or view is used: named by a C file under daemon/, by another SQL statement
(a function body, trigger, policy, generated column, constraint), or marked
`-- entry point: WHY` in the comment above its definition (called by operators, not by code).

Usage: check_sql.py SRCDIR            check the tree
       check_sql.py --self-test SRCDIR  copy the tree, break it twice, expect both failures
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

DEF = re.compile(r'CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?'
                 r'(FUNCTION|VIEW|TRIGGER|POLICY)\s+([A-Za-z_][A-Za-z_0-9.]*)'
                 r'(?:[^;]*?\bON\s+([A-Za-z_][A-Za-z_0-9.]*))?', re.I | re.S)


GRANT = re.compile(r'(GRANT|REVOKE|COMMENT)\b', re.I)


def raw_statements(text):
    """Top-level statements of an SQL file as (lead comment lines, statement text as written)."""
    out, i, start, n = [], 0, 0, len(text)
    while i < n:
        if text.startswith('--', i):
            j = text.find('\n', i)
            i = n if j < 0 else j + 1
        elif text.startswith('/*', i):
            i = text.index('*/', i) + 2
        elif text[i] == "'":
            i = text.index("'", i + 1) + 1
        elif text[i] == '$' and re.match(r'\$(\w*)\$', text[i:]):
            tag = re.match(r'\$(\w*)\$', text[i:]).group(0)
            i = text.index(tag, i + len(tag)) + len(tag)
        elif text[i] == ';':
            out.append(text[start:i + 1])
            start = i = i + 1
        else:
            i += 1
    res = []
    for chunk in out:
        lines = chunk.strip('\n').split('\n')
        k = 0
        while k < len(lines) and (not lines[k].strip() or lines[k].lstrip().startswith('--')):
            k += 1
        res.append(('\n'.join(lines[:k]), '\n'.join(lines[k:])))
    return res


def statements(text):
    """raw_statements with the comments taken out of each statement."""
    return [(lead, re.sub(r'--[^\n]*', '', st)) for lead, st in raw_statements(text)]


def c_code(path):
    """A C file without its comments (string literals kept: that is where the SQL is)."""
    s = open(path, encoding='utf-8').read()
    return re.sub(r'"(?:\\.|[^"\\\n])*"|/\*.*?\*/|//[^\n]*',
                  lambda m: m.group(0) if m.group(0).startswith('"') else ' ', s, flags=re.S)


def sql_files(src):
    root = os.path.join(src, 'sql')
    for dirpath, _, names in os.walk(root):
        for name in sorted(names):
            if name.endswith('.sql'):
                yield os.path.relpath(os.path.join(dirpath, name), src)


def check(src):
    errors = []
    defs = {}  # (kind, name[, table]) -> [(file, lead)]
    stmts = []  # (file, index, text) of every statement, for references
    for rel in sql_files(src):
        in_api = rel.startswith('sql/api/')
        for idx, (lead, st) in enumerate(statements(open(os.path.join(src, rel)).read())):
            stmts.append((rel, idx, st))
            head = st.lstrip()
            m = DEF.match(head)
            if m:
                kind, name = m.group(1).upper(), m.group(2).lower()
                key = (kind, name, (m.group(3) or '').lower() if kind in ('TRIGGER', 'POLICY') else '')
                defs.setdefault(key, []).append((rel, idx, lead))
                if kind in ('FUNCTION', 'VIEW') and not in_api:
                    errors.append(f'{rel}: {kind.lower()} {name} belongs in sql/api/')
                if in_api and kind not in ('FUNCTION', 'VIEW'):
                    errors.append(f'{rel}: a {kind.lower()} belongs in a schema migration')
                if in_api and not re.match(r'CREATE\s+OR\s+REPLACE', head, re.I):
                    errors.append(f'{rel}: {name} must be CREATE OR REPLACE (the file is re-applied)')
            elif in_api and not GRANT.match(head):
                errors.append(f'{rel}: only functions, views and their grants belong in sql/api/: '
                              f'{" ".join(head.split())[:60]}')
    for key, where in sorted(defs.items()):
        if len(where) > 1:
            errors.append(f'{key[0].lower()} {key[1]}{" ON " + key[2] if key[2] else ""} is defined '
                          f'{len(where)} times: {", ".join(w[0] for w in where)}')
    c_text = []
    for dirpath, _, names in os.walk(os.path.join(src, 'daemon')):
        c_text += [c_code(os.path.join(dirpath, n)) for n in names if n.endswith(('.c', '.h'))]
    c_all = '\n'.join(c_text)
    for (kind, name, _), where in sorted(defs.items()):
        if kind not in ('FUNCTION', 'VIEW'):
            continue
        if any('entry point:' in lead for _, _, lead in where):
            continue
        short = name.split('.')[-1]
        pat = re.compile(r'\bapi\.' + short + r'\b' if name.startswith('api.')
                         else r'(?<![.\w])' + short + r'\b', re.I)
        own = {(f, i) for f, i, _ in where}
        used = pat.search(c_all) or any(pat.search(st) for f, i, st in stmts
                                        if (f, i) not in own and not GRANT.match(st.lstrip()))
        if not used:
            errors.append(f'{kind.lower()} {name} ({where[0][0]}) is never called: no C file under '
                          f'daemon/, no SQL object uses it, and it is not marked "-- entry point:"')
    return errors


def self_test(src):
    """The check fails on a copy with a function defined twice and on one with a dead function."""
    ok = True
    cases = {
        'defined twice': ('sql/schema/099_again.sql',
                          'CREATE OR REPLACE FUNCTION api.ts(t timestamptz) RETURNS text\n'
                          '    LANGUAGE sql AS $$ SELECT t::text $$;\n', 'is defined 2 times'),
        'never called': ('sql/api/zz_dead.sql',
                         'CREATE OR REPLACE FUNCTION api.nobody_calls_me() RETURNS int\n'
                         '    LANGUAGE sql AS $$ SELECT 1 $$;\n', 'is never called'),
    }
    for what, (rel, text, expect) in cases.items():
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(os.path.join(src, 'sql'), os.path.join(tmp, 'sql'))
            shutil.copytree(os.path.join(src, 'daemon'), os.path.join(tmp, 'daemon'))
            with open(os.path.join(tmp, rel), 'w') as f:
                f.write(text)
            r = subprocess.run([sys.executable, __file__, tmp], capture_output=True, text=True)
            good = r.returncode == 1 and expect in r.stdout
            said = [l for l in r.stdout.splitlines() if expect in l] or [r.stdout + r.stderr]
            print(f'{"ok" if good else "not ok"} - a tree with a function {what} fails: {said[0]}')
            ok &= good
    return 0 if ok else 1


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--self-test':
        return self_test(sys.argv[2])
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    errors = check(sys.argv[1])
    for e in errors:
        print('not ok -', e)
    if not errors:
        print('ok - every SQL object is defined once, in its place, and used')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
