"""A minimal, deterministic writer for Compound File Binary files (MS-CFB), version 3.

It writes what a ``vbaProject.bin`` needs: one root storage holding streams and
storages, 512-byte sectors, streams under 4096 bytes in the mini stream. There are no
timestamps, no CLSIDs and no free-space noise, so the same input always gives the same
bytes. ``olefile`` reads the result back (see the tests).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096

FREESECT = 0xFFFFFFFF
ENDOFCHAIN = 0xFFFFFFFE
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF

_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")


@dataclass
class Stream:
    name: str
    data: bytes


@dataclass
class Storage:
    name: str
    children: list["Stream | Storage"] = field(default_factory=list)


def _sort_key(name: str) -> tuple[int, str]:
    # MS-CFB 2.6.4: shorter names first, then by upper-cased code points.
    return (len(name.encode("utf-16-le")), name.upper())


@dataclass
class _Entry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    data: bytes = b""
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    black: bool = True
    start: int = ENDOFCHAIN
    size: int = 0


def _check_name(name: str) -> None:
    if not name or len(name) > 31 or any(c in name for c in "/\\:!"):
        raise ValueError(f"invalid compound file entry name: {name!r}")


def _build_tree(entries: list[_Entry], ids: list[int]) -> int:
    """Link the sibling entries ``ids`` (one storage's children) as a balanced
    binary search tree, coloured as a valid red-black tree; return the root id."""
    ordered = sorted(ids, key=lambda i: _sort_key(entries[i].name))
    depth: dict[int, int] = {}

    def build(lo: int, hi: int, d: int) -> int:
        if lo >= hi:
            return NOSTREAM
        mid = (lo + hi) // 2
        node = ordered[mid]
        depth[node] = d
        entries[node].left = build(lo, mid, d + 1)
        entries[node].right = build(mid + 1, hi, d + 1)
        return node

    root = build(0, len(ordered), 0)
    if depth:
        # A middle-split tree has all its leaves on the last two levels; colouring the
        # deepest level red keeps every root-to-leaf path with the same black count.
        deepest = max(depth.values())
        for node, d in depth.items():
            entries[node].black = not (d == deepest and deepest > 0)
    return root


def write_cfb(root_children: list[Stream | Storage]) -> bytes:
    """Return the bytes of a compound file whose root storage holds ``root_children``."""
    entries: list[_Entry] = [_Entry("Root Entry", 5)]

    def add(children: list[Stream | Storage]) -> list[int]:
        ids = []
        for item in children:
            _check_name(item.name)
            idx = len(entries)
            if isinstance(item, Stream):
                entries.append(_Entry(item.name, 2, data=bytes(item.data)))
            else:
                entries.append(_Entry(item.name, 1))
                entries[idx].child = _build_tree(entries, add(item.children))
            ids.append(idx)
        names = [entries[i].name.upper() for i in ids]
        if len(set(names)) != len(names):
            raise ValueError("duplicate compound file entry names")
        return ids

    entries[0].child = _build_tree(entries, add(root_children))

    # Mini stream: the small streams, packed in 64-byte mini sectors.
    minifat: list[int] = []
    ministream = bytearray()
    big: list[_Entry] = []
    for e in entries:
        if e.kind != 2:
            continue
        e.size = len(e.data)
        if e.size == 0:
            e.start = ENDOFCHAIN
        elif e.size < MINI_CUTOFF:
            n = -(-e.size // MINI_SECTOR)
            first = len(minifat)
            e.start = first
            minifat.extend(range(first + 1, first + n))
            minifat.append(ENDOFCHAIN)
            ministream += e.data + b"\0" * (n * MINI_SECTOR - e.size)
        else:
            big.append(e)

    # Regular sectors: big streams, then the mini stream, the directory, the mini FAT.
    fat: list[int] = []
    body = bytearray()

    def place(data: bytes) -> int:
        if not data:
            return ENDOFCHAIN
        n = -(-len(data) // SECTOR)
        first = len(fat)
        fat.extend(range(first + 1, first + n))
        fat.append(ENDOFCHAIN)
        body.extend(data + b"\0" * (n * SECTOR - len(data)))
        return first

    for e in big:
        e.start = place(e.data)
    entries[0].start = place(bytes(ministream))
    entries[0].size = len(ministream)

    dir_bytes = bytearray()
    for e in entries:
        dir_bytes += _pack_entry(e)
    while len(dir_bytes) % SECTOR:
        dir_bytes += _pack_unused_entry()
    first_dir = place(bytes(dir_bytes))

    minifat_bytes = b"".join(struct.pack("<I", v) for v in minifat)
    if minifat_bytes:
        minifat_bytes += struct.pack("<I", FREESECT) * ((-len(minifat_bytes) // 4) % (SECTOR // 4))
    first_minifat = place(minifat_bytes)
    n_minifat = len(minifat_bytes) // SECTOR

    # FAT sectors themselves: enough to map every sector including their own.
    n_fat = 1
    while n_fat * (SECTOR // 4) < len(fat) + n_fat:
        n_fat += 1
    if n_fat > 109:
        raise ValueError("compound file too large for a header-only DIFAT")
    fat_start = len(fat)
    fat.extend([FATSECT] * n_fat)
    fat.extend([FREESECT] * (n_fat * (SECTOR // 4) - len(fat)))
    fat_bytes = b"".join(struct.pack("<I", v) for v in fat)

    difat = list(range(fat_start, fat_start + n_fat)) + [FREESECT] * (109 - n_fat)
    header = (
        _SIGNATURE
        + b"\0" * 16  # CLSID
        + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, n_fat, first_dir, 0, MINI_CUTOFF,
                      first_minifat if n_minifat else ENDOFCHAIN, n_minifat,
                      ENDOFCHAIN, 0)
        + b"".join(struct.pack("<I", v) for v in difat)
    )
    assert len(header) == SECTOR
    return header + bytes(body) + fat_bytes


def _pack_entry(e: _Entry) -> bytes:
    name = e.name.encode("utf-16-le") + b"\0\0"
    return (
        name.ljust(64, b"\0")
        + struct.pack("<HBB", len(name), e.kind, 1 if e.black else 0)
        + struct.pack("<III", e.left, e.right, e.child)
        + b"\0" * 16  # CLSID
        + b"\0" * 4  # state bits
        + b"\0" * 16  # creation and modified time: none, for reproducible output
        + struct.pack("<IQ", e.start if e.kind != 1 else 0, e.size if e.kind != 1 else 0)
    )


def _pack_unused_entry() -> bytes:
    return b"\0" * 66 + struct.pack("<BBIII", 0, 0, NOSTREAM, NOSTREAM, NOSTREAM) + b"\0" * 48
