"""JUnit XML for CI systems: one testcase per checker.

invalid → ``<failure>``, unknown → ``<error>`` (CI must not pass a run
nobody could judge), valid → a passing testcase.  The message is the
checker's one-line reason; the body a bounded excerpt of the evidence.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Sequence

from checkers.result import CheckResult

MAX_BODY = 64_000
# XML 1.0 cannot carry most control characters, even escaped.
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(s: str) -> str:
    return _BAD_XML.sub("\ufffd", s)


def junit_xml(results: Sequence[CheckResult], suite_name: str, *,
              report_path: str | None = None) -> bytes:
    failures = sum(1 for r in results if r.valid is False)
    errors = sum(1 for r in results if r.valid is not False and r.valid is not True)
    total = sum(r.elapsed_s for r in results)
    suites = ET.Element("testsuites", name="splitbrain", tests=str(len(results)),
                        failures=str(failures), errors=str(errors), time=f"{total:.3f}")
    suite = ET.SubElement(suites, "testsuite", name=_clean(suite_name), tests=str(len(results)),
                          failures=str(failures), errors=str(errors), skipped="0",
                          time=f"{total:.3f}")
    if report_path:  # properties come first in the JUnit schema
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="report", value=_clean(str(report_path)))
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=_clean(suite_name),
                             name=_clean(r.checker), time=f"{r.elapsed_s:.3f}")
        if r.valid is True:
            continue
        tag, typ = ("failure", "invalid") if r.valid is False else ("error", "unknown")
        el = ET.SubElement(case, tag, message=_clean(r.summary), type=typ)
        body = json.dumps(r.evidence, indent=1, default=str)
        if len(body) > MAX_BODY:
            body = body[:MAX_BODY] + "\n… (evidence cut; see the HTML report)"
        el.text = _clean(r.summary + "\n\n" + body)
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)


def write_junit(path: str | os.PathLike, results: Sequence[CheckResult], suite_name: str,
                *, report_path: str | None = None) -> Path:
    p = Path(path)
    if p.parent != Path(""):
        p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_bytes(junit_xml(results, suite_name, report_path=report_path))
    tmp.replace(p)
    return p
