"""Rules about a remote file's link (``https://`` or ``s3://`` inputs): can Tavus download it as it is?

They read ``facts.link`` (preflight/remote/link.py), run only for remote inputs, and are part of every
rule set. A failing link is a ``download_link`` training error waiting to happen.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from preflight.checks.registry import Verdict, failed, passed, rule, skipped
from preflight.model.facts import LinkFacts
from preflight.model.units import num


class HasLink(Protocol):
    @property
    def link(self) -> LinkFacts | None: ...


_SHARE_HINTS = {
    "Google Drive": "use a direct download link (https://drive.google.com/uc?export=download&id=FILE_ID; "
                    "files over 100 MB still answer with a warning page, so host those elsewhere)",
    "Dropbox": "change ?dl=0 to ?dl=1 at the end of the share link (or use dl.dropboxusercontent.com)",
    "OneDrive": "use the file's direct download link (Download → copy the link), not the share page",
    "Box": "use a direct shared link (Settings → Shared link → Direct link), not the share page",
}


def _link(facts: HasLink) -> LinkFacts | None:
    return facts.link


def _answered(link: LinkFacts) -> bool:
    return link.error is None and link.status is not None and 200 <= link.status < 300


@rule("url.reachable", kind="link")
def reachable(facts: HasLink) -> Verdict:
    """The link downloads without a login: it answers 200 or 206 to a plain GET, redirects followed.

    Tavus fetches the URL itself, with no credentials (``download_link`` when it cannot). Use a public
    link or a presigned URL; ``preflight submit`` makes one for local files and ``s3://`` objects.
    """
    link = _link(facts)
    if link is None:
        return skipped("not a link")
    via = f" after {link.redirects} redirect{'s' * (link.redirects != 1)}" if link.redirects else ""
    if link.error is not None:
        return failed(f"no usable answer{via}: {link.error}", link.status, "HTTP 200 or 206")
    assert link.status is not None
    if link.status in (401, 403):
        return failed(f"HTTP {link.status}{via}: the link needs a login or is not public (or its signature "
                      "is wrong or expired)", link.status, "HTTP 200 or 206")
    if link.status == 404:
        return failed(f"HTTP 404{via}: nothing at this address", link.status, "HTTP 200 or 206")
    if not 200 <= link.status < 300:
        return failed(f"HTTP {link.status}{via}", link.status, "HTTP 200 or 206")
    return passed(f"HTTP {link.status}{via}, no login needed", link.status, "HTTP 200 or 206")


@rule("url.direct_file", kind="link")
def direct_file(facts: HasLink) -> Verdict:
    """The link serves the file itself, not a web page about it (a share page of a cloud drive).

    Google Drive, Dropbox, OneDrive and Box share links open a page for people; Tavus gets that HTML
    instead of the video. Use the service's direct download link.
    """
    link = _link(facts)
    if link is None or not _answered(link):
        return skipped("the link gave no file to look at (see url.reachable)")
    if link.share_site:
        return failed(f"a {link.share_site} share page, not the file: {_SHARE_HINTS[link.share_site]}",
                      link.share_site, "the file")
    if link.html:
        return failed("the link answers with a web page (HTML), not the file: link to the file itself",
                      link.content_type, "the file")
    return passed("the link serves the file itself", link.content_type, "the file")


@rule("url.content_type", kind="link")
def content_type(facts: HasLink, *, allowed: list[str]) -> Verdict:
    """The server labels the file with a media Content-Type that matches it (e.g. ``video/mp4``).

    A download labelled as text or HTML, or not labelled at all, may be refused. Set the object's
    Content-Type when uploading (``aws s3 cp --content-type video/mp4``; ``preflight submit`` sets it).
    """
    link = _link(facts)
    if link is None or not _answered(link) or link.html:
        return skipped("the link gave no file to look at (see url.reachable, url.direct_file)")
    ctype = (link.content_type or "").split(";")[0].strip().lower()
    expected = " or ".join(allowed)
    if not ctype:
        return failed("the server sends no Content-Type", None, expected, soft=True)
    if ctype in allowed:
        return passed(f"Content-Type {ctype}", ctype, expected)
    if ctype in ("application/octet-stream", "binary/octet-stream"):
        return failed(f"Content-Type {ctype} (generic): set it to {allowed[0]}", ctype, expected, soft=True)
    return failed(f"Content-Type {ctype} does not match the media: set it to {allowed[0]}", ctype, expected)


@rule("url.size", kind="link")
def size(facts: HasLink, *, max_bytes: int) -> Verdict:
    """The server says how big the file is, and it is under the size limit.

    Without a length (a streamed, chunked answer) a download cannot be checked or resumed.
    """
    link = _link(facts)
    if link is None or not _answered(link) or link.html:
        return skipped("the link gave no file to look at (see url.reachable, url.direct_file)")
    expected = f"< {max_bytes / 1e6:.0f} MB"
    if link.length is None:
        return failed("the server does not say how big the file is (no Content-Length or Content-Range)", None,
                      expected, soft=True)
    if link.length >= max_bytes:
        return failed(f"{link.length / 1e6:.1f} MB at the link; the limit is {max_bytes / 1e6:.0f} MB", link.length,
                      expected)
    return passed(f"{link.length / 1e6:.1f} MB at the link", link.length, expected)


@rule("url.ranges", kind="link")
def ranges(facts: HasLink) -> Verdict:
    """The server answers byte-range requests (HTTP 206), so a download can resume and be read in parts.

    Most object stores and web servers do; a server that does not makes a broken download start over.
    """
    link = _link(facts)
    if link is None or not _answered(link) or link.html:
        return skipped("the link gave no file to look at (see url.reachable, url.direct_file)")
    if link.ranges:
        return passed("byte ranges are supported (HTTP 206)", True, True)
    return failed("the server ignores byte-range requests (it answered 200 with the whole file)", False, True)


@rule("url.expiry", kind="link")
def expiry(facts: HasLink, *, min_valid_h: float) -> Verdict:
    """A signed URL stays valid long enough for Tavus to download it (at least 24 hours).

    Read from the URL itself: AWS SigV4 (``X-Amz-Date`` + ``X-Amz-Expires``), SigV2 (``Expires``),
    Google Cloud Storage (``X-Goog-Date`` + ``X-Goog-Expires``), Azure SAS (``se``). Sign it again
    with a longer expiry (SigV4 allows up to 7 days), or let ``preflight submit`` sign it.
    """
    link = _link(facts)
    if link is None:
        return skipped("not a link")
    expected = f">= {num(min_valid_h)} h left"
    if link.presigned_here:
        return passed("an s3:// object: preflight signs it itself when submitting (--expires, 24 h to 7 d)",
                      None, expected)
    if link.signature is None or link.valid_for_s is None or link.expires_at is None:
        return passed("not a signed URL: it does not expire", None, expected)
    left_h = link.valid_for_s / 3600
    when = dt.datetime.fromisoformat(link.expires_at.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
    if link.valid_for_s <= 0:
        return failed(f"the {link.signature} signature expired at {when}: sign the URL again", round(left_h, 2),
                      expected)
    if left_h < min_valid_h:
        return failed(f"the {link.signature} signature expires at {when}, in {left_h:.1f} h; Tavus needs at least "
                      f"{num(min_valid_h)} h: sign it again with a longer expiry", round(left_h, 2), expected)
    return passed(f"the {link.signature} signature is valid until {when} ({left_h:.0f} h)", round(left_h, 2), expected)
