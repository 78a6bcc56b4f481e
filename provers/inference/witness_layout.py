"""Where every committed vector lives in the witness table W, and how W is cut into lookups.

W is one base-field table of 2^M entries committed once per proof. Each committed vector is an
aligned block (offset a multiple of its power-of-two size), so a claim on the vector's MLE at a
point r is a claim on W at (offset bits, r). Vectors are grouped in regions:

    direct   parallel columns (index, σ, y)               of the nodes whose clamp is direct
    split    parallel columns (h index, f index, σ, hc, y) of the nodes whose clamp is split
    relu     parallel columns (x copy, y)                 of stand-alone ReLU and TABLE nodes
    exp      parallel columns (d, e)                      of SOFTMAX nodes: e = E[d]
    range    one column of range-checked vectors (limbs of τ, r1, r2; max-pool differences)
    other    vectors no lookup reads (max-pool outputs; an audit's per-sample maxima)
    argmax   parallel columns (index, h, y) of an audit's per-class vectors (provers/audit)
    mult     the lookup's multiplicities

Within a multi-column region every column holds the same nodes at the same relative offsets, so
entry i of each column belongs to the same output entry. A lookup is one chunk of 2^n entries
taken at the same relative position from each column a lookup kind reads; the public column
parts (block base, block id) are piecewise constant over the chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from provers.inference.layout import log2_ceil
from provers.lookup.statement import MAX_LOOKUPS, MAX_WITNESS_DEPTH

REGION_COLUMNS: dict[str, tuple[str, ...]] = {
    "direct": ("index", "sigma", "y"),
    "split": ("h_index", "f_index", "sigma", "clip", "y"),
    "relu": ("x", "y"),
    "exp": ("d", "e"),
    "range": ("value",),
    "other": ("y",),
    "argmax": ("index", "h", "y"),
}

LOOKUP_KINDS: dict[str, tuple[str, tuple[str | None, str | None, str | None]]] = {
    "direct": ("direct", ("index", "sigma", "y")),
    "split-h": ("split", ("h_index", "sigma", "clip")),
    "split-f": ("split", ("f_index", "y", "clip")),
    "relu": ("relu", ("x", "y", None)),
    "exp": ("exp", ("d", "e", None)),
    "range": ("range", ("value", None, None)),
    "argmax": ("argmax", ("index", "h", "y")),
}
"""Lookup kind → (region, the region columns feeding table columns A, B, C; None = zero)."""


@dataclass(frozen=True)
class Block:
    offset: int
    log: int


@dataclass(frozen=True)
class Entry:
    """One node's block in a region (for ``range``/``other`` one vector of one node)."""

    key: tuple[str, str]
    """(node, vector) for single-column regions; (node, "") for multi-column regions."""
    log: int
    table_keys: dict[str, tuple[tuple[object, ...], int]] = field(
        default_factory=dict, compare=False
    )
    """Lookup kind → (the table block this entry's rows must lie in, a constant added to
    column A besides the block's base: 128 for ReLU inputs, 2^(L+1) for split-f indices)."""


@dataclass
class Region:
    name: str
    entries: list[Entry]
    offsets: dict[tuple[str, str], int] = field(default_factory=dict)
    size: int = 0
    column_bases: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Segment:
    start: int
    log: int
    value: int


@dataclass(frozen=True)
class LookupColumn:
    """One of a lookup's four vectors: a chunk of W (or nothing) plus a public part."""

    w_offset: int | None
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class LookupChunk:
    kind: str
    columns: tuple[LookupColumn, LookupColumn, LookupColumn, LookupColumn]
    """Table columns A (index + base), D (block id), B, C."""


def _pack(regions: list[Region], chunk: int) -> None:
    for region in regions:
        position = 0
        for entry in sorted(region.entries, key=lambda e: -e.log):
            region.offsets[entry.key] = position
            position += 1 << entry.log
        region.size = -(-position // chunk) * chunk if position else 0


class WitnessLayout:
    """Blocks of every committed vector, the multiplicity block and the lookup chunks."""

    def __init__(self, entries: dict[str, list[Entry]], table_log: int) -> None:
        self.regions = {name: Region(name, list(entries.get(name, []))) for name in REGION_COLUMNS}
        self.chunk_log = self._choose_chunk_log()
        _pack(list(self.regions.values()), 1 << self.chunk_log)
        self._place(table_log)

    def _lookup_count(self, chunk_log: int) -> int:
        total = 0
        for kind, (region_name, _) in LOOKUP_KINDS.items():
            del kind
            used = sum(1 << e.log for e in self.regions[region_name].entries)
            total += -(-used // (1 << chunk_log))
        return total

    def _choose_chunk_log(self) -> int:
        best: tuple[int, int] | None = None
        for chunk_log in range(2, 23):
            count = self._lookup_count(chunk_log)
            if count == 0:
                return chunk_log
            padded = 1 << log2_ceil(count)
            if count > MAX_LOOKUPS or log2_ceil(count) + chunk_log > MAX_WITNESS_DEPTH:
                continue
            # prover work (the padded tree) plus the rows soundness counts (every real lookup)
            cost = (padded + count) * (1 << chunk_log) + 64 * count
            if best is None or cost < best[0]:
                best = (cost, chunk_log)
        if best is None:
            raise ValueError("the witness is too large for one lookup argument")
        return best[1]

    def _place(self, table_log: int) -> None:
        items: list[tuple[int, int, str, str]] = []
        for region in self.regions.values():
            if not region.size:
                continue
            alignment = max([1 << e.log for e in region.entries] + [1 << self.chunk_log])
            for column in REGION_COLUMNS[region.name]:
                items.append((alignment, region.size, region.name, column))
        items.append((1 << table_log, 1 << table_log, "mult", ""))
        position = 0
        for alignment, size, name, column in sorted(items, key=lambda item: -item[0]):
            position = -(-position // alignment) * alignment
            if name == "mult":
                self.multiplicities = Block(position, table_log)
            else:
                self.regions[name].column_bases[column] = position
            position += size
        self.log_size = log2_ceil(position)

    @property
    def size(self) -> int:
        return 1 << self.log_size

    def block(self, node: str, vector: str) -> Block:
        """The block of ``vector`` of ``node`` (vector "y" is the node's activation)."""
        for region in self.regions.values():
            columns = REGION_COLUMNS[region.name]
            if len(columns) == 1 and (node, vector) in region.offsets:
                entry_log = _entry_log(region, (node, vector))
                start = region.column_bases[columns[0]] + region.offsets[(node, vector)]
                return Block(start, entry_log)
            if len(columns) > 1 and (node, "") in region.offsets and vector in columns:
                entry_log = _entry_log(region, (node, ""))
                return Block(region.column_bases[vector] + region.offsets[(node, "")], entry_log)
        raise KeyError((node, vector))

    def has(self, node: str, vector: str) -> bool:
        try:
            self.block(node, vector)
        except KeyError:
            return False
        return True

    def lookup_chunks(
        self, table_bases: dict[tuple[object, ...], tuple[int, int]]
    ) -> list[LookupChunk]:
        """Every lookup: kind by kind, chunk by chunk. ``table_bases`` maps a table block key to
        (base, id)."""
        chunks = []
        size = 1 << self.chunk_log
        for kind, (region_name, sources) in LOOKUP_KINDS.items():
            region = self.regions[region_name]
            for start in range(0, region.size, size):
                base_segments, id_segments = self._segments(region, kind, start, table_bases)
                columns = []
                for position, source in enumerate(sources):
                    offset = None if source is None else region.column_bases[source] + start
                    columns.append(LookupColumn(offset, base_segments if position == 0 else ()))
                identity = LookupColumn(None, id_segments)
                chunks.append(LookupChunk(kind, (columns[0], identity, columns[1], columns[2])))
        return chunks

    def _segments(
        self,
        region: Region,
        kind: str,
        start: int,
        table_bases: dict[tuple[object, ...], tuple[int, int]],
    ) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
        bases, ids = [], []
        stop = start + (1 << self.chunk_log)
        for entry in region.entries:
            offset = region.offsets[entry.key]
            end = offset + (1 << entry.log)
            if end <= start or offset >= stop:
                continue
            table_key, additive = entry.table_keys[kind]
            table_base, table_id = table_bases[table_key]
            if entry.log >= self.chunk_log:
                segment_start, segment_log = 0, self.chunk_log
            else:
                segment_start, segment_log = offset - start, entry.log
            bases.append(Segment(segment_start, segment_log, table_base + additive))
            ids.append(Segment(segment_start, segment_log, table_id))
        return tuple(bases), tuple(ids)


def _entry_log(region: Region, key: tuple[str, str]) -> int:
    for entry in region.entries:
        if entry.key == key:
            return entry.log
    raise KeyError(key)
