import json
from pathlib import Path

import numpy as np
import pytest
import torch

from utils import nbdt

CLASSES = ["a0", "a1", "b0", "b1", "b2"]


def clustered_weights() -> np.ndarray:
    """Two well-separated groups of rows: {a0, a1} near +10 and {b0, b1, b2} near -10."""
    rng = np.random.default_rng(0)
    centres = np.array([[10.0, 0], [10, 0], [-10, 0], [-10, 0], [-10, 0]])
    return centres + rng.normal(scale=0.1, size=centres.shape)


def test_ward_induction_recovers_known_clusters() -> None:
    root = nbdt.induce_hierarchy(clustered_weights(), CLASSES)
    assert {frozenset(c.leaves) for c in root.children} == {frozenset({0, 1}), frozenset({2, 3, 4})}
    assert len(list(root.inner_nodes())) == 4  # a binary tree over 5 leaves
    assert root.leaves == (0, 1, 2, 3, 4)


def write_graph(path: Path) -> None:
    """entity → {animal → {cat, dog (contracted: canine)}, vehicle → car}."""
    nodes = [{"id": "e", "label": "entity"}, {"id": "an", "label": "animal"}, {"id": "v", "label": "vehicle"},
             {"id": "c", "label": "cat"}, {"id": "d", "label": "dog", "contraction": {"x": {"label": "canine"}}},
             {"id": "car", "label": "car"}]
    links = [("e", "an"), ("e", "v"), ("an", "c"), ("an", "d"), ("v", "car")]
    path.write_text(json.dumps({"nodes": nodes, "links": [{"source": s, "target": t} for s, t in links]}))


def test_wordnet_chains_and_lowest_common_ancestor(tmp_path: Path) -> None:
    write_graph(tmp_path / "g.json")
    chains = nbdt.wordnet_ancestors(tmp_path / "g.json")
    assert chains["d"] == ["dog", "canine", "animal", "entity"]
    assert nbdt.lowest_common_ancestor([chains["c"], chains["d"]]) == "animal"
    assert nbdt.lowest_common_ancestor([chains["c"], chains["car"]]) == "entity"
    tree = nbdt.read_hierarchy(tmp_path / "g.json", wnids=["c", "d", "car"], classes=["cat", "dog", "car"])
    assert tree.name == "entity" and tree.clades() == {frozenset({0, 1, 2}), frozenset({0, 1}), frozenset({2})}


def test_soft_probabilities_sum_to_one_and_hard_is_argmax_when_consistent() -> None:
    weights = torch.tensor(clustered_weights(), dtype=torch.float32)
    tree = nbdt.SoftTree(nbdt.induce_hierarchy(weights.numpy(), CLASSES), weights)
    torch.manual_seed(0)
    features = weights[[0, 2, 4]] + 0.01 * torch.randn(3, 2)  # each sample sits on one class's row
    probs = tree.leaf_probs(features)
    torch.testing.assert_close(probs.sum(1), torch.ones(3))
    assert torch.equal(tree.hard_predict(features), probs.argmax(1))
    _, decisions = tree.forward_with_decisions(features)
    for p, path in zip(probs, decisions):
        assert np.prod([q for _, q in path]) == pytest.approx(p.max().item(), rel=1e-5)


def test_tree_supervision_lowers_the_loss() -> None:
    torch.manual_seed(0)
    weights = clustered_weights()
    root = nbdt.induce_hierarchy(weights, CLASSES)
    linear = torch.nn.Linear(2, 5)
    features = torch.tensor(weights, dtype=torch.float32).repeat(20, 1) + 0.5 * torch.randn(100, 2)
    labels = torch.arange(5).repeat(20)
    losses = nbdt.finetune_with_tree_supervision(linear, root, features, labels, epochs=5, lr=0.05)
    assert losses[-1] < losses[0]
