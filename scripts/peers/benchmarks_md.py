#!/usr/bin/env python3
"""Writes one section of BENCHMARKS.md: the text on stdin replaces what is between
`<!-- NAME:begin -->` and `<!-- NAME:end -->` (markers included in the input), or is
appended when the section is new. Every bench script writes its figures through this.

usage: benchmarks_md.py NAME [BENCHMARKS.md] < section
"""

import re
import sys


def main():
    name = sys.argv[1]
    path = sys.argv[2] if len(sys.argv) > 2 else "BENCHMARKS.md"
    block = sys.stdin.read().strip()
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if not (block.startswith(begin) and block.endswith(end)):
        sys.exit(f"benchmarks_md: the section must start with {begin} and end with {end}")
    text = open(path).read()
    if begin in text:
        text = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    open(path, "w").write(text)
    print(block)


if __name__ == "__main__":
    main()
