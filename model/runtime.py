"""Where and how tensors are computed: device, precision, autocast, CPU threads, atomic files.

One place for choices every trainer, the predictor and the benchmarks make the same way:

* :func:`resolve_device` - ``None`` means CUDA when present, else the CPU;
* :func:`resolve_precision` - ``"auto"`` means bf16 autocast on CUDA (fp16 where the GPU lacks
  bf16) and on CPUs that compute bf16 natively (AVX-512 BF16 or AMX), else fp32. On a CPU without
  them bf16 is *emulated* and about ten times slower than fp32 (measured on an AVX2 EPYC:
  ResNet-18 at 64 px trains 9 img/s in bf16, 108 in fp32), so ``auto`` never picks it there;
* :func:`precision_from_bf16_flag` - the precision of the ReID / texture configs' ``bf16`` switch;
* :func:`autocast` - the autocast context of a resolved precision (a no-op for fp32);
* :func:`atomic_save` - ``torch.save`` to a temporary file, then rename, so a stop mid-write never
  leaves a truncated file behind.
"""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path
from typing import Any, ContextManager

import torch

__all__ = [
    "PRECISIONS",
    "atomic_save",
    "autocast",
    "cpu_name",
    "cpu_supports_bf16",
    "precision_from_bf16_flag",
    "resolve_device",
    "resolve_precision",
]

#: Values a ``precision`` option accepts.
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def cpu_supports_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX), so bf16 autocast pays off."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # noqa: BLE001 - private op missing in some builds: fall back to the CPU flags
        try:
            flags = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
        return "avx512_bf16" in flags or "amx_bf16" in flags


def cpu_name() -> str:
    """The CPU's model name and vector capability, e.g. ``"AMD EPYC (AVX2)"`` (for reports)."""
    name = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except Exception:  # noqa: BLE001 - older builds lack it
        capability = "unknown"
    return f"{name} ({capability}{', bf16' if cpu_supports_bf16() else ''})"


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` -> ``cuda`` when available, else ``cpu``; anything else as given."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"auto"`` -> the fastest safe precision on ``device`` (see the module docstring).

    Raises:
        ValueError: an unknown precision, or ``"fp16"`` off CUDA.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "bf16" if device.type == "cpu" and cpu_supports_bf16() else "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise ValueError(f"precision 'fp16' needs a CUDA device, got {device}")
    return precision


def precision_from_bf16_flag(bf16: bool, device: torch.device) -> str:
    """The precision of a ``bf16: true/false`` config switch (ReID, texture): ``"auto"`` when on, else fp32."""
    return resolve_precision("auto" if bf16 else "fp32", device)


def autocast(precision: str, device: torch.device) -> ContextManager[Any]:
    """Autocast for a *resolved* precision (``"fp32"``: no autocast)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


def atomic_save(obj: Any, path: str | os.PathLike[str]) -> Path:
    """``torch.save(obj)`` to ``path`` through a temporary file and a rename; returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, p)
    return p
