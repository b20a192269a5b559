"""File corruption on a real netns node: the file really differs, and only at the recorded
offsets; the same seed corrupts the same bytes; truncate cuts where it says."""

from __future__ import annotations

import os
import random

import pytest

from harness.nodes import get_provider
from nemesis.corrupt import MODES, corrupt

pytestmark = [pytest.mark.netns]

if os.geteuid() != 0:
    pytest.skip("needs root for a netns node", allow_module_level=True)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    prov = get_provider("netns", tmp_path_factory.mktemp("store"))
    try:
        yield prov.create(1)[0]
    finally:
        prov.destroy()


def _diff_positions(a: bytes, b: bytes) -> list[int]:
    return [i for i in range(min(len(a), len(b))) if a[i] != b[i]]


@pytest.mark.parametrize("mode", MODES)
def test_corruption_changes_exactly_the_recorded_bytes(node, mode):
    path = f"{node.data_dir}/wal-{mode}"
    original = bytes(random.Random(1).randrange(1, 256) for _ in range(200_000))
    node.put_file(path, original)
    c = corrupt(node, path, mode, random.Random(5))
    after = node.get_file(path)
    assert c.size_before == len(original) and c.length > 0
    if mode == "truncate":
        assert after == original[:c.offset] and c.offset + c.length == len(original)
        return
    assert len(after) == len(original)
    changed = _diff_positions(original, after)
    assert changed, "nothing changed"
    assert all(c.offset <= i < c.offset + c.length for i in changed), (c, changed[:5])
    if mode == "zero":
        assert after[c.offset:c.offset + c.length] == bytes(c.length)
    else:
        assert len(changed) == c.flipped_bits  # one bit in each chosen byte
        assert all(bin(original[i] ^ after[i]).count("1") == 1 for i in changed)


def test_same_seed_same_corruption(node):
    data = bytes(range(256)) * 400
    outs = []
    for i in range(2):
        path = f"{node.data_dir}/snap{i}"
        node.put_file(path, data)
        c = corrupt(node, path, "bitflip", random.Random(42))
        outs.append((c.offset, c.length, node.get_file(path)))
    assert outs[0] == outs[1]


def test_unknown_mode_and_empty_file(node):
    with pytest.raises(ValueError, match="not one of"):
        corrupt(node, "/nonexistent", "shred", random.Random(0))
    node.put_file(f"{node.data_dir}/empty", b"")
    assert corrupt(node, f"{node.data_dir}/empty", "zero", random.Random(0)).length == 0
