#!/usr/bin/env python3
"""Fails unless an Autobahn report (index.json) is strictly clean.

Usage: check_report.py REPORT_DIR AGENT EXPECTED_CASES ROLE

Every case must have behavior OK and behaviorClose OK. Only 7.1.6 and 7.13.x may be
INFORMATIONAL (Autobahn says their outcome depends on timing or is undefined by RFC 6455).
NON-STRICT, FAILED, UNIMPLEMENTED, UNCLEAN, WRONG CODE, FAILED BY CLIENT, ... all fail, and
so does a report with a different number of cases than expected (a testee that ran nothing
must not pass). For each offending case it prints what the case's own report says.
"""
import collections
import json
import os
import re
import sys

MAY_BE_INFORMATIONAL = re.compile(r"^7\.1\.6$|^7\.13\.\d+$")


def case_key(case_id):
    return tuple(int(part) for part in case_id.split("."))


def oneline(text, limit=400):
    text = re.sub(r"<br\s*/?>", " ", str(text or ""))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def main(argv):
    if len(argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    report_dir, agent, expected, role = argv[1], argv[2], int(argv[3]), argv[4]
    index_path = os.path.join(report_dir, "index.json")
    try:
        with open(index_path, encoding="utf-8") as f:
            index = json.load(f)
    except (OSError, ValueError) as e:
        print(f"autobahn {role}: cannot read {index_path}: {e}")
        return 1
    if agent not in index:
        print(f"autobahn {role}: agent {agent!r} not in {index_path} (agents: {sorted(index)})")
        return 1
    cases = index[agent]

    outcomes = collections.Counter()
    bad = []
    for case_id in sorted(cases, key=case_key):
        result = cases[case_id]
        behavior, close = result.get("behavior"), result.get("behaviorClose")
        outcomes[(behavior, close)] += 1
        allowed = {"OK"}
        if MAY_BE_INFORMATIONAL.match(case_id):
            allowed.add("INFORMATIONAL")
        if behavior not in allowed or close not in allowed:
            bad.append((case_id, result))

    print(f"autobahn {role}: {len(cases)} cases for agent {agent!r} in {index_path}")
    for (behavior, close), count in sorted(outcomes.items(), key=lambda kv: -kv[1]):
        print(f"  {count:4}  behavior={behavior}  behaviorClose={close}")

    failed = False
    if len(cases) != expected:
        print(f"autobahn {role}: FAIL: expected {expected} cases, the report has {len(cases)}")
        failed = True
    for case_id, result in bad:
        failed = True
        print(
            f"autobahn {role}: FAIL {case_id}: behavior={result.get('behavior')} "
            f"behaviorClose={result.get('behaviorClose')} "
            f"remoteCloseCode={result.get('remoteCloseCode')}"
        )
        detail_path = os.path.join(report_dir, result.get("reportfile") or "")
        try:
            with open(detail_path, encoding="utf-8") as f:
                detail = json.load(f)
        except (OSError, ValueError):
            print(f"    (no case report at {detail_path})")
            continue
        for field in ("description", "expectation", "result", "resultClose", "wasNotCleanReason"):
            if detail.get(field):
                print(f"    {field}: {oneline(detail[field])}")
        print(f"    details: {detail_path}")
    if failed:
        print(f"autobahn {role}: FAILED ({len(bad)} non-OK cases)")
        return 1
    print(f"autobahn {role}: all {len(cases)} cases OK (INFORMATIONAL only where allowed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
