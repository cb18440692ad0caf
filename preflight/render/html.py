"""``check --report FILE.html``: one self-contained page (no scripts, no fetches) that shows *why*.

Per file: the verdict, the failing rules with their fix hints; for a video a contact sheet of sampled
frames with the detected face boxes drawn, and timelines of face count, speech, lip opening and
sound level with the speaking/listening segments and the failing spans marked; for an image the image
with its face boxes and framing guides. Everything drawn comes from the report (facts, findings,
thumbnails); nothing is measured here.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from preflight.model.report import Thumb
from preflight.render.options import RenderOptions
from preflight.model.report import FileResult, Finding, Report
from preflight.model.report import SEVERITIES
from preflight.model.units import clock

_W, _ROW, _LABEL = 900, 34, 110  # timeline width, row height, label column (SVG user units)
_SEGMENT_COLOURS = {"speaking": "#dbeafe", "listening": "#ede9fe"}
_CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1f2328}
header{background:#1f2328;color:#fff;padding:16px 28px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#c9d1d9}main{padding:12px 28px 40px;max-width:1180px}
section.file{background:#fff;border:1px solid #d0d7de;border-radius:8px;margin:18px 0;padding:14px 18px}
section.file h2{font-size:17px;margin:0 0 6px;word-break:break-all}
.badge{display:inline-block;border-radius:4px;padding:1px 8px;margin-right:8px;color:#fff;font-size:13px;font-weight:600}
.pass{background:#1a7f37}.fail{background:#cf222e}.error{background:#8250df}.skip{background:#9a6700}
.meta{color:#57606a;font-size:13px;margin:0 0 10px}
ul.findings{list-style:none;padding:0;margin:6px 0 12px}ul.findings li{margin:6px 0;padding:6px 10px;border-left:4px solid}
li.sev-error{border-color:#cf222e;background:#fff5f5}li.sev-warning{border-color:#bf8700;background:#fffbea}
li.sev-info{border-color:#0969da;background:#f0f7ff}.rule{font-family:ui-monospace,monospace;font-weight:600}
.hint{color:#57606a;display:block}.hint::before{content:"fix: ";font-weight:600}
details{margin:6px 0;color:#57606a}h3{font-size:14px;margin:14px 0 6px;color:#57606a;text-transform:uppercase;letter-spacing:.04em}
.sheet{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:8px}
figure{margin:0;position:relative}figure img{display:block;width:100%;height:auto;border-radius:4px}
figure svg.boxes{position:absolute;left:0;top:0;width:100%;height:100%}
figcaption{font-size:12px;color:#57606a}.still{max-width:480px}
svg.timeline{width:100%;height:auto;background:#fff;border:1px solid #eaeef2;border-radius:4px}
.legend{font-size:12px;color:#57606a;margin:4px 0}.legend span{display:inline-block;width:12px;height:12px;vertical-align:middle;margin:0 4px 0 10px}
"""


def render(report: Report, options: RenderOptions) -> str:
    summary = f"{report.files_text}: {report.tally_text}"
    files = "\n".join(_file(r, report.fail_level) for r in report.results)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>preflight report — {escape(summary)}</title><style>{_CSS}</style></head><body>"
            f"<header><h1>preflight report</h1><p id=\"summary\">{escape(summary)} · failing at "
            f"{escape(report.fail_level)} · preflight {escape(report.tool_version)}</p></header>"
            f"<main>{files}</main></body></html>\n")


def _file(r: FileResult, fail_level: str) -> str:
    head = f"<h2><span class=\"badge {r.verdict}\">{r.verdict.upper()}</span>{escape(r.path)}</h2>"
    if r.error is not None:
        return f"<section class=\"file\" data-verdict=\"{r.verdict}\">{head}<p>{escape(r.error)}</p></section>"
    facts = r.facts or {}
    meta = f"<p class=\"meta\">{escape(str(r.kind))} · rule set {escape(str(r.ruleset))}{_dimensions(facts)}" \
           f"{' · from the cache' if r.cached else ''}</p>"
    body = [head, meta, _findings(r.findings, fail_level)]
    if r.kind == "video":
        body += [_timelines(facts, r.findings), _sheet(r.preview, facts)]
    elif r.kind == "image":
        body.append(_image(r.preview, facts))
    return f"<section class=\"file\" data-verdict=\"{r.verdict}\">{''.join(body)}</section>"


def _dimensions(facts: dict[str, Any]) -> str:
    size = f" · {facts['width']}×{facts['height']}" if facts.get("width") else ""
    duration = f" · {clock(facts['duration_s'])}" if facts.get("duration_s") else ""
    return escape(size + duration)


def _findings(findings: list[Finding], fail_level: str) -> str:
    failing = sorted((f for f in findings if f.outcome == "fail"), key=lambda f: -SEVERITIES.index(f.severity))
    items = "".join(f"<li class=\"sev-{f.severity}\"><span class=\"rule\">{escape(f.rule)}</span> "
                    f"({escape(f.severity)}{'' if f.fails_at(fail_level) else ', not failing'}): "
                    f"{escape(f.message)}<span class=\"hint\">{escape(f.fix)}</span></li>" for f in failing)
    out = f"<ul class=\"findings\">{items}</ul>" if items else "<p>No rule failed.</p>"
    others = [f for f in findings if f.outcome != "fail"]
    if others:
        rows = "".join(f"<li><span class=\"rule\">{escape(f.rule)}</span> {f.outcome}: {escape(f.message)}</li>"
                       for f in others)
        out += f"<details><summary>{len(others)} rules passed or skipped</summary><ul>{rows}</ul></details>"
    return out


# --- pictures ---------------------------------------------------------------------------------


def _img(thumb: Thumb, alt: str) -> str:
    data = base64.b64encode(thumb.jpeg).decode("ascii")
    return (f"<img src=\"data:image/jpeg;base64,{data}\" width=\"{thumb.width}\" height=\"{thumb.height}\" "
            f"alt=\"{escape(alt)}\">")


def _boxes(faces: list[dict[str, Any]], guides: bool = False) -> str:
    """Face boxes (and framing guides) over a picture, in the picture's own 0..1 coordinates."""
    colour = "#1a7f37" if len(faces) == 1 else "#cf222e"
    shapes = []
    if guides:
        shapes += ["<line x1=\"0.5\" y1=\"0\" x2=\"0.5\" y2=\"1\" class=\"guide\"/>",
                   "<line x1=\"0\" y1=\"0.5\" x2=\"1\" y2=\"0.5\" class=\"guide\"/>"]
        shapes += [f"<line x1=\"{x}\" y1=\"0\" x2=\"{x}\" y2=\"1\" class=\"third\"/>" for x in ("0.3333", "0.6667")]
        shapes += [f"<line x1=\"0\" y1=\"{y}\" x2=\"1\" y2=\"{y}\" class=\"third\"/>" for y in ("0.3333", "0.6667")]
    for i, f in enumerate(faces):
        shapes.append(f"<rect class=\"face\" x=\"{f['x']:.4f}\" y=\"{f['y']:.4f}\" width=\"{f['w']:.4f}\" "
                      f"height=\"{f['h']:.4f}\" stroke=\"{colour}\"><title>face {i + 1}: {escape(f['pose'])}, "
                      f"{f['h']:.0%} of the height</title></rect>")
    style = ("<style>.face{fill:none;stroke-width:2.5px;vector-effect:non-scaling-stroke}"
             ".guide{stroke:#fff;stroke-opacity:.8;stroke-dasharray:4 3;stroke-width:1px;vector-effect:non-scaling-stroke}"
             ".third{stroke:#fff;stroke-opacity:.45;stroke-width:1px;vector-effect:non-scaling-stroke}</style>")
    return (f"<svg class=\"boxes\" viewBox=\"0 0 1 1\" preserveAspectRatio=\"none\" aria-hidden=\"true\">"
            f"{style}{''.join(shapes)}</svg>")


def _sheet(thumbs: list[Thumb], facts: dict[str, Any]) -> str:
    if not thumbs:
        return ""
    samples = (facts.get("picture") or {}).get("samples") or []
    figures = []
    for thumb in thumbs:
        sample = min(samples, key=lambda s: abs(s["t"] - (thumb.t or 0.0)), default=None)
        faces = sample["faces"] if sample else []
        when = clock(thumb.t or 0.0)
        caption = f"{when} · {len(faces)} face{'s' * (len(faces) != 1)}"
        figures.append(f"<figure>{_img(thumb, f'frame at {when}')}{_boxes(faces)}"
                       f"<figcaption>{escape(caption)}</figcaption></figure>")
    return f"<h3>Sampled frames</h3><div class=\"sheet\">{''.join(figures)}</div>"


def _image(thumbs: list[Thumb], facts: dict[str, Any]) -> str:
    if not thumbs:
        return ""
    faces = facts.get("faces") or []
    caption = f"{len(faces)} face{'s' * (len(faces) != 1)} found · dashed: centre lines · faint: thirds"
    return (f"<h3>Image</h3><figure class=\"still\">{_img(thumbs[0], 'the image')}{_boxes(faces, guides=True)}"
            f"<figcaption>{escape(caption)}</figcaption></figure>")


# --- timelines --------------------------------------------------------------------------------


def _timelines(facts: dict[str, Any], findings: list[Finding]) -> str:
    duration = facts.get("video_duration_s") or facts.get("duration_s") or 0.0
    picture, audio = facts.get("picture") or {}, facts.get("audio") or {}
    samples = picture.get("samples") or []
    if not duration or not (samples or audio):
        return ""
    x = _Scale(duration)
    lips = [(s.get("landmarks") or {}).get("lips") for s in samples]
    rows = [("faces", _face_row(samples, picture.get("sample_fps") or 2.0, x)),
            ("speech", _bars(audio.get("speech_per_s") or [], 1.0, 0.0, 1.0, "#0969da", x)),
            ("lip opening", _bars(lips, 1.0 / (picture.get("sample_fps") or 2.0), 0.0, max(0.3, _top(lips)),
                                  "#8250df", x, [s["t"] for s in samples])),
            ("level (dBFS)", _bars(audio.get("level_per_s") or [], 1.0, -70.0, 0.0, "#57606a", x))]
    problems = [(f, a, b) for f in findings if f.outcome == "fail" for a, b in f.spans]
    height = _ROW * (len(rows) + 1) + 26
    parts = [_segments(audio.get("segments") or [], x, height)]
    for i, (label, shapes) in enumerate(rows):
        y = i * _ROW
        parts.append(f"<g transform=\"translate(0,{y})\"><text x=\"4\" y=\"{_ROW / 2 + 4}\" font-size=\"12\" "
                     f"fill=\"#57606a\">{escape(label)}</text>{shapes}"
                     f"<line x1=\"{_LABEL}\" y1=\"{_ROW}\" x2=\"{_W}\" y2=\"{_ROW}\" stroke=\"#eaeef2\"/></g>")
    parts.append(_problem_row(problems, x, len(rows) * _ROW))
    parts.append(_axis(duration, x, (len(rows) + 1) * _ROW))
    legend = ("<p class=\"legend\">segments:<span style=\"background:#dbeafe\"></span>speaking"
              "<span style=\"background:#ede9fe\"></span>listening · faces:"
              "<span style=\"background:#1a7f37\"></span>one<span style=\"background:#cf222e\"></span>none or several"
              " · <span style=\"background:#cf222e;opacity:.35\"></span>where a rule failed</p>")
    return (f"<h3>Timelines</h3><svg class=\"timeline\" viewBox=\"0 0 {_W} {height}\" role=\"img\" "
            f"aria-label=\"timelines\">{''.join(parts)}</svg>{legend}")


class _Scale:
    def __init__(self, duration: float) -> None:
        self.duration = duration

    def __call__(self, t: float) -> float:
        return _LABEL + (_W - _LABEL - 8) * min(max(t / self.duration, 0.0), 1.0)


def _top(values: list[Any]) -> float:
    present = sorted(v for v in values if v is not None)
    return max(present[int(0.98 * (len(present) - 1))] if present else 1.0, 1e-6)


def _segments(segments: list[dict[str, Any]], x: _Scale, height: float) -> str:
    out = []
    for seg in segments:
        x0, x1 = x(seg["start_s"]), x(seg["end_s"])
        colour = _SEGMENT_COLOURS.get(seg["kind"], "#eee")
        out.append(f"<rect x=\"{x0:.1f}\" y=\"0\" width=\"{x1 - x0:.1f}\" height=\"{height - 26}\" fill=\"{colour}\">"
                   f"<title>{escape(seg['kind'])} {clock(seg['start_s'])}–{clock(seg['end_s'])}</title></rect>"
                   f"<text x=\"{x0 + 4:.1f}\" y=\"{height - 30}\" font-size=\"11\" fill=\"#57606a\">"
                   f"{escape(seg['kind'])}</text>")
    return "".join(out)


def _face_row(samples: list[dict[str, Any]], fps: float, x: _Scale) -> str:
    out = []
    for s in samples:
        n = len(s["faces"])
        colour = "#1a7f37" if n == 1 else "#cf222e"
        x0, x1 = x(s["t"]), x(s["t"] + 1.0 / fps)
        out.append(f"<rect x=\"{x0:.1f}\" y=\"8\" width=\"{max(x1 - x0, 1):.1f}\" height=\"{_ROW - 16}\" "
                   f"fill=\"{colour}\"><title>{clock(s['t'])}: {n} face{'s' * (n != 1)}</title></rect>")
    return "".join(out)


def _bars(values: list[Any], step: float, low: float, high: float, colour: str, x: _Scale,
          times: list[float] | None = None) -> str:
    out = []
    for i, v in enumerate(values):
        if v is None:
            continue
        t = times[i] if times is not None else i * step
        share = min(max((v - low) / (high - low), 0.0), 1.0)
        h = (_ROW - 6) * share
        x0, x1 = x(t), x(t + step)
        out.append(f"<rect x=\"{x0:.1f}\" y=\"{_ROW - 2 - h:.1f}\" width=\"{max(x1 - x0 - 0.5, 0.8):.1f}\" "
                   f"height=\"{h:.1f}\" fill=\"{colour}\"><title>{clock(t)}: {v:.3g}</title></rect>")
    return "".join(out)


def _problem_row(problems: list[tuple[Finding, float, float]], x: _Scale, y: float) -> str:
    out = [f"<text x=\"4\" y=\"{y + _ROW / 2 + 4}\" font-size=\"12\" fill=\"#cf222e\">problems</text>"]
    for f, a, b in problems:
        x0, x1 = x(a), x(b)
        out.append(f"<rect x=\"{x0:.1f}\" y=\"{y + 6}\" width=\"{max(x1 - x0, 2):.1f}\" height=\"{_ROW - 12}\" "
                   f"fill=\"#cf222e\" fill-opacity=\"0.35\" stroke=\"#cf222e\"><title>{escape(f.rule)} "
                   f"{clock(a)}–{clock(b)}: {escape(f.message)}</title></rect>")
    return "".join(out)


def _axis(duration: float, x: _Scale, y: float) -> str:
    step = next((s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600) if duration / s <= 12), duration / 10)
    ticks = []
    t = 0.0
    while t <= duration + 1e-6:
        ticks.append(f"<line x1=\"{x(t):.1f}\" y1=\"{y}\" x2=\"{x(t):.1f}\" y2=\"{y + 5}\" stroke=\"#8c959f\"/>"
                     f"<text x=\"{x(t):.1f}\" y=\"{y + 17}\" font-size=\"11\" text-anchor=\"middle\" "
                     f"fill=\"#57606a\">{clock(t)}</text>")
        t += step
    return "".join(ticks)
