"""No waste in the hot paths: one trace serves every image size; the training step traces once, keeps
everything on the device and runs the frozen encoder exactly three times (style, content, output)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from profiling import profile_ops
from support import REPO

from adain.config import load_config
from adain.inference.stylizer import Stylizer
from adain.inference.tiling import TiledStylizer
from adain.nn.decoder import build_decoder
from adain.nn.model import AdaINModel
from adain.training.loop import build_model
from adain.training.precision import cpu_has_bfloat16_units, resolve_precision

HOST_OPS = {"PyFunc", "EagerPyFunc", "PyFuncStateless", "_Send", "_Recv"}


@pytest.fixture(scope="module")
def stylizer(encoder):
    keras.utils.set_random_seed(0)
    return Stylizer(AdaINModel(encoder, build_decoder()))


def test_one_trace_serves_every_image_size_and_batch(stylizer):
    rng = np.random.default_rng(0)
    style = stylizer.encode(tf.constant(rng.uniform(0, 255, (1, 40, 56, 3)), tf.float32))
    for batch, height, width in [(1, 37, 53), (1, 64, 64), (2, 50, 91), (1, 120, 33), (3, 24, 24)]:
        content = tf.constant(rng.uniform(0, 255, (batch, height, width, 3)), tf.float32)
        out = stylizer.stylize_features(content, style, alpha=0.5)
        assert out.shape == (batch, height, width, 3)
    stylizer.encode(tf.constant(rng.uniform(0, 255, (1, 200, 16, 3)), tf.float32))
    assert stylizer._encode.experimental_get_tracing_count() == 1
    assert stylizer._decode_blend.experimental_get_tracing_count() == 1


def test_tile_functions_trace_once_for_all_tile_shapes(encoder):
    keras.utils.set_random_seed(0)
    tiler = TiledStylizer(AdaINModel(encoder, build_decoder()))
    rng = np.random.default_rng(1)
    style = tf.constant(rng.uniform(0, 50, (1, 4, 4, 512)), tf.float32)
    for shape in [(150, 200), (97, 130)]:  # windows of 64, 68, 69... pixels, edge tiles of other sizes
        image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
        assert tiler.stylize(image, style, tile=64, overlap=16).shape == (*shape, 3)
    assert tiler._sums.experimental_get_tracing_count() == 1
    assert tiler._stylize.experimental_get_tracing_count() == 1


def graph_ops(concrete) -> list[str]:
    """Op types of a concrete function, nested function bodies included."""
    graph_def = concrete.graph.as_graph_def()
    return [node.op for node in graph_def.node] + [n.op for fn in graph_def.library.function for n in fn.node_def]


def small_config(shared_data, *overrides):
    return load_config(
        REPO / "configs" / "demo.yaml",
        [
            f"data.content.path={shared_data / 'content'}",
            "data.content.demo=null",
            f"data.style.path={shared_data / 'style'}",
            "data.style.demo=null",
            "data.load_size=48",
            "data.crop_size=32",
            "train.batch_size=2",
            *overrides,
        ],
    )


@pytest.mark.slow  # minutes of real optimisation on 2 CPU cores
def test_training_step_traces_once_stays_on_device_and_encodes_three_times(shared_data):
    keras.utils.set_random_seed(0)
    model = build_model(small_config(shared_data))
    encoder = model.encoder
    traces = []
    step = model.train_step
    model.train_step = lambda data: (traces.append(1), step(data))[1]  # Python runs once per trace
    rng = np.random.default_rng(2)
    batch = {k: tf.constant(rng.uniform(0, 255, (2, 32, 32, 3)), tf.float32) for k in ("content", "style")}
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    model.fit(dataset, epochs=1, steps_per_epoch=3, verbose=0, shuffle=False)
    model.fit(dataset, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
    assert len(traces) == 1 and int(model.optimizer.iterations) == 5

    step_function = tf.function(step)
    ops = graph_ops(step_function.get_concrete_function(batch))
    assert not HOST_OPS & set(ops), sorted(HOST_OPS & set(ops))
    encoder_convs = sum(isinstance(layer, keras.layers.Conv2D) for layer in encoder.layers)
    decoder_convs = sum(isinstance(layer, keras.layers.Conv2D) for layer in model.decoder.layers)
    # Forward convolutions in the graph: the encoder on style, content and output, the decoder once.
    assert ops.count("Conv2D") == 3 * encoder_convs + decoder_convs

    # What runs (the graph also holds dead gradient ops that the function runtime prunes). Op types are
    # TensorFlow's (Conv2D, Conv2DBackpropFilter, ...) or, where oneDNN rewrote them, its fused variants
    # (_MklNativeFusedConv2D, _MklNativeConv2DBackpropFilterWithBias, ...).
    ran = [e for e in profile_ops(lambda: step_function(batch)) if "Conv2D" in e.type]
    filters = [e for e in ran if "Conv2DBackpropFilter" in e.type]
    inputs = [e for e in ran if "Conv2DBackpropInput" in e.type]
    forward = [e for e in ran if "Backprop" not in e.type]
    assert not [e for e in forward if e.name.startswith("gradient_tape/")]  # no forward recomputed for gradients
    assert len(forward) == 3 * encoder_convs + decoder_convs  # no forward recomputed in the backward pass
    assert len(filters) == decoder_convs and all(model.decoder.name in e.name for e in filters)  # frozen encoder
    # Input gradients through the encoder (for the output) and the decoder, except its first conv (input constant).
    assert len(inputs) == encoder_convs + decoder_convs - 1


def test_precision_switch_is_validated(shared_data):
    from adain.errors import UserError

    with pytest.raises(UserError, match="train.mixed_precision must be one of"):
        small_config(shared_data, "train.mixed_precision=fp8")
    assert small_config(shared_data).train.mixed_precision == "auto"
    if not tf.config.list_physical_devices("GPU"):
        # bfloat16 pays on a CPU with bfloat16 units, nowhere else on a CPU (docs/performance.md)
        assert resolve_precision("auto") == ("mixed_bfloat16" if cpu_has_bfloat16_units() else "float32")
    assert resolve_precision("mixed_float16") == "mixed_float16"


@pytest.mark.slow  # minutes of real optimisation on 2 CPU cores
@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
def test_precision_and_xla_switches(shared_data, tmp_path, precision):
    from adain.run import save_decoder

    config = small_config(shared_data, f"train.mixed_precision={precision}", "train.jit_compile=true")
    keras.utils.set_random_seed(0)
    model = build_model(config)
    assert model.jit_compile is True
    assert model.decoder.layers[0].compute_dtype == precision.removeprefix("mixed_")
    assert model.decoder.layers[-1].compute_dtype == "float32"  # the RGB output stays float32
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer) == (precision == "mixed_float16")
    model.jit_compile = False  # XLA's CPU compile of the whole step takes long; the numerics are what is tested here
    batch = {k: tf.random.uniform((2, 32, 32, 3), 0, 255, seed=1) for k in ("content", "style")}
    model.train_function = None
    history = model.fit(tf.data.Dataset.from_tensors(batch).repeat(), steps_per_epoch=2, verbose=0, shuffle=False)
    assert all(np.isfinite(history.history["loss"]))
    saved = keras.saving.load_model(save_decoder(model.decoder, tmp_path, config.model), compile=False)
    assert all(layer.compute_dtype == "float32" for layer in saved.layers)
    np.testing.assert_allclose(saved.get_weights()[0], model.decoder.get_weights()[0])


def test_cpu_bfloat16_units_are_read_from_the_cpu_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512_vnni\n")
    assert cpu_has_bfloat16_units(str(cpuinfo))
    cpuinfo.write_text("flags\t\t: fpu sse avx2 avx512f avx512_vnni\n")  # avx512 alone does not run bfloat16
    assert not cpu_has_bfloat16_units(str(cpuinfo))
    assert not cpu_has_bfloat16_units(str(tmp_path / "missing"))
