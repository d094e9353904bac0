import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from utils import nbdt

CLASSES = ["a0", "a1", "b0", "b1", "b2"]


def clustered_weights() -> np.ndarray:
    """Two well-separated groups of rows: {a0, a1} near +10 and {b0, b1, b2}
    near -10."""
    rng = np.random.default_rng(0)
    centres = np.array([[10.0, 0], [10, 0], [-10, 0], [-10, 0], [-10, 0]])
    return centres + rng.normal(scale=0.1, size=centres.shape)


def test_ward_induction_recovers_known_clusters() -> None:
    root = nbdt.induce_hierarchy(clustered_weights(), CLASSES)
    assert {frozenset(c.leaves) for c in root.children} == {
        frozenset({0, 1}),
        frozenset({2, 3, 4}),
    }
    assert len(list(root.inner_nodes())) == 4  # a binary tree over 5 leaves
    assert root.leaves == (0, 1, 2, 3, 4)
    heights = [n.height for n in root.inner_nodes()]
    assert heights[0] == max(heights), "the root is the last merge"


def test_induction_rejects_a_weight_matrix_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match="K = 5 classes"):
        nbdt.induce_hierarchy(np.zeros((4, 2)), CLASSES)


def write_json(path: Path, nodes: list[dict], links: list[tuple[str, str]]) -> Path:
    path.write_text(
        json.dumps(
            {"nodes": nodes, "links": [{"source": s, "target": t} for s, t in links]}
        )
    )
    return path


def wordnet_file(path: Path) -> Path:
    """entity → animal → {cat, dog (contracted: canine)}; entity → vehicle → car; one
    parent each."""
    nodes = [
        {"id": "e", "label": "entity"},
        {"id": "an", "label": "animal"},
        {"id": "v", "label": "vehicle"},
        {"id": "c", "label": "cat"},
        {"id": "d", "label": "dog", "contraction": {"x": {"label": "canine"}}},
        {"id": "car", "label": "car"},
    ]
    return write_json(
        path, nodes, [("e", "an"), ("e", "v"), ("an", "c"), ("an", "d"), ("v", "car")]
    )


def test_wordnet_puts_contracted_chains_back(tmp_path: Path) -> None:
    wordnet = nbdt.read_wordnet(wordnet_file(tmp_path / "g.json"))
    assert wordnet.ancestors("d") == {"d", "x", "an", "e"}
    assert wordnet.labels["x"] == "canine"
    assert wordnet.depth("d") == 3 and wordnet.depth("e") == 0


def test_extra_hierarchies_add_second_parents(tmp_path: Path) -> None:
    extra = write_json(
        tmp_path / "h.json",
        [{"id": "an", "label": "animal"}, {"id": "car", "label": "car"}],
        [("an", "car")],
    )  # a made-up second hypernym, to see it used
    wordnet = nbdt.read_wordnet(wordnet_file(tmp_path / "g.json"), [extra])
    assert wordnet.ancestors("car") == {"car", "v", "an", "e"}


def test_names_are_the_deepest_unused_common_hypernyms(tmp_path: Path) -> None:
    """cat + dog → animal; then (cat + dog) + car: animal is taken, entity is next."""
    wordnet = nbdt.read_wordnet(wordnet_file(tmp_path / "g.json"))
    weights = np.array([[0.0, 1], [0.1, 1], [5, -5]])
    root = nbdt.induce_hierarchy(
        weights, ["cat", "dog", "car"], wnids=["c", "d", "car"]
    )
    nbdt.name_inner_nodes(root, wordnet)
    assert [n.name for n in root.inner_nodes()] == ["entity", "animal"]


def test_a_node_without_a_free_hypernym_gets_a_made_up_name(tmp_path: Path) -> None:
    wordnet = nbdt.read_wordnet(wordnet_file(tmp_path / "g.json"))
    root = nbdt.induce_hierarchy(
        np.array([[0.0], [0.1], [0.2]]), ["cat", "dog", "x"], wnids=["c", "d", "an"]
    )
    nbdt.name_inner_nodes(root, wordnet)  # animal is a leaf here, so it is taken
    names = [n.name for n in root.inner_nodes()]
    assert len(set(names)) == len(names) and "entity" in names


def test_naming_needs_the_leaves_wordnet_ids(tmp_path: Path) -> None:
    wordnet = nbdt.read_wordnet(wordnet_file(tmp_path / "g.json"))
    root = nbdt.induce_hierarchy(np.array([[0.0], [1.0]]), ["cat", "dog"])
    with pytest.raises(ValueError, match="wnids="):
        nbdt.name_inner_nodes(root, wordnet)


def test_read_hierarchy_matches_leaves_by_wordnet_id(tmp_path: Path) -> None:
    tree = nbdt.read_hierarchy(
        wordnet_file(tmp_path / "g.json"),
        wnids=["c", "d", "car"],
        classes=["cat", "dog", "car"],
    )
    assert tree.name == "entity" and tree.clades() == {
        frozenset({0, 1, 2}),
        frozenset({0, 1}),
        frozenset({2}),
    }


def test_read_hierarchy_rejects_a_forest(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "f.json", [{"id": "a", "label": "a"}, {"id": "b", "label": "b"}], []
    )
    write_json(path, [{"id": i, "label": i} for i in "abcd"], [("a", "c"), ("b", "d")])
    with pytest.raises(ValueError, match="2 roots"):
        nbdt.read_hierarchy(path, wnids=["c", "d"], classes=["c", "d"])


def small_tree() -> tuple[nbdt.Node, torch.Tensor]:
    root = nbdt.induce_hierarchy(clustered_weights(), CLASSES)
    for i, node in enumerate(root.inner_nodes()):
        node.name = f"n{i}"
    torch.manual_seed(0)
    return root, 3 * torch.randn(50, 5)


def test_soft_probabilities_sum_to_one_and_are_path_products() -> None:
    root, logits = small_tree()
    probs = nbdt.soft_log_probs(root, logits).exp()
    torch.testing.assert_close(probs.sum(1), torch.ones(50))
    for row, p in zip(logits, probs):
        for leaf in range(5):
            path = nbdt.decisions(root, row, leaf=leaf)
            assert path[-1][0] == CLASSES[leaf]
            assert math.prod(q for _, q in path) == pytest.approx(
                p[leaf].item(), rel=1e-5
            )


def test_child_logits_are_means_of_the_leaves_logits() -> None:
    root, logits = small_tree()
    expected = torch.stack(
        [logits[:, list(c.leaves)].mean(1) for c in root.children], 1
    )
    torch.testing.assert_close(nbdt.child_logits(root, logits), expected)


def test_hard_inference_follows_the_most_probable_child() -> None:
    root, logits = small_tree()
    hard = nbdt.hard_predict(root, logits)
    for row, h in zip(logits, hard):
        path = nbdt.decisions(root, row)
        assert path[-1][0] == CLASSES[h]
        assert all(q >= 0.5 for _, q in path), (
            "a binary decision takes the child with probability >= 1/2"
        )


def test_hard_and_soft_agree_with_the_logits_when_the_tree_is_consistent() -> None:
    weights = torch.tensor(clustered_weights(), dtype=torch.float32)
    root = nbdt.induce_hierarchy(weights, CLASSES)
    logits = 20 * torch.eye(5)  # each sample is sure of one class
    assert torch.equal(nbdt.hard_predict(root, logits), torch.arange(5))
    assert torch.equal(nbdt.soft_log_probs(root, logits).argmax(1), torch.arange(5))


def test_node_accuracy_counts_only_samples_below_the_node() -> None:
    root, _ = small_tree()
    labels = torch.tensor([0, 1, 2, 3])
    logits = torch.zeros(4, 5)
    logits[:, 0] = 10  # everyone votes a0: right at the root for a0, a1 only
    accuracy = nbdt.node_accuracy(root, logits, labels)
    assert accuracy[root.name] == 0.5
    a_node = next(n for n in root.inner_nodes() if set(n.leaves) == {0, 1})
    assert accuracy[a_node.name] == 0.5  # a0 right, a1 wrong; the b's do not count here


def test_loss_weights_follow_the_linear_schedule() -> None:
    assert nbdt.loss_weights(0.0, omega_end=10) == (1.0, 0.0)
    assert nbdt.loss_weights(0.5, omega_end=10, beta_end=0.0) == (0.5, 5.0)
    with pytest.raises(ValueError, match="progress"):
        nbdt.loss_weights(1.5, omega_end=10)


def test_tree_supervision_lowers_the_tree_loss_and_keeps_batchnorm_statistics() -> None:
    torch.manual_seed(0)
    weights = clustered_weights()
    root = nbdt.induce_hierarchy(weights, CLASSES)
    head = nn.Sequential(nn.BatchNorm1d(2), nn.Linear(2, 5))
    head.eval()
    inputs = torch.tensor(weights, dtype=torch.float32).repeat(20, 1) + 2 * torch.randn(
        100, 2
    )
    labels = torch.arange(5).repeat(20)
    running = head[0].running_mean.clone()

    def tree_loss() -> float:
        with torch.no_grad():
            return nbdt.tree_supervision_loss(
                root, head(inputs), labels, beta=0.0, omega=1.0
            ).item()

    before = tree_loss()
    history = nbdt.finetune_with_tree_supervision(
        head, inputs, labels, root, epochs=5, lr=0.05, batch_size=20
    )
    assert tree_loss() < before
    assert [row["epoch"] for row in history] == [1, 2, 3, 4, 5] and history[-1][
        "omega"
    ] > 9
    assert torch.equal(head[0].running_mean, running), (
        "BatchNorm must keep its running statistics"
    )
    assert not head.training


def test_fine_tuning_shows_one_progress_bar_for_all_epochs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bar per epoch would print one more output per epoch in a notebook."""
    weights = clustered_weights()
    root = nbdt.induce_hierarchy(weights, CLASSES)
    inputs = torch.tensor(weights, dtype=torch.float32).repeat(20, 1)
    labels = torch.arange(5).repeat(20)
    nbdt.finetune_with_tree_supervision(
        nn.Linear(2, 5), inputs, labels, root, epochs=3, batch_size=20
    )
    bars = [line for line in capsys.readouterr().err.split("\n") if "tree" in line]
    assert len(bars) == 1, bars
    assert "15/15" in bars[0].split("\r")[-1], (
        "the bar counts the batches of all epochs"
    )
