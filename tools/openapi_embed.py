#!/usr/bin/env python3
"""openapi_embed.py IN.yaml OUT.c — the API description as compact JSON in a C file.

Reads the OpenAPI description (YAML), checks that it parses to plain JSON data, and writes a C
file that defines

    const char openapi_json[];             /* the JSON, NUL-terminated */
    const unsigned long openapi_json_len;  /* its length in bytes, without the NUL */

as declared in daemon/server/openapi.h. Run by cmake/openapi.cmake at build time; needs the `yaml`
module (Debian: python3-yaml).

The YAML must mean the same to every reader: PyYAML reads YAML 1.1, the npm tools (redocly,
prism) read YAML 1.2, and the two differ on plain (unquoted) scalars such as 2024-05-01 (a date
object in 1.1), 0114 (octal 76 in 1.1), yes/no/on/off (booleans in 1.1) and 1:30 (sexagesimal
90 in 1.1). Such scalars are refused here, as are duplicate keys: quote them.
"""

import json
import os
import re
import sys

try:
    import yaml
except ImportError:
    sys.exit("openapi_embed.py: the Python module 'yaml' is missing (Debian: apt-get install python3-yaml)")


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses what YAML 1.1 and 1.2 read differently, and duplicate keys."""


def _where(node):
    m = node.start_mark
    return "%s:%d:%d" % (m.name, m.line + 1, m.column + 1)


def _refuse(loader, node, what):
    raise yaml.constructor.ConstructorError(
        None, None, "%s %r reads differently in YAML 1.1 and 1.2: quote it" % (what, node.value),
        node.start_mark)


def _timestamp(loader, node):
    _refuse(loader, node, "the unquoted date or time")


def _bool(loader, node):
    if node.value not in ("true", "false", "True", "False", "TRUE", "FALSE"):
        _refuse(loader, node, "the unquoted boolean")
    return node.value.lower() == "true"


_DECIMAL = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")


def _int(loader, node):
    if not _DECIMAL.match(node.value):
        _refuse(loader, node, "the unquoted number")
    return int(node.value)


_FLOAT = re.compile(r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?$")


def _float(loader, node):
    if not _FLOAT.match(node.value):
        _refuse(loader, node, "the unquoted number")
    return float(node.value)


def _mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, "mapping key %r is not a string" % (key,), key_node.start_mark)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "in the mapping at %s" % _where(node), node.start_mark,
                "duplicate key %r (first at %s)" % (key, seen[key]), key_node.start_mark)
        seen[key] = _where(key_node)
    return loader.construct_mapping(node, deep=deep)


def _mapping_constructor(loader, node):
    data = {}
    yield data
    data.update(_mapping(loader, node))


StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
StrictLoader.add_constructor("tag:yaml.org,2002:bool", _bool)
StrictLoader.add_constructor("tag:yaml.org,2002:int", _int)
StrictLoader.add_constructor("tag:yaml.org,2002:float", _float)
StrictLoader.add_constructor("tag:yaml.org,2002:map", _mapping_constructor)
for tag in ("binary", "omap", "pairs", "set"):
    StrictLoader.add_constructor(
        "tag:yaml.org,2002:" + tag,
        lambda loader, node, t=tag: _refuse(loader, node, "the !!%s value" % t))


def c_string_lines(data):
    """The bytes as adjacent C string literals, 72 source bytes or so per line."""
    lines, cur = [], []
    width = 0
    for b in data:
        ch = chr(b)
        if ch in '"\\?':
            piece = "\\" + ch
        elif 0x20 <= b < 0x7F:
            piece = ch
        else:
            piece = "\\%03o" % b  # octal escapes end after three digits
        cur.append(piece)
        width += len(piece)
        if width >= 72:
            lines.append('    "%s"' % "".join(cur))
            cur, width = [], 0
    if cur or not lines:
        lines.append('    "%s"' % "".join(cur))
    return lines


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: openapi_embed.py IN.yaml OUT.c")
    src, out = argv[1], argv[2]
    try:
        with open(src, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        sys.exit("openapi_embed.py: %s: %s" % (src, e))
    if not isinstance(doc, dict):
        sys.exit("openapi_embed.py: %s: not a mapping at the top" % src)
    version = doc.get("openapi")
    if not isinstance(version, str) or not version.startswith("3.1."):
        sys.exit("openapi_embed.py: %s: 'openapi' must be a 3.1.x version string, not %r" % (src, version))
    for key in ("info", "paths"):
        if not isinstance(doc.get(key), dict):
            sys.exit("openapi_embed.py: %s: '%s' is missing or not a mapping" % (src, key))
    try:
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        sys.exit("openapi_embed.py: %s: not JSON data: %s" % (src, e))
    data = text.encode("utf-8")
    body = "\n".join(c_string_lines(data))
    c = (
        "/* Generated by tools/openapi_embed.py from proto/openapi.yaml: do not edit. */\n"
        '#include "openapi.h"\n\n'
        "const char openapi_json[] =\n%s;\n"
        "const unsigned long openapi_json_len = %dUL;\n" % (body, len(data))
    )
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(c)
    os.replace(tmp, out)


if __name__ == "__main__":
    main(sys.argv)
