"""The demo page (``GET /``, ``/demo``) in a real headless browser, and its no-external-URL rule.

The browser test drives Debian's chromium through its chromedriver (``/usr/bin/chromium``,
``/usr/bin/chromedriver``; ``.ci/run`` installs them) with selenium against a real server on
127.0.0.1 (tiny random network, as the other integration tests): it uploads a real person crop,
waits for the skeleton and the textured GLB in the 3D view, checks both canvases have drawn
pixels, then uploads a file that is not an image and checks the API's own error message is shown.
Screenshots go to ``$RSCNET_TEST_ARTEFACTS`` (or the test's tmp folder). Without chromium the
test skips, unless ``RSCNET_TEST_REQUIRE_BROWSER=1`` (set by ``.ci/run``) makes it fail.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import signal
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from service_support import API_KEY, MAIN_SETTINGS, REPO, Server, launch

from service.http.demo_page import install_demo_page  # noqa: F401  (the module under test exists)
from service.http.offline_docs import STATIC_DIR

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("RSCNET_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("RSCNET_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
CROPS = REPO / "checks" / "real_people" / "crops"
CROP = CROPS / "ocv_basketball1_left.png"
CLIP = [CROPS / f"skv_bikes_f{i}.png" for i in (110, 115, 120, 125, 130, 135)]  # frames of one real clip
EXTERNAL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)
# Flags of the brief: headless, no network side traffic; SwiftShader gives headless chromium WebGL without a GPU.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
    "--window-size=1280,900",
)


def _artefacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("RSCNET_TEST_ARTEFACTS") or tmp_path / "artefacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = launch(
        "demo",
        {**MAIN_SETTINGS, "RSCNET_WARMUP": "false"},
        tmp_path_factory.mktemp("demo"),
    )
    try:
        server.wait_listening()
        server.wait_ready()
        yield server
    finally:
        code = server.stop()
        assert code in (0, -signal.SIGTERM), server.log()[-3000:]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        if os.environ.get("RSCNET_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} / {CHROMEDRIVER} missing (apt-get install chromium chromium-driver)")
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    if os.environ.get("RSCNET_TEST_REQUIRE_BROWSER") == "1":
        from selenium import webdriver
    else:
        webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    downloads = tmp_path_factory.mktemp("downloads")
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "profile.default_content_setting_values.automatic_downloads": 1,  # several downloads from one page
        },
    )
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    driver.downloads = downloads  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()


def _canvas_pixels(driver: object, script: str) -> np.ndarray:
    """RGBA pixels of a canvas, read through its PNG data URL (``script`` returns the element)."""
    url = driver.execute_script(f"return ({script}).toDataURL('image/png');")  # type: ignore[attr-defined]
    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


def _write_mp4(frames: list[Path], path: Path, side: int = 320) -> None:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5, (side, side))
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    for frame in frames:
        writer.write(np.asarray(Image.open(frame).convert("RGB").resize((side, side)))[..., ::-1].copy())
    writer.release()


def _wait(driver: object, condition: str, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_script(f"return !!({condition});"):  # type: ignore[attr-defined]
            return
        time.sleep(0.1)
    state = driver.execute_script("return JSON.stringify(window.rscnetDemo || null);")  # type: ignore[attr-defined]
    logs = driver.get_log("browser")  # type: ignore[attr-defined]
    raise AssertionError(f"timed out waiting for {what}; page state {state}; console {logs}")


def test_demo_page_in_browser(demo_server: Server, browser: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
    from selenium.webdriver.common.by import By

    started = time.monotonic()
    artefacts = _artefacts(tmp_path)
    driver = browser
    driver.get(demo_server.url + "/demo")  # type: ignore[attr-defined]
    _wait(driver, "document.body.dataset.ready === 'true'", 30, "the page script to start")
    _wait(
        driver,
        "document.getElementById('model-info').textContent.includes('checkpoint')",
        30,
        "/v1/models",
    )

    driver.find_element(By.ID, "file").send_keys(str(CROP))  # type: ignore[attr-defined]
    _wait(
        driver,
        "window.rscnetDemo.skeleton || window.rscnetDemo.error",
        60,
        "the skeleton",
    )
    _wait(
        driver,
        "window.rscnetDemo.glb || window.rscnetDemo.error",
        60,
        "the GLB in the 3D view",
    )
    state = driver.execute_script("return window.rscnetDemo;")  # type: ignore[attr-defined]
    assert state["error"] is None, state
    assert state["skeleton"] and state["glb"] and state["meshes"] >= 1, state

    overlay = _canvas_pixels(driver, "document.getElementById('overlay')")
    assert overlay[..., 3].max() == 255 and overlay[..., :3].std() > 5, "the crop/skeleton canvas is blank"
    skeleton = (overlay[..., 0] > 180) & (overlay[..., 1] < 80) & (overlay[..., 2] < 80)  # right side: red
    skeleton |= (overlay[..., 2] > 150) & (overlay[..., 0] < 80)  # left side: blue
    assert skeleton.sum() > 30, "no skeleton drawn on the crop"
    view = _canvas_pixels(driver, "document.querySelector('#view3d canvas')")
    background = np.array([240, 240, 240])
    body = np.abs(view[..., :3].astype(int) - background).sum(-1) > 30
    assert body.mean() > 0.01, f"the 3D view is blank ({body.mean():.4f} of its pixels differ from the background)"
    facts = driver.find_element(By.ID, "facts").text  # type: ignore[attr-defined]
    assert "resolution range used" in facts and "range " in facts and "ms" in facts, facts
    assert re.search(r"uploaded crop\s+\d+ × 64 px", facts), facts  # the default camera resolution: 64 px high
    driver.save_screenshot(str(artefacts / "demo_image.png"))  # type: ignore[attr-defined]

    # Orbit (drag) and zoom (wheel) change the 3D view.
    gl = driver.find_element(By.CSS_SELECTOR, "#view3d canvas")  # type: ignore[attr-defined]
    ActionChains(driver).click_and_hold(gl).move_by_offset(80, 10).release().perform()
    orbited = _canvas_pixels(driver, "document.querySelector('#view3d canvas')")
    assert np.abs(orbited.astype(int) - view.astype(int)).sum(-1).astype(bool).mean() > 0.005, "orbit did nothing"
    ActionChains(driver).scroll_to_element(gl).scroll_from_origin(ScrollOrigin.from_element(gl), 0, -400).perform()
    zoomed = _canvas_pixels(driver, "document.querySelector('#view3d canvas')")
    assert np.abs(zoomed.astype(int) - orbited.astype(int)).sum(-1).astype(bool).mean() > 0.005, "zoom did nothing"

    # The three downloads land as files: a glTF binary, a zip (OBJ + MTL + PNG) and the /v1/smpl JSON.
    for button in ("dl-glb", "dl-obj", "dl-json"):
        driver.find_element(By.ID, button).click()  # type: ignore[attr-defined]
    downloads = driver.downloads  # type: ignore[attr-defined]
    names = {"body.glb", "body_obj.zip", "smpl.json"}
    deadline = time.monotonic() + 30
    while not names <= {p.name for p in downloads.iterdir()} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (downloads / "body.glb").read_bytes()[:4] == b"glTF"
    with zipfile.ZipFile(downloads / "body_obj.zip") as zipped:
        assert {"mesh.obj", "material.mtl", "texture.png"} <= set(zipped.namelist())
    assert len(json.loads((downloads / "smpl.json").read_text())["results"][0]["keypoints2d"]["coco17"]) == 17

    # A box drawn with the mouse (canvas 320 px for the 400-px crop) and a 32-px camera: the crop of the box goes up.
    canvas = driver.find_element(By.ID, "source")  # type: ignore[attr-defined]
    ActionChains(driver).move_to_element_with_offset(canvas, -60, -140).click_and_hold().move_by_offset(
        50, 130
    ).move_by_offset(50, 130).release().perform()
    driver.execute_script(  # type: ignore[attr-defined]
        "const r = document.getElementById('res'); r.value = 32; r.dispatchEvent(new Event('input'));"
    )
    driver.find_element(By.ID, "run").click()  # type: ignore[attr-defined]
    _wait(
        driver,
        "document.getElementById('facts').textContent.includes('drawn box')",
        60,
        "the boxed crop",
    )
    _wait(
        driver,
        "window.rscnetDemo.glb || window.rscnetDemo.error",
        60,
        "the GLB of the boxed crop",
    )
    facts = driver.find_element(By.ID, "facts").text  # type: ignore[attr-defined]
    assert re.search(r"uploaded crop\s+1\d × 32 px \(from the drawn box\)", facts), facts  # 125 x 325 -> 12 x 32

    bad = tmp_path / "not_an_image.png"
    bad.write_bytes(b"this is not an image at all\n" * 8)
    driver.find_element(By.ID, "file").send_keys(str(bad))  # type: ignore[attr-defined]
    _wait(driver, "window.rscnetDemo.error", 60, "the API error message")
    shown = driver.find_element(By.ID, "error").text  # type: ignore[attr-defined]
    # The API's own answer for the same bytes, word for word.
    with httpx.Client(base_url=demo_server.url, timeout=30) as client:
        answer = client.post("/v1/smpl", files={"images": ("crop.png", bad.read_bytes(), "image/png")})
    assert answer.status_code >= 400
    assert answer.json()["detail"] in shown and answer.json()["error"] in shown, (
        shown,
        answer.text,
    )
    assert "Traceback" not in shown
    driver.save_screenshot(str(artefacts / "demo_error.png"))  # type: ignore[attr-defined]

    # Several frames of a clip: per-frame skeleton, 3D body and the joint trajectory plot.
    driver.find_element(By.ID, "tab-video").click()  # type: ignore[attr-defined]
    driver.find_element(By.ID, "vfiles").send_keys("\n".join(str(p) for p in CLIP))  # type: ignore[attr-defined]
    _wait(driver, "!document.getElementById('vrun').disabled", 30, "the frames to be read")
    driver.find_element(By.ID, "vrun").click()  # type: ignore[attr-defined]
    _wait(
        driver,
        "window.rscnetDemo.sequence || window.rscnetDemo.error",
        120,
        "the sequence answer",
    )
    state = driver.execute_script("return window.rscnetDemo;")  # type: ignore[attr-defined]
    assert state["sequence"] and state["error"] is None, state
    driver.find_element(By.ID, "ans-single").click()  # type: ignore[attr-defined]
    plot = _canvas_pixels(driver, "document.getElementById('plot')")
    assert (plot[..., 3] > 0).mean() > 0.005, "the trajectory plot is blank"
    frame = _canvas_pixels(driver, "document.getElementById('vframe')")
    assert frame[..., :3].std() > 5, "the video frame canvas is blank"
    points = _canvas_pixels(driver, "document.querySelector('#vview3d canvas')")
    assert (np.abs(points[..., :3].astype(int) - background).sum(-1) > 30).mean() > 0.005, (
        "the 3D body of the frame is blank"
    )
    assert "6 frames" in driver.find_element(By.ID, "vinfo").text  # type: ignore[attr-defined]
    driver.save_screenshot(str(artefacts / "demo_video.png"))  # type: ignore[attr-defined]

    # A video file of the same frames with a track that misses one frame.
    video = tmp_path / "bikes.mp4"
    _write_mp4(CLIP, video)
    driver.execute_script("document.getElementById('vfiles').value = '';")  # type: ignore[attr-defined]  # chromedriver appends
    driver.find_element(By.ID, "vfiles").send_keys(str(video))  # type: ignore[attr-defined]
    track = [[40, 20, 200, 290]] * 6
    track[2] = None
    driver.find_element(By.ID, "track").send_keys(json.dumps(track))  # type: ignore[attr-defined]
    driver.execute_script("window.rscnetDemo.sequence = false;")  # type: ignore[attr-defined]
    driver.find_element(By.ID, "vrun").click()  # type: ignore[attr-defined]
    _wait(
        driver,
        "window.rscnetDemo.sequence || window.rscnetDemo.error",
        120,
        "the video's sequence answer",
    )
    assert driver.execute_script("return window.rscnetDemo.error;") is None  # type: ignore[attr-defined]
    driver.execute_script(  # type: ignore[attr-defined]
        "const f = document.getElementById('frame'); f.value = 2; f.dispatchEvent(new Event('input'));"
    )
    _wait(
        driver,
        "document.getElementById('frame-out').textContent.startsWith('frame 3')",
        10,
        "frame 3",
    )
    driver.save_screenshot(str(artefacts / "demo_video_file.png"))  # type: ignore[attr-defined]

    # Nothing the page loaded came from another origin.
    loaded = driver.execute_script(  # type: ignore[attr-defined]
        "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href]);"
    )
    assert all(u.startswith((demo_server.url + "/", "blob:", "data:")) for u in loaded), loaded
    assert any(u.endswith("/static/three/three.core.js") for u in loaded), loaded
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "/v1/" not in e["message"]]  # type: ignore[attr-defined]
    assert not errors, errors
    print(f"browser test: {time.monotonic() - started:.1f} s, screenshots in {artefacts}")


def test_demo_page_asks_for_the_api_key(browser: object, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A server with RSCNET_API_KEY: the page shows the API's 401 message and the key field; with the key it works."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    server = launch(
        "demo-key",
        {"RSCNET_API_KEY": API_KEY, "RSCNET_WARMUP": "false"},
        tmp_path_factory.mktemp("demo-key"),
    )
    try:
        server.wait_listening()
        server.wait_ready()
        driver = browser
        driver.get(server.url + "/")  # type: ignore[attr-defined]
        _wait(
            driver,
            "window.rscnetDemo && window.rscnetDemo.error",
            30,
            "the 401 message",
        )
        assert "401 unauthorized: missing X-API-Key header" in driver.find_element(By.ID, "error").text  # type: ignore[attr-defined]
        field = driver.find_element(By.ID, "api-key")  # type: ignore[attr-defined]
        assert field.is_displayed()
        field.send_keys("wrong" + Keys.TAB)
        _wait(
            driver,
            "(window.rscnetDemo.error || '').includes('invalid X-API-Key')",
            30,
            "the invalid-key message",
        )
        field.clear()
        field.send_keys(API_KEY + Keys.TAB)
        _wait(
            driver,
            "document.getElementById('model-info').textContent.includes('checkpoint')",
            30,
            "/v1/models with the key",
        )
        assert driver.execute_script("return window.rscnetDemo.error;") is None  # type: ignore[attr-defined]
        driver.find_element(By.ID, "file").send_keys(str(CROP))  # type: ignore[attr-defined]
        _wait(
            driver,
            "window.rscnetDemo.glb || window.rscnetDemo.error",
            60,
            "the GLB with the key",
        )
        assert driver.execute_script("return window.rscnetDemo.error;") is None  # type: ignore[attr-defined]
    finally:
        assert server.stop() in (0, -signal.SIGTERM), server.log()[-3000:]


def test_demo_routes_and_no_external_urls(demo_server: Server) -> None:
    with httpx.Client(base_url=demo_server.url, timeout=30) as client:
        pages = [client.get(p) for p in ("/", "/demo")]
        assert all(p.status_code == 200 and "text/html" in p.headers["content-type"] for p in pages)
        page = pages[0].text
        assert page == pages[1].text and "{{ROOT}}" not in page
        assert (
            "/" not in client.get("/openapi.json").json()["paths"]
            and "/demo" not in client.get("/openapi.json").json()["paths"]
        )
        # Every src/href/import of the page is a same-origin path, and it is served.
        refs = re.findall(r"""(?:src|href)="([^"]+)\"""", page) + re.findall(r'"(/static/[^"]+)"', page)
        assert refs
        for ref in refs:
            assert ref.startswith(("/", "data:")) and not ref.startswith("//"), ref
            if ref.startswith("/static/") and not ref.endswith("/"):
                assert client.get(ref).status_code == 200, ref
        assert not EXTERNAL.search(page), EXTERNAL.search(page)
    # The page's own script and style mention no other host at all.
    for name in ("demo/index.html", "demo/demo.js", "demo/demo.css"):
        text = (STATIC_DIR / name).read_text()
        assert not EXTERNAL.search(text), (name, EXTERNAL.search(text))
    # The vendored three.js modules import only relative modules or the bare 'three' (mapped to /static/three).
    for path in sorted((STATIC_DIR / "three").glob("*.js")):
        text = path.read_text()
        for spec in re.findall(r"""(?:^|\n)\s*(?:import|export)\b[^;'"]*?from\s*['"]([^'"]+)['"]""", text):
            assert spec == "three" or spec.startswith(("./", "../")), (path.name, spec)
        assert not re.search(r"""\bimport\s*\(\s*['"]https?:""", text), path.name


def test_vendored_three_checksums() -> None:
    """The files are the pinned npm package's, as listed with their sha256 in service/static/three/SHA256SUMS."""
    import hashlib

    sums = (STATIC_DIR / "three" / "SHA256SUMS").read_text()
    listed = {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", sums, re.MULTILINE)}
    assert sorted(listed) == sorted(p.name for p in (STATIC_DIR / "three").glob("*.js"))
    for name, digest in listed.items():
        assert hashlib.sha256((STATIC_DIR / "three" / name).read_bytes()).hexdigest() == digest, name
    assert "three@0.187.0" in (STATIC_DIR / "README.md").read_text()
    assert (STATIC_DIR / "three" / "LICENSE").read_text().startswith("The MIT License")
