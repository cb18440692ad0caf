"""``--format junit``: one test suite per file, one test case per rule. CI systems show it natively."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from preflight.render.options import RenderOptions
from preflight.model.report import FileResult, Report


def render(report: Report, options: RenderOptions) -> str:
    root = ET.Element("testsuites", name="preflight")
    for result in report.results:
        root.append(_suite(result, report.fail_level))
    s = report.summary
    root.set("tests", str(sum(len(r.findings) or 1 for r in report.results)))
    root.set("failures", str(sum(int(c.get("failures", 0)) for c in root)))
    root.set("errors", str(s["errors"]))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _suite(result: FileResult, fail_level: str) -> ET.Element:
    suite = ET.Element("testsuite", name=result.path)
    if result.not_fetched:
        case = ET.SubElement(suite, "testcase", classname=result.path, name="file.fetched")
        failed = result.verdict == "fail"
        ET.SubElement(case, "failure" if failed else "skipped", message=result.error or "", type="not-fetched")
        suite.attrib.update(tests="1", failures=str(int(failed)), errors="0", skipped=str(int(not failed)))
        return suite
    if result.error is not None:
        case = ET.SubElement(suite, "testcase", classname=result.path, name="file.readable")
        ET.SubElement(case, "error", message=result.error, type="unusable-input")
        suite.attrib.update(tests="1", failures="0", errors="1", skipped="0")
        return suite
    failures = skipped = 0
    for f in result.findings:
        case = ET.SubElement(suite, "testcase", classname=result.path, name=f.rule)
        if f.fails_at(fail_level):
            failures += 1
            node = ET.SubElement(case, "failure", message=f.message, type=f.severity)
            node.text = f"{f.message}\nfix: {f.fix}\nsource: {f.source}"
        elif f.outcome == "skip":
            skipped += 1
            ET.SubElement(case, "skipped", message=f.message)
        elif f.outcome == "fail":  # below --fail-level: passes, but say so
            ET.SubElement(case, "system-out").text = f"{f.severity}: {f.message}\nfix: {f.fix}"
    suite.attrib.update(tests=str(len(result.findings)), failures=str(failures), errors="0", skipped=str(skipped))
    return suite
