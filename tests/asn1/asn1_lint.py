#!/usr/bin/env python3
"""asn1_lint: checks asn1/modules/*.asn1 for the constructs Debian's asn1c 0.9.28 compiles
into wrong bytes without a word (NOTES-asn1c.md, rules 5, 6 and 9):

  explicit-chain   an explicit tag on a type that is not a CHOICE or an open type
                   ("[n] EXPLICIT T", or "[n] T" in an EXPLICIT TAGS module): asn1c fails to
                   decode it when the outer length is indefinite and the inner definite;
                   write "[n] CHOICE { x T }" instead.
  components-of    "COMPONENTS OF T" where T is defined later in the same module: asn1c then
                   tags T's fields EXPLICIT inside an IMPLICIT TAGS module.
  comment-end      text after a second "--" on a comment line: ASN.1 ends the comment there
                   and the rest is parsed as ASN.1.

Usage: asn1_lint.py FILE... ; exit status 1 and one "file:line: rule: message" per finding.
"""
import re
import sys

BUILTIN_OPEN = {"ANY"}


def strip_comments(text):
    """Removes ASN.1 comments, keeping line structure; returns (clean, findings)."""
    out_lines, findings = [], []
    for lineno, line in enumerate(text.split("\n"), 1):
        res, i, in_comment = [], 0, False
        comment_closed_at = None
        while i < len(line):
            if line.startswith("--", i):
                in_comment = not in_comment
                if not in_comment:
                    comment_closed_at = i + 2
                i += 2
                continue
            if line.startswith("/*", i) and not in_comment:
                j = line.find("*/", i + 2)
                i = len(line) if j < 0 else j + 2
                continue
            if not in_comment:
                res.append(line[i])
            i += 1
        if comment_closed_at is not None and line[comment_closed_at:].strip() and \
                not line[comment_closed_at:].strip().startswith("--"):
            findings.append((lineno, "comment-end",
                             "text after a second '--' is parsed as ASN.1: %r"
                             % line[comment_closed_at:].strip()[:40]))
        out_lines.append("".join(res))
    return "\n".join(out_lines), findings


def modules(clean):
    """Yields (name, default_tagging, body, first_line) per module."""
    pat = re.compile(r"([A-Z][\w-]*)\s*(\{[^}]*\})?\s*DEFINITIONS\s*(EXPLICIT|IMPLICIT|AUTOMATIC)?"
                     r"\s*(?:TAGS)?\s*::=\s*BEGIN(.*?)\bEND\b", re.S)
    for m in pat.finditer(clean):
        line = clean.count("\n", 0, m.start(4)) + 1
        yield m.group(1), (m.group(3) or "EXPLICIT"), m.group(4), line


def assignments(body, first_line):
    """Type assignments: name -> (line, body text)."""
    res = {}
    starts = [(m.start(), m.group(1)) for m in
              re.finditer(r"^\s*([A-Z][\w-]*)\s*::=", body, re.M)]
    for k, (pos, name) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(body)
        text = body[pos:end].split("::=", 1)[1]
        res[name] = (first_line + body.count("\n", 0, pos), text.strip())
    return res


def kind_of(type_text, types, depth=0):
    """'choice', 'open', 'tagged' or 'other' for a type expression."""
    t = type_text.strip()
    if depth > 20:
        return "other"
    if re.match(r"CHOICE\b", t):
        return "choice"
    if re.match(r"ANY\b", t) or re.match(r"[A-Z][\w-]*\.&[A-Z]", t):
        return "open"
    if t.startswith("["):
        return "tagged"
    m = re.match(r"([A-Z][\w-]*)", t)
    if m and m.group(1) in types:
        return kind_of(types[m.group(1)][1], types, depth + 1)
    return "other"


def lint_file(path):
    text = open(path, encoding="utf-8").read()
    clean, findings = strip_comments(text)
    all_types = {}
    mods = list(modules(clean))
    for _, _, body, line in mods:
        all_types.update(assignments(body, line))
    for name, tagging, body, first_line in mods:
        types = assignments(body, first_line)
        # Tags followed by the tagged type: [class n] [IMPLICIT|EXPLICIT] Type
        for m in re.finditer(r"\[\s*(?:UNIVERSAL|APPLICATION|PRIVATE)?\s*\d+\s*\]\s*"
                             r"(IMPLICIT|EXPLICIT)?\s*([A-Z][\w-]*(?:\s*\{)?|CHOICE|ANY)", body):
            mode = m.group(1)
            target = m.group(2).rstrip("{ ").strip()
            line = first_line + body.count("\n", 0, m.start())
            explicit = mode == "EXPLICIT" or (mode is None and tagging == "EXPLICIT")
            if not explicit:
                continue
            kind = kind_of(target, all_types)
            if target in ("CHOICE",) or kind == "choice" or kind == "open":
                continue
            findings.append((line, "explicit-chain",
                             "explicit tag on %s (not a CHOICE or open type): write "
                             "[n] CHOICE { x %s }" % (target, target)))
        for m in re.finditer(r"COMPONENTS\s+OF\s+([A-Z][\w-]*)", body):
            target = m.group(1)
            line = first_line + body.count("\n", 0, m.start())
            if target in types and types[target][0] > line:
                findings.append((line, "components-of",
                                 "COMPONENTS OF %s, defined later (line %d): define it first"
                                 % (target, types[target][0])))
    return [(path, l, r, msg) for l, r, msg in sorted(findings)]


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    found = []
    for p in argv[1:]:
        found += lint_file(p)
    for path, line, rule, msg in found:
        print("%s:%d: %s: %s" % (path, line, rule, msg))
    print("asn1_lint: %d file(s), %d finding(s)" % (len(argv) - 1, len(found)))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
