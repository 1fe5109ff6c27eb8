#!/usr/bin/env python3
"""Folds a flat sql/NNN_name.sql (functions and views written as CREATE OR REPLACE, the way a
change was made before sql/api/ existed) into the layout of sql/README.md:

- each CREATE [OR REPLACE] FUNCTION/VIEW replaces the one definition of that name in sql/api/
  (keeping the old comment when the new one has none), or, for a new name, is appended to
  sql/api/AREA.sql (--area, required then);
- GRANT EXECUTE on functions is dropped (reimbursectl migrate grants every api function);
  a REVOKE on a function follows that function in its api file;
- everything else (DROP FUNCTION, ALTER TABLE, data) becomes sql/schema/NNN_name.sql;
- the flat file is removed. Then run `ctest -R sql_`.

Usage: tools/sql_fold.py [--area AREA] sql/NNN_name.sql [SRCDIR]
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'sql'))
from check_sql import DEF, raw_statements  # noqa: E402

FUNC_GRANT = re.compile(r'(GRANT|REVOKE)\b.*\bON\s+(ALL\s+)?FUNCTIONS?\b\s*([A-Za-z_.]*)', re.I | re.S)


def api_files(src):
    d = os.path.join(src, 'sql', 'api')
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith('.sql'))


def find_definition(src, kind, name):
    """The api file and raw statement that define (kind, name), or (None, None)."""
    for path in api_files(src):
        for lead, st in raw_statements(open(path).read()):
            m = DEF.match(st.lstrip())
            if m and m.group(1).upper() == kind and m.group(2).lower() == name:
                return path, (lead, st)
    return None, None


def replace_in(path, old, new):
    text = open(path).read()
    old_text = (old[0] + '\n' if old[0] else '') + old[1]
    if new[0].strip():
        text = text.replace(old_text, new[0] + '\n' + new[1], 1)
    else:
        text = text.replace(old[1], new[1], 1)
    open(path, 'w').write(text)


def append_to(path, lead, st):
    text = open(path).read() if os.path.exists(path) else ''
    open(path, 'w').write(text.rstrip('\n') + ('\n\n' if text else '') +
                          (lead + '\n' if lead else '') + st + '\n')


def fold(flat, src, area):
    schema, header = [], ''
    for idx, (lead, st) in enumerate(raw_statements(open(flat).read())):
        m = DEF.match(st.lstrip())
        kind = m.group(1).upper() if m else ''
        if kind in ('FUNCTION', 'VIEW'):
            name = m.group(2).lower()
            st = re.sub(r'^\s*CREATE\s+(OR\s+REPLACE\s+)?', 'CREATE OR REPLACE ', st, flags=re.I)
            path, old = find_definition(src, kind, name)
            if path:
                replace_in(path, old, (lead, st))
                print(f'{name}: replaced in {os.path.relpath(path, src)}')
            elif area:
                path = os.path.join(src, 'sql', 'api', area + '.sql')
                append_to(path, lead, st)
                print(f'{name}: new, appended to {os.path.relpath(path, src)}')
            else:
                sys.exit(f'{name} is new: give --area (one of sql/api/*.sql)')
            continue
        g = FUNC_GRANT.match(st.lstrip())
        if g and g.group(1).upper() == 'GRANT':
            continue
        if g and g.group(3):
            path, _ = find_definition(src, 'FUNCTION', g.group(3).lower())
            if path:
                append_to(path, lead, st)
                continue
        if idx == 0 and lead:
            header = lead
        schema.append((lead, st))
    base = os.path.basename(flat)
    if schema:
        out = os.path.join(src, 'sql', 'schema', base)
        with open(out, 'w') as f:
            f.write('\n'.join((lead + '\n' if lead else '') + st for lead, st in schema) + '\n')
        print(f'the rest ({len(schema)} statements) is {os.path.relpath(out, src)}')
    elif header:
        print(f'note: the file comment of {base} was not kept:\n{header}')
    os.remove(flat)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--area', help='sql/api/AREA.sql for functions and views that are new')
    ap.add_argument('flat')
    ap.add_argument('src', nargs='?', default=os.path.join(os.path.dirname(__file__), '..'))
    a = ap.parse_args()
    fold(a.flat, os.path.abspath(a.src), a.area)


if __name__ == '__main__':
    main()
