"""Helpers of the service tests: image and video bytes, and real uvicorn servers in subprocesses.

Integration servers run ``python -m service --host 127.0.0.1 --port 0`` in a subprocess with a
tiny randomly initialised network (ResNet-18, 64 px input, one torch thread); the port uvicorn
picked is read from its log. Both servers of the suite are launched together at the start of the
session (start-up is mostly imports) and stopped with SIGTERM at the end, checking that they
shut down cleanly.
"""

from __future__ import annotations

import io
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
TINY_NET = '{"backbone": {"depth": 18, "num_ranges": 5}, "input_size": 64, "regressor_hidden_dim": 64}'
TINY_NET_DICT = {"backbone": {"depth": 18, "num_ranges": 5}, "input_size": 64, "regressor_hidden_dim": 64}
BOUNDS = (224, 128, 64, 40, 24)
API_KEY = "test-key-123"


# ---------------------------------------------------------------------------------------- images
def random_rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def encode(image: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format=fmt)
    return buf.getvalue()


def png_bytes(h: int, w: int, seed: int = 0) -> bytes:
    return encode(random_rgb(h, w, seed), "PNG")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb_header(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares ``width x height`` RGB pixels (its data is a few bytes)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def mp4_bytes(frames: int = 5, h: int = 48, w: int = 32) -> bytes:
    """A small MP4 (mp4v) with frames of increasing brightness."""
    import cv2

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "clip.mp4")
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 10, (w, h))
        assert writer.isOpened(), "OpenCV cannot write mp4v here"
        for i in range(frames):
            frame = random_rgb(h, w, seed=i)
            writer.write(frame)
        writer.release()
        return Path(path).read_bytes()


# ---------------------------------------------------------------------------------------- servers
@dataclass
class Server:
    """A running ``python -m service`` subprocess."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    port: int | None = None
    early: dict[str, int] = field(default_factory=dict)  # statuses seen before the model was ready

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_listening(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", self.log())
            if match:
                self.port = int(match.group(1))
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"server {self.name} exited with {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.05)
        raise TimeoutError(f"server {self.name} did not listen within {timeout} s:\n{self.log()}")

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=5) as client:
            while time.monotonic() < deadline:
                if client.get("/readyz").status_code == 200:
                    return
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise TimeoutError(f"server {self.name} not ready within {timeout} s:\n{self.log()}")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait; returns the exit code (kills after ``timeout``)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def launch(name: str, settings: Mapping[str, str], tmp: Path, defaults: Sequence[str] = ()) -> Server:
    """Start ``python -m service`` on 127.0.0.1 (any free port) with ``RSCNET_*`` settings.

    ``defaults`` names settings (e.g. ``"RSCNET_CHECKPOINT"``) left unset, so that the service's own
    defaults (the committed checkpoints) apply.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSCNET_") and k != "SMPL_MODEL_DIR"}
    env.update(
        {
            "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
            "RSCNET_DEVICE": "cpu",
            "RSCNET_PRECISION": "fp32",
            "RSCNET_TORCH_THREADS": "1",
            "RSCNET_CHECKPOINT": str(tmp / "absent" / "model.pt"),  # never the committed one: tests use a tiny net
            "RSCNET_TEXTURE_CHECKPOINT": str(tmp / "absent" / "texture.pt"),  # nor the committed texture network
            "RSCNET_VIDEO_CHECKPOINT": str(tmp / "absent" / "video.pt"),  # nor the committed video model
            "RSCNET_RANDOM_INIT_NET": TINY_NET,
            "RSCNET_LOG_LEVEL": "info",
            "OMP_NUM_THREADS": "1",
        }
    )
    env.update(settings)
    for key in defaults:
        env.pop(key, None)
    log_path = tmp / f"{name}.log"
    fh = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "--host", "127.0.0.1", "--port", "0"],
        cwd=REPO,
        env=env,
        stdout=fh,
        stderr=subprocess.STDOUT,
    )
    fh.close()
    return Server(name=name, proc=proc, log_path=log_path)


MAIN_SETTINGS = {
    "RSCNET_MAX_BATCH_SIZE": "8",
    "RSCNET_MAX_DELAY_MS": "50",
    "RSCNET_READY_DELAY_S": "1.0",
    "RSCNET_MAX_IMAGES": "8",
    "RSCNET_MAX_FRAMES": "16",
    "RSCNET_QUEUE_SIZE": "64",
    "RSCNET_MAX_RENDER_SIZE": "256",
}
SMALL_SETTINGS = {
    "RSCNET_MAX_BATCH_SIZE": "2",
    "RSCNET_MAX_DELAY_MS": "5",
    "RSCNET_QUEUE_SIZE": "4",
    "RSCNET_MAX_IMAGES": "2",
    "RSCNET_MAX_FRAMES": "4",
    "RSCNET_MAX_UPLOAD_BYTES": "200000",
    "RSCNET_MAX_IMAGE_PIXELS": "40000",
    "RSCNET_MAX_REQUEST_PIXELS": "60000",
    "RSCNET_API_KEY": API_KEY,
    "RSCNET_WARMUP": "false",
    "RSCNET_FLIP_TEST": "true",  # the flip test end to end (test_http_limits.test_flip_test_over_http)
}


# ---------------------------------------------------------------------------------------- fault injection
#: Markers painted into pixel (0, 0) of a crop tell :class:`FaultyPredictor` what to do with it.
MARK_SLOW = (0, 0, 255)  # hold the batch until the predictor's gate opens
MARK_RAISE = (0, 255, 0)  # raise RuntimeError for any batch containing this crop
MARK_CRASH = (255, 0, 0)  # raise SystemExit (a BaseException: the worker "crashes")


def marked_crop(mark: tuple[int, int, int] | None, tag: int, h: int = 32, w: int = 24) -> np.ndarray:
    """A crop carrying ``mark`` in pixel (0, 0) and ``tag`` (0-255) in pixel (0, 1)."""
    crop = random_rgb(h, w, seed=tag)
    crop[0, 0] = mark if mark is not None else (7, 7, 7)
    crop[0, 1] = (tag, tag, tag)
    return crop


class FaultyPredictor:
    """Wraps a real :class:`model.inference.Predictor`; misbehaves on marked crops (see ``MARK_*``).

    ``calls`` records, per ``predict`` call, the tags of its crops (what was actually computed).
    """

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self.gate = threading.Event()
        self.gate.set()
        self.holding = threading.Event()
        self.calls: list[list[int]] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def predict(self, crops, include_vertices: bool = False, batch_size: int = 32, cut=None):  # noqa: ANN001, ANN201
        marks = [tuple(int(v) for v in c[0, 0]) for c in crops]
        self.calls.append([int(c[0, 1, 0]) for c in crops])
        if MARK_SLOW in marks:
            self.holding.set()
            self.gate.wait(30)
        if MARK_CRASH in marks:
            raise SystemExit("simulated crash of the inference worker")
        if MARK_RAISE in marks:
            raise RuntimeError("simulated predictor bug")
        return self._inner.predict(crops, include_vertices=include_vertices, batch_size=batch_size, cut=cut)

    def computed_tags(self) -> set[int]:
        """Tags of crops that went through a successful or failing ``predict`` call."""
        return {t for call in self.calls for t in call}


class ExitingPredictor:
    """Wraps a real predictor in the *worker process*; the process dies (``os._exit``) on a crop
    marked ``MARK_CRASH``, as it would of a segfault or an out-of-memory kill."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def predict(self, crops, include_vertices: bool = False, batch_size: int = 32, cut=None):  # noqa: ANN001, ANN201
        if any(tuple(int(v) for v in c[0, 0]) == MARK_CRASH for c in crops):
            os._exit(17)
        return self._inner.predict(crops, include_vertices=include_vertices, batch_size=batch_size, cut=cut)


def exiting_network_loader(settings: object) -> tuple[object, str | None]:
    """``network_loader`` of the worker process: the settings' network inside :class:`ExitingPredictor`."""
    from service.runtime.model_loader import load_network

    predictor, warning = load_network(settings)  # type: ignore[arg-type]
    return ExitingPredictor(predictor), warning


class InProcessServer:
    """uvicorn serving an app in a thread of the test process, on 127.0.0.1 (any free port)."""

    def __init__(self, app: object) -> None:
        import uvicorn

        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, name="uvicorn-test", daemon=True)
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> InProcessServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the in-process server did not start")
            time.sleep(0.02)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        with httpx.Client(base_url=self.url, timeout=5) as client:
            while client.get("/readyz").status_code != 200:
                if time.monotonic() > deadline:
                    raise TimeoutError("the in-process server did not become ready")
                time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(30)


def exiting_worker_server(tmp: Path) -> InProcessServer:
    """An in-process server whose worker *process* dies on crops marked ``MARK_CRASH``."""
    from service.http.app import create_app
    from service.runtime.metrics import ServiceMetrics
    from service.runtime.state import ServiceState
    from service.settings import ServiceSettings

    settings = ServiceSettings(
        device="cpu",
        precision="fp32",
        torch_threads=1,
        checkpoint=tmp / "absent" / "model.pt",
        texture_checkpoint=tmp / "absent" / "texture.pt",
        video_checkpoint=tmp / "absent" / "video.pt",
        random_init_net=TINY_NET_DICT,
        max_batch_size=8,
        max_delay_ms=20.0,
        queue_size=64,
        max_images=8,
        max_frames=8,
        warmup=False,
        worker="process",
    )
    state = ServiceState(settings, ServiceMetrics(), network_loader=exiting_network_loader)
    return InProcessServer(create_app(settings, state=state)).start(timeout=120)


def faulty_server(tmp: Path, **overrides: object) -> tuple[InProcessServer, FaultyPredictor]:
    """An in-process server whose predictor is a :class:`FaultyPredictor` around the tiny network."""
    from service.http.app import create_app
    from service.runtime.metrics import ServiceMetrics
    from service.runtime.model_loader import LoadedPredictor, load_predictor
    from service.runtime.state import ServiceState
    from service.settings import ServiceSettings

    values: dict[str, object] = {
        "device": "cpu",
        "precision": "fp32",
        "checkpoint": tmp / "absent" / "model.pt",
        "texture_checkpoint": tmp / "absent" / "texture.pt",
        "video_checkpoint": tmp / "absent" / "video.pt",
        "random_init_net": TINY_NET_DICT,
        "max_batch_size": 8,
        "max_delay_ms": 20.0,
        "queue_size": 64,
        "max_images": 8,
        "max_frames": 8,
        "warmup": False,
        "worker": "thread",  # the FaultyPredictor lives in this process, where the tests steer it
    }
    values.update(overrides)
    settings = ServiceSettings(**values)
    holder: dict[str, FaultyPredictor] = {}

    def loader(s: ServiceSettings) -> LoadedPredictor:
        loaded = load_predictor(s)
        holder["p"] = FaultyPredictor(loaded.predictor)
        return LoadedPredictor(holder["p"], loaded.warning)  # type: ignore[arg-type]

    app = create_app(settings, state=ServiceState(settings, ServiceMetrics(), loader=loader))
    server = InProcessServer(app).start()
    return server, holder["p"]
