"""One handler per supported ATen operator: each adds float nodes, aliases or constants.

Both the graph ``torch.export`` produces and its core-ATen decomposition
(``run_decompositions``) are understood: ``linear`` or ``addmm``/``mm`` with a transposed
weight, ``conv2d`` or ``convolution``, ``batch_norm`` or ``_native_batch_norm_legit_no_training``,
``max_pool2d`` or ``max_pool2d_with_indices``, ``adaptive_avg_pool2d`` or ``mean`` over H and W.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from provers.compiler.graph import FloatKind, FloatNode
from provers.compiler.walk import (
    Handler,
    Unsupported,
    Walk,
    add_node,
    batch_dim,
    describe,
    pair,
    sample_shape,
)

SUPPORTED_OPS: tuple[str, ...] = (
    "aten.linear (also aten.addmm / aten.mm with a constant weight)",
    "aten.conv2d / aten.convolution (groups 1, dilation 1, any stride and padding)",
    "aten.relu",
    "aten.max_pool2d (no padding, dilation 1)",
    "aten.avg_pool2d (no padding, ceil_mode False)",
    "aten.adaptive_avg_pool2d (output size dividing the input size), aten.mean over H and W",
    "aten.mean over the tokens of (tokens, features) samples (mean pooling)",
    "aten.select of one token of (tokens, features) samples (x[:, i])",
    "aten.flatten / aten.view / aten.reshape (batch dimension kept)",
    "aten.add.Tensor (two activations of the same shape, alpha 1)",
    "aten.batch_norm (eval mode; folded into the preceding conv/linear)",
    "aten.dropout (eval mode) / clone / detach / alias (removed)",
    "aten.matmul / aten.bmm of two activations with the same leading axes (…, M, K) @ (…, K, P)",
    "aten.transpose / aten.permute swapping the last two axes, as a matmul's second operand",
    "aten.gelu (exact or tanh) / aten.silu / aten.sigmoid / aten.tanh (int8 lookup tables)",
    "aten.softmax / aten._softmax over the last axis (outputs in steps of 1/127)",
    "aten.layer_norm over the last axis (constant weight γ of any sign, and bias)",
    "aten.rms_norm over the last axis (constant weight γ of any sign)",
    "aten.embedding of the model's input (token ids) or of constant ids (aten.arange: "
    "positions), the constant-id one added to an activation",
    "aten.scaled_dot_product_attention (no mask or dropout; is_causal for decoders)",
    "aten.mul / aten.div of an activation by a positive number (folded into its scale)",
)


def _linear(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    x = walk.activation(args["input"])
    weight = walk.constant(args["weight"], "weight")
    _add_linear(walk, node, x, args["input"], weight, args.get("bias"))


def _addmm(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    if args["beta"] != 1 or args["alpha"] != 1:
        raise Unsupported("addmm with beta or alpha other than 1")
    weight = walk.constant(args["mat2"], "weight").T
    x = walk.activation(args["mat1"])
    _add_linear(walk, node, x, args["mat1"], weight, args["self"])


def _mm(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    weight = walk.constant(args["mat2"], "weight (a product of two activations)").T
    x = walk.activation(args["self"])
    _add_linear(walk, node, x, args["self"], weight, None)


def _add_linear(
    walk: Walk, node: torch.fx.Node, x: str, x_node: Any, weight: np.ndarray, bias: Any
) -> None:
    in_shape = walk.shape_of(x_node)
    if weight.ndim != 2 or not in_shape or in_shape[-1] != weight.shape[1]:
        raise Unsupported(f"linear of weight {weight.shape} on samples of shape {in_shape}")
    out = weight.shape[0]
    bias_values = np.zeros(out) if bias is None else walk.constant(bias, "bias")
    if bias_values.shape != (out,):
        raise Unsupported(f"bias of shape {bias_values.shape} for {out} outputs")
    add_node(walk, node, FloatKind.LINEAR, (x,), weight=weight.copy(), bias=bias_values.copy())


def _conv2d(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    if args.get("transposed"):
        raise Unsupported("transposed convolution")
    if args["groups"] != 1:
        raise Unsupported(f"groups={args['groups']} (only 1 is supported)")
    if pair(args["dilation"], "dilation") != (1, 1):
        raise Unsupported(f"dilation {args['dilation']} (only 1 is supported)")
    x = walk.activation(args["input"])
    weight = walk.constant(args["weight"], "weight")
    in_shape = walk.shape_of(args["input"])
    if weight.ndim != 4 or len(in_shape) != 3 or in_shape[0] != weight.shape[1]:
        raise Unsupported(f"conv2d of weight {weight.shape} on samples of shape {in_shape}")
    kernel = (int(weight.shape[2]), int(weight.shape[3]))
    padding = _conv_padding(args["padding"], kernel, pair(args["stride"], "stride"))
    bias = args["bias"]
    bias_values = np.zeros(weight.shape[0]) if bias is None else walk.constant(bias, "bias")
    add_node(
        walk,
        node,
        FloatKind.CONV2D,
        (x,),
        weight=weight.copy(),
        bias=bias_values.copy(),
        stride=pair(args["stride"], "stride"),
        padding=padding,
        kernel=kernel,
    )


def _conv_padding(
    padding: Any, kernel: tuple[int, int], stride: tuple[int, int]
) -> tuple[int, int]:
    if padding == "valid":
        return (0, 0)
    if padding == "same":
        if stride != (1, 1) or kernel[0] % 2 == 0 or kernel[1] % 2 == 0:
            raise Unsupported("padding='same' needs stride 1 and an odd kernel")
        return (kernel[0] // 2, kernel[1] // 2)
    return pair(padding, "padding")


def _relu(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    add_node(walk, node, FloatKind.RELU, (walk.activation(args["self"]),))


def _function(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    name = str(node.target).split(".")[1]
    if name == "gelu":
        approximate = args.get("approximate", "none")
        if approximate not in ("none", "tanh"):
            raise Unsupported(f"gelu with approximate={approximate!r}")
        name = "gelu" if approximate == "none" else "gelu_tanh"
    add_node(walk, node, FloatKind.FUNCTION, (walk.activation(args["self"]),), function=name)


def _scale(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    """x·c or x/c for a positive number c: the same integers with another scale."""
    first, second = args["self"], args["other"]
    if isinstance(first, (int, float)) and node.target == torch.ops.aten.mul.Tensor:
        first, second = second, first
    if not isinstance(second, (int, float)) or isinstance(second, bool) or second <= 0:
        raise Unsupported("an elementwise product or quotient of activations, or by a number ≤ 0")
    factor = float(second) if node.target == torch.ops.aten.mul.Tensor else 1.0 / float(second)
    add_node(walk, node, FloatKind.SCALE, (walk.activation(first),), factor=factor)


def _attention(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    """scaled_dot_product_attention as its four steps: S = Q·Kᵀ, S·scale, softmax (causal or
    not), then ·V."""
    if args.get("attn_mask") is not None or args.get("dropout_p", 0.0) != 0.0:
        raise Unsupported("attention with an explicit mask or dropout")
    if args.get("enable_gqa"):
        raise Unsupported("grouped-query attention")
    query, key, value = (walk.activation(args[name], name) for name in ("query", "key", "value"))
    shapes = [walk.shape_of(args[name]) for name in ("query", "key", "value")]
    if len({len(shape) for shape in shapes}) != 1 or len(shapes[0]) < 2:
        raise Unsupported(f"attention over samples of shapes {shapes}")
    if shapes[0] != shapes[1] or shapes[2][:-1] != shapes[1][:-1]:
        raise Unsupported(f"attention over query, key, value of shapes {shapes}")
    causal = bool(args.get("is_causal"))
    width = shapes[0][-1]
    scale = args.get("scale") or 1.0 / width**0.5
    scores_shape = (*shapes[0][:-1], shapes[1][-2])
    steps: list[tuple[FloatKind, tuple[str, ...] | None, tuple[int, ...], dict[str, Any]]] = [
        (FloatKind.MATMUL_T, (query, key), scores_shape, {"kernel": (width, 1)}),
        (FloatKind.SCALE, None, scores_shape, {"factor": float(scale)}),
        (FloatKind.SOFTMAX_CAUSAL if causal else FloatKind.SOFTMAX, None, scores_shape, {}),
        (
            FloatKind.MATMUL,
            None,
            (*scores_shape[:-1], shapes[2][-1]),
            {"kernel": (shapes[1][-2], 1)},
        ),
    ]
    previous = ""
    for kind, inputs, shape, fields in steps:
        name = walk.unique_name(f"{node.name}_{kind.value}")
        operands = inputs if inputs is not None else (previous,)
        if kind is FloatKind.MATMUL:
            operands = (previous, value)
        float_node = FloatNode(name, kind, operands, shape, source=describe(node), **fields)
        walk.nodes.append(float_node)
        previous = name
    walk.values[node.name] = previous


def _softmax(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    source = args["self"]
    rank = len(walk.shape_of(source)) + 1
    if args["dim"] % rank != rank - 1 or rank < 2:
        raise Unsupported("softmax over an axis other than the last of a sample")
    add_node(walk, node, FloatKind.SOFTMAX, (walk.activation(source),))


def _layer_norm(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    source = args["input"]
    shape = walk.shape_of(source)
    if not shape or list(args["normalized_shape"]) != [shape[-1]]:
        raise Unsupported("layer_norm over axes other than the last one alone")
    entries = shape[-1]
    weight = np.ones(entries) if args["weight"] is None else walk.constant(args["weight"], "weight")
    bias = np.zeros(entries) if args["bias"] is None else walk.constant(args["bias"], "bias")
    if weight.shape != (entries,) or bias.shape != (entries,):
        raise Unsupported(f"layer_norm weight {weight.shape} or bias {bias.shape}")
    fields = {"weight": weight.copy(), "bias": bias.copy(), "eps": float(args["eps"])}
    add_node(walk, node, FloatKind.LAYERNORM, (walk.activation(source),), **fields)


def _rms_norm(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    source = args["input"]
    shape = walk.shape_of(source)
    if not shape or list(args["normalized_shape"]) != [shape[-1]]:
        raise Unsupported("rms_norm over axes other than the last one alone")
    entries = shape[-1]
    weight = np.ones(entries) if args["weight"] is None else walk.constant(args["weight"], "weight")
    if weight.shape != (entries,):
        raise Unsupported(f"rms_norm weight {weight.shape}")
    eps = args["eps"]
    if eps is None:
        # torch's default: the machine ε of the input's type.
        eps = torch.finfo(source.meta["val"].dtype).eps
    fields = {"weight": weight.copy(), "eps": float(eps)}
    add_node(walk, node, FloatKind.RMSNORM, (walk.activation(source),), **fields)


def _arange(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    """torch.arange with constant bounds: constant ids (the positions of a position
    embedding)."""
    start = args.get("start") or 0
    end, step = args.get("end"), args.get("step") or 1
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end, step)):
        raise Unsupported("arange with bounds that are not constant integers")
    walk.constants[node.name] = np.arange(start, end, step, dtype=np.float64)


def _embedding(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    """Rows of a table by ids: the model's input (token ids), or constant ids (positions),
    whose output holds the same rows for every sample (traced without a batch dimension)."""
    table = walk.constant(args["weight"], "table")
    if table.ndim != 2:
        raise Unsupported(f"an embedding table of shape {table.shape}")
    indices = args["indices"]
    if isinstance(indices, torch.fx.Node) and indices.name in walk.constants:
        ids = walk.constants[indices.name]
        if ids.size == 0 or np.any(ids != np.round(ids)) or ids.min() < 0:
            raise Unsupported("constant ids that are not nonnegative integers")
        if ids.max() >= table.shape[0]:
            raise Unsupported(f"constant ids up to {int(ids.max())} for {table.shape[0]} rows")
        shape = (*ids.shape, int(table.shape[1]))
        name = walk.unique_name(node.name)
        walk.add(
            node,
            FloatNode(
                name,
                FloatKind.EMBEDDING,
                ("input",),
                shape,
                weight=table.copy(),
                ids=tuple(int(i) for i in ids.reshape(-1)),
                source=describe(node),
            ),
        )
        walk.unbatched.add(node.name)
        return
    x = walk.activation(indices, "ids")
    if x != "input":
        raise Unsupported("an embedding of ids the model computes (only its input or constants)")
    add_node(walk, node, FloatKind.EMBEDDING, (x,), weight=table.copy())


def _pool_window(
    node: torch.fx.Node, args: dict[str, Any], kind: str, out_shape: tuple[int, ...]
) -> dict[str, Any]:
    kernel = pair(args["kernel_size"], "kernel_size")
    stride = pair(args["stride"], "stride", default=None) if args["stride"] else kernel
    if pair(args["padding"], "padding") != (0, 0):
        raise Unsupported(f"{kind} with padding (windows must lie inside the input)")
    if "dilation" in args and pair(args["dilation"], "dilation") != (1, 1):
        raise Unsupported(f"{kind} with dilation")
    in_shape = sample_shape(args["self"]) if isinstance(args["self"], torch.fx.Node) else ()
    if len(in_shape) != 3:
        raise Unsupported(f"{kind} needs (channels, height, width) samples")
    floor_shape = tuple(
        (size - k) // s + 1 for size, k, s in zip(in_shape[1:], kernel, stride, strict=True)
    )
    if args.get("ceil_mode") and out_shape[1:] != floor_shape:
        raise Unsupported(f"{kind} with ceil_mode=True where it adds partial windows")
    return {"kernel": kernel, "stride": stride}


def _max_pool2d(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    window = _pool_window(node, args, "max_pool2d", sample_shape(node))
    add_node(walk, node, FloatKind.MAXPOOL2D, (walk.activation(args["self"]),), **window)


def _max_pool2d_with_indices(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    shape = _tuple_member_shape(node, 0)
    window = _pool_window(node, args, "max_pool2d", shape)
    x = walk.activation(args["self"])
    name = walk.unique_name(node.name)
    walk.nodes.append(
        FloatNode(name, FloatKind.MAXPOOL2D, (x,), shape, source=describe(node), **window)
    )
    walk.tuples[node.name] = [name, None]


def _avg_pool2d(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    window = _pool_window(node, args, "avg_pool2d", sample_shape(node))
    divisor = args.get("divisor_override")
    if divisor is not None and divisor != window["kernel"][0] * window["kernel"][1]:
        raise Unsupported("avg_pool2d with divisor_override")
    add_node(walk, node, FloatKind.AVGPOOL2D, (walk.activation(args["self"]),), **window)


def _adaptive_avg_pool2d(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    in_shape = walk.shape_of(args["self"])
    out = pair(args["output_size"], "output_size")
    if len(in_shape) != 3 or in_shape[1] % out[0] or in_shape[2] % out[1]:
        raise Unsupported(f"adaptive_avg_pool2d from {in_shape} to {out}: sizes must divide")
    kernel = (in_shape[1] // out[0], in_shape[2] // out[1])
    x = walk.activation(args["self"])
    add_node(walk, node, FloatKind.AVGPOOL2D, (x,), kernel=kernel, stride=kernel)


def _mean(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    """A mean over both spatial dimensions (global average pooling) is one average pool; so is
    a mean over the tokens of (tokens, features) samples (:func:`_token_mean`)."""
    in_shape = walk.shape_of(args["self"])
    dims = {int(dim) % (len(in_shape) + 1) for dim in (args["dim"] or [])}
    if len(in_shape) == 2 and dims == {1} and args.get("dtype") is None:
        _token_mean(walk, node, args)
        return
    if len(in_shape) != 3 or dims != {2, 3} or args.get("dtype") is not None:
        raise Unsupported("a mean other than over both spatial dimensions of an image")
    x = walk.activation(args["self"])
    pooled = FloatNode(
        walk.unique_name(node.name),
        FloatKind.AVGPOOL2D,
        (x,),
        (in_shape[0], 1, 1),
        kernel=in_shape[1:],
        stride=in_shape[1:],
        source=describe(node),
    )
    walk.nodes.append(pooled)
    walk.values[node.name] = pooled.name
    if not args["keepdim"]:
        add_node(walk, node, FloatKind.RESHAPE, (pooled.name,))


def _token_rows(walk: Walk, node: torch.fx.Node, source: Any) -> tuple[str, int, int]:
    """(tokens, features) samples viewed as one-channel (1, tokens, features) images, so a
    window of k×1 spans k tokens of one feature; the view is a RESHAPE (the same row-major
    values)."""
    tokens, features = walk.shape_of(source)
    name = walk.unique_name(f"{node.name}_rows")
    x = walk.activation(source)
    walk.nodes.append(
        FloatNode(name, FloatKind.RESHAPE, (x,), (1, tokens, features), source=describe(node))
    )
    return name, tokens, features


def _token_mean(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    """x.mean(dim=1) of (tokens, features) samples (mean pooling): an average pool whose
    window is every token of one feature, then the view back to (features,) or (1, features)."""
    rows, tokens, features = _token_rows(walk, node, args["self"])
    pooled = FloatNode(
        walk.unique_name(f"{node.name}_pool"),
        FloatKind.AVGPOOL2D,
        (rows,),
        (1, 1, features),
        kernel=(tokens, 1),
        stride=(tokens, 1),
        source=describe(node),
    )
    walk.nodes.append(pooled)
    add_node(walk, node, FloatKind.RESHAPE, (pooled.name,))


def _select(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    """x[:, i] of (tokens, features) samples (a decoder's last position, an encoder's first):
    a 1-channel convolution whose tokens×1 kernel is 1 at token i and 0 elsewhere, so its
    output is exactly row i (the int8 weight 127 and a requantisation by 1/127). A select of a
    constant (``weight[0]``) is that constant's slice."""
    source = args["self"]
    if isinstance(source, torch.fx.Node) and source.name in walk.constants:
        value = walk.constants[source.name]
        walk.constants[node.name] = np.take(value, int(args["index"]), axis=int(args["dim"]))
        return
    shape = walk.shape_of(source)
    rank = len(shape) + 1
    if len(shape) != 2 or args["dim"] % rank != 1:
        raise Unsupported("select of anything but one token of (tokens, features) samples")
    index = int(args["index"]) % shape[0]
    rows, tokens, features = _token_rows(walk, node, source)
    weight = np.zeros((1, 1, tokens, 1))
    weight[0, 0, index, 0] = 1.0
    picked = FloatNode(
        walk.unique_name(f"{node.name}_pick"),
        FloatKind.CONV2D,
        (rows,),
        (1, 1, features),
        weight=weight,
        bias=np.zeros(1),
        kernel=(tokens, 1),
        source=describe(node),
    )
    walk.nodes.append(picked)
    add_node(walk, node, FloatKind.RESHAPE, (picked.name,))


def _reshape(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    source = node.args[0]
    if isinstance(source, torch.fx.Node) and source.name in walk.constants:
        walk.constants[node.name] = walk.constants[source.name].reshape(
            tuple(node.meta["val"].shape)
        )
        return
    x = walk.activation(source)
    if not isinstance(source, torch.fx.Node) or batch_dim(node) != batch_dim(source):
        raise Unsupported("a reshape that moves the batch dimension")
    if sample_shape(node) == walk.shape_of(source):
        walk.values[node.name] = x
        return
    add_node(walk, node, FloatKind.RESHAPE, (x,))


def _add(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    if args.get("alpha", 1) != 1:
        raise Unsupported("add with alpha other than 1")
    first = walk.activation(args["self"], "first operand", unbatched=True)
    second = walk.activation(args["other"], "second operand (adding a constant)", unbatched=True)
    if {args["self"].name, args["other"].name} <= walk.unbatched:
        raise Unsupported("a sum of two constant-id embeddings (add one to an activation)")
    shapes = (walk.shape_of(args["self"]), walk.shape_of(args["other"]))
    if shapes[0] != shapes[1] or sample_shape(node) != shapes[0]:
        raise Unsupported(f"add with broadcasting ({shapes[0]} and {shapes[1]})")
    add_node(walk, node, FloatKind.ADD, (first, second))


def _batch_norm(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    if args.get("training"):
        raise Unsupported("batch_norm in training mode: export the model after model.eval()")
    x = walk.activation(args["input"])
    in_shape = walk.shape_of(args["input"])
    if len(in_shape) not in (1, 3):
        raise Unsupported(f"batch_norm on samples of shape {in_shape}")
    channels = in_shape[0]
    mean = walk.constant(args["running_mean"], "running mean")
    variance = walk.constant(args["running_var"], "running variance")
    gamma = np.ones(channels) if args["weight"] is None else walk.constant(args["weight"], "weight")
    beta = np.zeros(channels) if args["bias"] is None else walk.constant(args["bias"], "bias")
    factor = gamma / np.sqrt(variance + float(args["eps"]))
    offset = beta - mean * factor
    name = walk.unique_name(node.name)
    float_node = FloatNode(
        name,
        FloatKind.BATCHNORM,
        (x,),
        in_shape,
        weight=factor,
        bias=offset,
        source=describe(node),
    )
    walk.nodes.append(float_node)
    if node.target == torch.ops.aten._native_batch_norm_legit_no_training.default:
        walk.tuples[node.name] = [name, None, None]
    else:
        walk.values[node.name] = name


def _dropout(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    if args.get("train"):
        raise Unsupported("dropout in training mode: export the model after model.eval()")
    _identity(walk, node, args)


def _identity(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    source = node.args[0]
    if isinstance(source, torch.fx.Node) and source.name in walk.constants:
        walk.constants[node.name] = walk.constants[source.name]
        return
    walk.values[node.name] = walk.activation(source)


def _transpose(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    source = node.args[0]
    if isinstance(source, torch.fx.Node) and source.name in walk.constants:
        _transpose_constant(walk, node, walk.constants[source.name], args)
        return
    name = walk.activation(source)
    rank = len(walk.shape_of(source)) + 1
    if node.target == torch.ops.aten.permute.default:
        swapped = list(range(rank - 2)) + [rank - 1, rank - 2]
        last_two = [d % rank for d in args["dims"]] == swapped
    elif node.target == torch.ops.aten.transpose.int:
        last_two = {args["dim0"] % rank, args["dim1"] % rank} == {rank - 2, rank - 1}
    else:
        last_two = False
    if not last_two or rank < 3:
        raise Unsupported("only a swap of an activation's last two axes (not the batch's)")
    walk.transposed[node.name] = name


def _transpose_constant(
    walk: Walk, node: torch.fx.Node, value: np.ndarray, args: dict[str, Any]
) -> None:
    if node.target == torch.ops.aten.t.default:
        result = value.T
    elif node.target == torch.ops.aten.permute.default:
        result = np.transpose(value, tuple(args["dims"]))
    else:
        result = np.swapaxes(value, args["dim0"], args["dim1"])
    walk.constants[node.name] = np.ascontiguousarray(result)


def _matmul(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    first, second = args["self"], args["mat2"] if "mat2" in args else args["other"]
    if isinstance(second, torch.fx.Node) and second.name in walk.constants:
        _mm(walk, node, {"self": first, "mat2": second})
        return
    a = walk.activation(first, "first operand")
    transposed = isinstance(second, torch.fx.Node) and second.name in walk.transposed
    b = walk.transposed[second.name] if transposed else walk.activation(second, "second operand")
    a_shape = walk.shape_of(first)
    b_shape = walk.shape_of(second)
    if len(a_shape) < 2 or len(a_shape) != len(b_shape) or a_shape[:-2] != b_shape[:-2]:
        raise Unsupported(
            f"a product of activations of shapes {a_shape} and {b_shape}: both need the same "
            "leading axes and at least two axes per sample (no broadcasting)"
        )
    kind = FloatKind.MATMUL_T if transposed else FloatKind.MATMUL
    add_node(walk, node, kind, (a, b), kernel=(a_shape[-1], 1))


def _getitem(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    source, index = node.args[0], node.args[1]
    members = walk.tuples.get(source.name) if isinstance(source, torch.fx.Node) else None
    if members is None or not isinstance(index, int) or not 0 <= index < len(members):
        raise Unsupported("indexing into something other than an op's outputs")
    member = members[index]
    if member is None:
        raise Unsupported("uses an auxiliary output (pooling indices or batch statistics)")
    walk.values[node.name] = member


def _tuple_member_shape(node: torch.fx.Node, index: int) -> tuple[int, ...]:
    value = node.meta.get("val")
    if not isinstance(value, (tuple, list)) or not isinstance(value[index], torch.Tensor):
        raise Unsupported("unexpected outputs")
    dims = tuple(value[index].shape[1:])
    if not all(isinstance(dim, int) for dim in dims):
        raise Unsupported("only the batch dimension may be dynamic")
    return tuple(int(dim) for dim in dims)


def _flatten(walk: Walk, node: torch.fx.Node, args: dict[str, Any]) -> None:
    source = args["self"]
    rank = len(walk.shape_of(source)) + 1
    if args["start_dim"] % rank == 0:
        raise Unsupported("flatten that merges the batch dimension (use start_dim=1)")
    _reshape(walk, node, args)


HANDLERS: dict[str, Handler] = {
    "aten.linear.default": _linear,
    "aten.addmm.default": _addmm,
    "aten.mm.default": _mm,
    "aten.conv2d.default": _conv2d,
    "aten.conv2d.padding": _conv2d,
    "aten.convolution.default": _conv2d,
    "aten.relu.default": _relu,
    "aten.relu_.default": _relu,
    "aten.max_pool2d.default": _max_pool2d,
    "aten.max_pool2d_with_indices.default": _max_pool2d_with_indices,
    "aten.avg_pool2d.default": _avg_pool2d,
    "aten.adaptive_avg_pool2d.default": _adaptive_avg_pool2d,
    "aten._adaptive_avg_pool2d.default": _adaptive_avg_pool2d,
    "aten.mean.dim": _mean,
    "aten.select.int": _select,
    "aten.flatten.using_ints": _flatten,
    "aten.view.default": _reshape,
    "aten.reshape.default": _reshape,
    "aten._unsafe_view.default": _reshape,
    "aten.add.Tensor": _add,
    "aten.batch_norm.default": _batch_norm,
    "aten._native_batch_norm_legit_no_training.default": _batch_norm,
    "aten.dropout.default": _dropout,
    "aten.clone.default": _identity,
    "aten.detach.default": _identity,
    "aten.alias.default": _identity,
    "aten.lift_fresh_copy.default": _identity,
    "aten.t.default": _transpose,
    "aten.permute.default": _transpose,
    "aten.transpose.int": _transpose,
    "aten.matmul.default": _matmul,
    "aten.gelu.default": _function,
    "aten.softmax.int": _softmax,
    "aten.scaled_dot_product_attention.default": _attention,
    "aten.mul.Tensor": _scale,
    "aten.div.Tensor": _scale,
    "aten._softmax.default": _softmax,
    "aten.layer_norm.default": _layer_norm,
    "aten.rms_norm.default": _rms_norm,
    "aten.embedding.default": _embedding,
    "aten.arange.default": _arange,
    "aten.arange.start": _arange,
    "aten.arange.start_step": _arange,
    "aten.silu.default": _function,
    "aten.sigmoid.default": _function,
    "aten.tanh.default": _function,
    "aten.bmm.default": _matmul,
    "_operator.getitem": _getitem,
}
