"""The URL guard (SSRF): links to this machine or its private networks are refused before any
connection, at every redirect, and however the host name resolves. Every server here listens on
loopback; the tests assert the refused ones were never asked for anything."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import httpx
import pytest

from preflight.cli import main
from preflight.errors import UnusableInput
from preflight.remote.guard import GuardedTransport, Refused, client, download, forbidden
from tests.support.http_media import serving
from tests.support.media_factory import make_image


@pytest.mark.parametrize(("address", "why"), [
    ("127.0.0.1", "loopback"), ("127.9.9.9", "loopback"), ("::1", "loopback"), ("10.0.0.5", "private"),
    ("172.16.3.4", "private"), ("192.168.1.1", "private"), ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"), ("224.0.0.251", "multicast"), ("0.0.0.0", "unspecified"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.1.2.3", "private"), ("100.64.0.1", "shared (carrier-grade NAT)"),
    ("240.0.0.1", "private"), ("fc00::1", "private"),
    ("93.184.215.14", None), ("2606:4700::1111", None),
])
def test_which_addresses_are_refused(address: str, why: str | None) -> None:
    assert forbidden(ipaddress.ip_address(address)) == why


@pytest.fixture
def site(tmp_path: Path):  # type: ignore[no-untyped-def]
    make_image(tmp_path / "head.jpg", size=(640, 640))
    with serving(tmp_path) as (base, requests):
        yield base, requests


def test_a_loopback_link_is_refused_before_connecting(site) -> None:  # type: ignore[no-untyped-def]
    base, requests = site
    with client() as http, pytest.raises(Refused, match="loopback address"):
        http.get(f"{base}/f/head.jpg")
    assert list(requests) == []  # never fetched


def test_a_name_that_resolves_to_a_private_address_is_refused_without_a_connection() -> None:
    transport = GuardedTransport(resolver=lambda host, port: ["10.20.30.40"])
    with httpx.Client(transport=transport) as http, pytest.raises(Refused, match="private address"):
        http.get("http://media.example.test/take.mp4")  # no socket is opened: the refusal comes first


def test_any_private_answer_among_several_refuses_the_name() -> None:
    transport = GuardedTransport(resolver=lambda host, port: ["93.184.215.14", "127.0.0.1"])
    with pytest.raises(Refused, match="loopback"):
        transport.pinned("rebind.example.test", 80)


def test_the_checked_address_is_the_one_connected_to(site) -> None:  # type: ignore[no-untyped-def]
    """A name is resolved once, checked, and that address is connected to, with the name kept as Host."""
    base, requests = site
    port = int(base.rsplit(":", 1)[1])
    transport = GuardedTransport(allow=["127.0.0.1/32"], resolver=lambda host, p: ["127.0.0.1"])
    with httpx.Client(transport=transport) as http:
        reply = http.get(f"http://media.example.test:{port}/f/head.jpg")
    assert reply.status_code == 200 and requests[-1][0] == "/f/head.jpg"


def test_every_redirect_is_checked_and_a_refused_hop_is_never_fetched(tmp_path: Path) -> None:
    """127.0.0.1 is let through here; it redirects to 127.0.0.2, which is not, and is never asked."""
    make_image(tmp_path / "head.jpg", size=(640, 640))
    with serving(tmp_path, host="127.0.0.2") as (inner, inner_requests), \
            serving(tmp_path, redirect_to=inner) as (outer, outer_requests):
        with httpx.Client(transport=GuardedTransport(allow=["127.0.0.1/32"]), follow_redirects=True) as http, \
                pytest.raises(Refused, match="127.0.0.2"):
            http.get(f"{outer}/away/head.jpg")
        assert [p for p, _ in outer_requests] == ["/away/head.jpg"] and list(inner_requests) == []


def test_download_refuses_other_schemes_and_oversize_files(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, requests = site
    with pytest.raises(UnusableInput, match="only http and https"):
        download("ftp://example.test/x.mp4", tmp_path / "x", max_bytes=10)
    with pytest.raises(UnusableInput, match="larger than"):
        download(f"{base}/f/head.jpg", tmp_path / "y", max_bytes=1000, allow=["127.0.0.0/8"])
    assert download(f"{base}/f/head.jpg", tmp_path / "z", max_bytes=10**7, allow=["127.0.0.0/8"]) > 1000


def test_check_public_urls_only_refuses_a_loopback_link(site, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    base, requests = site
    code = main(["check", "--public-urls-only", "--format", "json", f"{base}/f/head.jpg"])
    (result,) = json.loads(capsys.readouterr().out)["results"]
    reachable = next(f for f in result["findings"] if f["rule"] == "url.reachable")
    assert code == 1 and reachable["outcome"] == "fail" and "loopback address" in reachable["message"]
    assert list(requests) == []
    assert main(["check", "--format", "json", f"{base}/f/head.jpg"]) in (0, 1)  # without the guard: fetched
    assert requests


def test_the_library_takes_the_guard_too(site) -> None:  # type: ignore[no-untyped-def]
    import preflight

    base, requests = site
    report = preflight.check(f"{base}/f/head.jpg", public_urls_only=True)
    assert report.results[0].verdict == "fail" and list(requests) == []
