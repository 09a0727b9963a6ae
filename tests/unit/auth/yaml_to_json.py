#!/usr/bin/env python3
"""Convert a multi-document YAML test suite to one JSON array.

Used at configure time for the openspf SPF suite so the C++ test can read
it with Boost.JSON. Usage: yaml_to_json.py INPUT.yml OUTPUT.json
"""
import json
import sys

import yaml


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: yaml_to_json.py INPUT.yml OUTPUT.json", file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as src:
        documents = [d for d in yaml.safe_load_all(src) if d is not None]
    with open(sys.argv[2], "w", encoding="ascii") as dst:
        json.dump(documents, dst, default=str, ensure_ascii=True, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
