"""Screenshots of the demo page for the README: ``docs/demo_image.png`` and ``docs/demo_video.png``.

Run against a service started with the committed checkpoints (``make serve``), e.g.::

    .venv/bin/python docs/make_demo_screenshots.py --url http://127.0.0.1:8000

It drives Debian's chromium (``/usr/bin/chromium`` with ``/usr/bin/chromedriver``) headless, uploads
real person crops from ``checks/real_people/crops`` and saves palette PNGs (< 400 KB).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

REPO = Path(__file__).resolve().parents[1]
CROPS = REPO / "checks" / "real_people" / "crops"
FLAGS = (
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
    "--window-size=1240,900",
)


def wait(driver: webdriver.Chrome, condition: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not driver.execute_script(f"return !!({condition});"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{condition}: {driver.execute_script('return JSON.stringify(window.rscnetDemo)')}")
        time.sleep(0.2)


def draw_box(driver: webdriver.Chrome, box: list[float]) -> None:
    """Drag the mouse over the input canvas from the box's top-left to its bottom-right corner."""
    canvas = driver.find_element(By.ID, "source")
    scale = driver.execute_script("return document.getElementById('source').width;") / max(
        Image.open(driver.crop_path).size  # type: ignore[attr-defined]
    )
    half = canvas.size["width"] / 2, canvas.size["height"] / 2
    x0, y0, w, h = (v * scale for v in box)
    chain = ActionChains(driver)
    chain.move_to_element_with_offset(canvas, int(x0 - half[0]), int(y0 - half[1])).click_and_hold()
    chain.move_by_offset(int(w / 2), int(h / 2)).move_by_offset(int(w / 2), int(h / 2)).release().perform()


def save(driver: webdriver.Chrome, path: Path) -> None:
    raw = path.with_suffix(".raw.png")
    driver.save_screenshot(str(raw))
    Image.open(raw).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    raw.unlink()
    print(f"{path}: {path.stat().st_size // 1024} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    parser.add_argument("--crop", default="ocv_basketball1_left.png")
    parser.add_argument("--resolution", type=int, default=48)
    parser.add_argument(
        "--box",
        default="",
        help="x0,y0,w,h in the crop's pixels: drawn on the page with the mouse",
    )
    args = parser.parse_args()
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(options=options, service=Service(executable_path="/usr/bin/chromedriver"))
        try:
            driver.get(args.url + "/")
            wait(
                driver,
                "document.getElementById('model-info').textContent.includes('checkpoint')",
            )
            driver.execute_script(
                f"const r = document.getElementById('res'); r.value = {args.resolution};"
                "r.dispatchEvent(new Event('input'));"
            )
            driver.crop_path = CROPS / args.crop  # type: ignore[attr-defined]
            driver.find_element(By.ID, "file").send_keys(str(CROPS / args.crop))
            wait(driver, "window.rscnetDemo.glb || window.rscnetDemo.error")
            if args.box:
                draw_box(driver, [float(v) for v in args.box.split(",")])
                driver.find_element(By.ID, "run").click()
                time.sleep(0.5)
                wait(driver, "window.rscnetDemo.glb || window.rscnetDemo.error")
            save(driver, args.out / "demo_image.png")
            driver.find_element(By.ID, "tab-video").click()
            frames = [CROPS / f"skv_bikes_f{i}.png" for i in (110, 115, 120, 125, 130, 135)]
            driver.find_element(By.ID, "vfiles").send_keys("\n".join(str(f) for f in frames))
            wait(driver, "!document.getElementById('vrun').disabled")
            driver.find_element(By.ID, "vrun").click()
            wait(driver, "window.rscnetDemo.sequence || window.rscnetDemo.error")
            if driver.find_element(By.ID, "ans-gru").is_enabled():
                driver.find_element(By.ID, "ans-gru").click()
            driver.execute_script(
                "const f = document.getElementById('frame'); f.value = 3; f.dispatchEvent(new Event('input'));"
            )
            time.sleep(1.0)
            save(driver, args.out / "demo_video.png")
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
