"""Issue 16: /docs and /redoc work offline (every asset from the service itself, pinned and licensed)."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
import pytest

from service.http.offline_docs import STATIC_DIR

pytestmark = pytest.mark.integration


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.refs.append(value)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_no_external_url(client: httpx.Client, page: str) -> None:
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    parser = _Refs()
    parser.feed(html)
    assert parser.refs, "the page loads no assets?"
    for ref in parser.refs:
        assert not urlsplit(ref).netloc and not ref.startswith("//"), f"{page} references {ref}"
        asset = client.get(ref)
        assert asset.status_code == 200 and len(asset.content) > 500, (ref, asset.status_code)
    # nothing in the page text points at another host either (CDNs, fonts, the swagger validator)
    external = re.findall(r"https?://[^\s'\"<>)]+", html)
    assert not external, external
    assert "openapi.json" in html


def test_swagger_ui_has_no_online_validator(client: httpx.Client) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


def test_vendored_assets_match_the_pinned_checksums_and_ship_licences() -> None:
    readme = (STATIC_DIR / "README.md").read_text()
    pinned = {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, re.MULTILINE)}
    assert set(pinned) == {"swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css", "redoc/redoc.standalone.js"}
    for name, digest in pinned.items():
        assert hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest() == digest, name
    assert "Apache License" in (STATIC_DIR / "swagger-ui" / "LICENSE").read_text()
    assert "MIT License" in (STATIC_DIR / "redoc" / "LICENSE").read_text()
