"""dlib's face-recognition ResNet, run by ONNX Runtime with the very same weights.

The ``dlib-bin`` wheel is built without BLAS, and its network pass is three quarters of the
time a face takes. This module reads dlib's own model file (its serialization format, from
``dlib/serialize.h`` and ``dlib/dnn/{core,layers,input,loss}.h``), writes the same network as
an ONNX graph, and runs it with ONNX Runtime, batched. Nothing is downloaded and nothing is
retrained: the descriptors match dlib's to within 1e-4 (``tests/matching/test_recognizer_onnx.py``).

The network (``dnn_face_recognition_ex.cpp``): 7x7/2 convolution, max pool 3x3/2, then
residual blocks of two 3x3 convolutions at 32, 64, 128 and 256 channels (the first of a
stage halving the size, with its shortcut average-pooled 2x2/2), a global average and a
128-output fully connected layer. Batch normalisation was frozen into per-channel affine
layers when the model was saved; here each is folded into the convolution before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

INPUT_NAME = "chips"  # N x 150 x 150 x 3, RGB, 0-255 as float32: the aligned chips dlib takes
OUTPUT_NAME = "descriptors"  # N x 128


class ModelFormatError(ValueError):
    """The model file is not the dlib network this module knows how to read."""


class _Reader:
    """dlib's serialization primitives: packed integers, float_details, '0'/'1' bools, raw
    little-endian float32 tensors."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def integer(self) -> int:
        control = self.data[self.pos]
        size = control & 0x0F
        if not 1 <= size <= 8 or control & 0x70:
            raise ModelFormatError(f"no integer at byte {self.pos}")
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if control & 0x80 else value

    def real(self) -> float:
        if self.data[self.pos] & 0x70:
            raise ModelFormatError(f"old text-format float at byte {self.pos}")
        mantissa = self.integer()
        exponent = self.integer()
        return math.ldexp(mantissa, exponent)

    def boolean(self) -> bool:
        char = self.data[self.pos : self.pos + 1]
        if char not in (b"0", b"1"):
            raise ModelFormatError(f"no bool at byte {self.pos}")
        self.pos += 1
        return char == b"1"

    def string(self) -> str:
        size = self.integer()
        text = self.data[self.pos : self.pos + size].decode("ascii")
        self.pos += size
        return text

    def tensor(self) -> np.ndarray:
        if self.integer() != 2:
            raise ModelFormatError(f"unknown tensor version before byte {self.pos}")
        shape = tuple(self.integer() for _ in range(4))
        count = math.prod(shape)
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos)
        self.pos += 4 * count
        return values.astype(np.float32).reshape(shape)

    def alias_shape(self) -> tuple[int, int, int, int]:
        if self.integer() != 1:
            raise ModelFormatError(f"unknown alias_tensor version before byte {self.pos}")
        return tuple(self.integer() for _ in range(4))


@dataclass
class Layer:
    kind: str  # conv, affine, relu, max_pool, avg_pool, add_prev, fc
    weights: np.ndarray | None = None
    bias: np.ndarray | None = None
    window: tuple[int, int] = (0, 0)  # rows, columns (0, 0: the whole plane)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)


@dataclass
class DlibNetwork:
    channel_means: tuple[float, float, float]  # subtracted from R, G, B before dividing by 256
    size: int  # input rows = columns
    layers: list[Layer] = field(default_factory=list)  # forward order


def _split(params: np.ndarray, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    """The layer's parameter tensor cut into its aliases, in order."""
    flat = params.reshape(-1)
    parts, offset = [], 0
    for shape in shapes:
        count = math.prod(shape)
        parts.append(flat[offset : offset + count].reshape(shape))
        offset += count
    if offset != flat.size:
        raise ModelFormatError("parameter tensor does not match its aliases")
    return parts


def _layer(reader: _Reader, version: str) -> Layer:
    """One layer's details, from its version string on."""
    if version in ("con_4", "con_5", "con_6"):
        params = reader.tensor()
        num_filters = reader.integer()
        rows, cols = reader.integer(), reader.integer()
        stride = (reader.integer(), reader.integer())
        padding = (reader.integer(), reader.integer())
        filters, biases = reader.alias_shape(), reader.alias_shape()
        for _ in range(4):  # learning-rate and weight-decay multipliers
            reader.real()
        use_bias = reader.boolean() if version in ("con_5", "con_6") else True
        if version == "con_6" and reader.boolean():
            raise ModelFormatError("fused conv+relu layers are not supported")
        weights, bias = _split(params, filters, biases) if use_bias else (_split(params, filters)[0], None)
        if weights.shape[0] != num_filters or weights.shape[2:] != (rows, cols):
            raise ModelFormatError("convolution filters do not match their declared shape")
        return Layer(
            "conv",
            weights=weights,
            bias=None if bias is None else bias.reshape(-1),
            window=(rows, cols),
            stride=stride,
            padding=padding,
        )
    if version in ("affine_", "affine_2"):
        params = reader.tensor()
        gamma_shape, beta_shape = reader.alias_shape(), reader.alias_shape()
        reader.integer()  # mode: per channel for convolutions
        if version == "affine_2" and reader.boolean():
            return Layer("identity")
        gamma, beta = _split(params, gamma_shape, beta_shape)
        return Layer("affine", weights=gamma.reshape(-1), bias=beta.reshape(-1))
    if version in ("relu_", "relu_2"):
        if version == "relu_2" and reader.boolean():
            return Layer("identity")
        return Layer("relu")
    if version in ("max_pool_2", "avg_pool_2"):
        window = (reader.integer(), reader.integer())
        stride = (reader.integer(), reader.integer())
        padding = (reader.integer(), reader.integer())
        return Layer(version[:-2], window=window, stride=stride, padding=padding)
    if version == "add_prev_":
        return Layer("add_prev")
    if version in ("fc_2", "fc_3"):
        outputs, inputs = reader.integer(), reader.integer()
        params = reader.tensor()
        weights_shape, biases_shape = reader.alias_shape(), reader.alias_shape()
        has_bias = reader.integer() == 0  # dlib's FC_HAS_BIAS
        for _ in range(4):
            reader.real()
        if version == "fc_3":
            has_bias = reader.boolean() and has_bias
        shapes = (weights_shape, biases_shape) if has_bias else (weights_shape,)
        parts = _split(params, *shapes)
        weights = parts[0].reshape(inputs, outputs)
        return Layer("fc", weights=weights, bias=parts[1].reshape(-1) if has_bias else None)
    raise ModelFormatError(f"unexpected layer {version!r}")


def read_dlib_network(path: Path) -> DlibNetwork:
    """The layers of dlib's ``loss_metric`` ResNet as saved by ``dlib::serialize``.

    The file nests layers outermost first (the loss, then one version number per layer down
    to the input), and each layer's details follow its inner layers', so after the input
    layer they come in forward order, each trailed by the training state dlib keeps."""
    data = Path(path).read_bytes()
    marker = data.find(b"input_rgb_image_sized")
    if not data.startswith(b"\x01\x01") or marker < 4:
        raise ModelFormatError(f"{path} is not a dlib input_rgb_image_sized network")
    reader = _Reader(data, marker - 2)
    innermost_version = _Reader(data, marker - 4).integer()
    reader.string()
    means = (reader.real(), reader.real(), reader.real())
    rows, cols = reader.integer(), reader.integer()
    if rows != cols:
        raise ModelFormatError("the network's input is not square")
    network = DlibNetwork(channel_means=means, size=rows)
    try:
        _read_layers(reader, network, innermost_version)
    except ModelFormatError:
        raise
    except (IndexError, ValueError, UnicodeDecodeError) as exc:  # a truncated or foreign file
        raise ModelFormatError(f"{path} ends or breaks at byte {reader.pos}: {exc}") from exc
    if not network.layers or network.layers[-1].kind != "fc":
        raise ModelFormatError("the network does not end in a fully connected layer")
    return network


def _read_layers(reader: _Reader, network: DlibNetwork, innermost_version: int) -> None:
    first = True
    while reader.pos < len(reader.data):
        network.layers.append(_layer(reader, reader.string()))
        for _ in range(3):  # setup-called, gradient-stale and gradient-disabled flags
            reader.boolean()
        reader.tensor()  # x_grad
        reader.tensor()  # cached_output
        reader.tensor()  # params_grad (grad_final for the layer on the input)
        if first and innermost_version >= 3:
            reader.integer()  # sample expansion factor
        first = False


def _fold_affines(layers: list[Layer]) -> list[Layer]:
    """Each convolution followed by an affine layer becomes one convolution."""
    folded: list[Layer] = []
    for layer in layers:
        if layer.kind == "identity":
            continue
        previous = folded[-1] if folded else None
        if layer.kind == "affine":
            if previous is None or previous.kind != "conv":
                raise ModelFormatError("an affine layer that does not follow a convolution")
            gamma, beta = layer.weights, layer.bias
            bias = previous.bias if previous.bias is not None else np.zeros_like(gamma)
            previous.weights = (previous.weights * gamma[:, None, None, None]).astype(np.float32)
            previous.bias = (bias * gamma + beta).astype(np.float32)
            continue
        folded.append(replace(layer))  # a copy: folding must not change the network read
    return folded


def _output_side(side: int, layer: Layer) -> int:
    """dlib's (and ONNX's) output size for a convolution or pool: rounded down."""
    return 1 + (side + 2 * layer.padding[0] - layer.window[0]) // layer.stride[0]


def _pads(layer: Layer) -> list[int]:
    return [layer.padding[0], layer.padding[1], layer.padding[0], layer.padding[1]]


def to_onnx(network: DlibNetwork):
    """The network as an ONNX model (opset 17), taking chips as dlib's Python API does."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers = [], []

    def constant(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], **attributes) -> str:
        name = f"{op.lower()}{len(nodes)}"
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attributes))
        return name

    def windowed(op: str, inputs: list[str], layer: Layer) -> str:
        window, stride = list(layer.window), list(layer.stride)
        return node(op, inputs, kernel_shape=window, strides=stride, pads=_pads(layer))

    # dlib's input layer: (pixel - channel mean) / 256, channels first, red first.
    means = np.array(network.channel_means, dtype=np.float32).reshape(1, 1, 1, 3)
    centred = node("Sub", [INPUT_NAME, constant("channel_means", means)])
    scaled = node("Mul", [centred, constant("scale", np.float32([1 / 256]))])
    current = node("Transpose", [scaled], perm=[0, 3, 1, 2])
    channels, side = 3, network.size
    block_input = (current, channels, side)  # dlib's tag1: where a residual block starts
    pooled_shortcut = None  # residual_down's average-pooled shortcut
    previous_kind = ""
    for layer in _fold_affines(network.layers):
        if layer.kind == "conv":
            inputs = [current, constant(f"w{len(nodes)}", layer.weights)]
            if layer.bias is not None:
                inputs.append(constant(f"b{len(nodes)}", layer.bias))
            current = windowed("Conv", inputs, layer)
            channels = layer.weights.shape[0]
            side = _output_side(side, layer)
        elif layer.kind == "relu":
            current = node("Relu", [current])
        elif layer.kind == "max_pool":
            current = windowed("MaxPool", [current], layer)
            side = _output_side(side, layer)
            block_input = (current, channels, side)
        elif layer.kind == "avg_pool" and layer.window == (0, 0):
            current = node("GlobalAveragePool", [current])
            side = 1
        elif layer.kind == "avg_pool":
            # Inside residual_down: the block's output is set aside (tag2) and the block's
            # input (tag1, reached by skip1) is pooled to become the shortcut.
            tagged, tagged_channels, tagged_side = block_input
            pooled = windowed("AveragePool", [tagged], layer)
            pooled_shortcut = (pooled, tagged_channels, _output_side(tagged_side, layer))
        elif layer.kind == "add_prev":
            if pooled_shortcut is not None:  # add_prev2: pooled input + block output (tag2)
                (other, other_channels, other_side), pooled_shortcut = pooled_shortcut, None
            else:  # add_prev1: the block's input + its output
                other, other_channels, other_side = block_input
            # dlib adds tensors of different shapes by zero-filling the smaller one's missing
            # channels, rows and columns (at the end): a stride-2 convolution without padding
            # and a 2x2 pool disagree by one row on odd sizes.
            out_channels, out_side = max(channels, other_channels), max(side, other_side)
            current = _padded(node, constant, current, channels, side, out_channels, out_side)
            other = _padded(node, constant, other, other_channels, other_side, out_channels, out_side)
            current = node("Add", [current, other])
            channels, side = out_channels, out_side
        elif layer.kind == "fc":
            flat = node("Flatten", [current], axis=1)
            current = node("MatMul", [flat, constant(f"fc{len(nodes)}", layer.weights)])
            if layer.bias is not None:
                current = node("Add", [current, constant(f"fcb{len(nodes)}", layer.bias)])
        if layer.kind == "relu" and previous_kind == "add_prev":
            block_input = (current, channels, side)  # the next block starts after this relu
        previous_kind = layer.kind
    nodes.append(helper.make_node("Identity", [current], [OUTPUT_NAME], name="output"))
    graph = helper.make_graph(
        nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["n", network.size, network.size, 3])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["n", 128])],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="leaddesk")


def _padded(node, constant, tensor: str, channels: int, side: int, out_channels: int, out_side: int) -> str:
    if (channels, side) == (out_channels, out_side):
        return tensor
    extra_c, extra_s = out_channels - channels, out_side - side
    pads = np.array([0, 0, 0, 0, 0, extra_c, extra_s, extra_s], dtype=np.int64)
    return node("Pad", [tensor, constant(f"pads_{tensor}", pads)], mode="constant")


class OnnxRecognizer:
    """Computes descriptors of aligned 150x150 chips with ONNX Runtime.

    One thread per session: the app runs face work in processes, one per core (and the
    engine hands a model to one thread at a time)."""

    def __init__(self, model_file: Path, threads: int = 1) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        model = to_onnx(read_dlib_network(model_file))
        self._session = onnxruntime.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )

    def describe(self, chips: list[np.ndarray]) -> np.ndarray:
        """One 128-d descriptor (float32) per chip, in one batch."""
        batch = np.stack([np.asarray(chip, dtype=np.float32) for chip in chips])
        (descriptors,) = self._session.run([OUTPUT_NAME], {INPUT_NAME: batch})
        return descriptors
