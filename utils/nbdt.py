"""Neural-Backed Decision Trees: a tree of decisions on top of a trained network's last layer.

Wan et al., "NBDT: Neural-Backed Decision Trees", ICLR 2021. The hierarchy is induced from the
rows of the final linear layer (one row per class, clustered bottom-up with Ward's method); every
inner node gets the mean of its leaves' rows as its vector. A sample descends the tree by comparing
its penultimate feature with the children's vectors: soft inference multiplies the child
probabilities along each root-to-leaf path, hard inference greedily follows the most probable child.
Inner nodes are named by the lowest common WordNet ancestor of their leaves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.cluster.hierarchy import linkage
from torch import nn
from tqdm import tqdm

Decision = tuple[str, float]  # (name of the chosen child, its probability at that node)


@dataclass
class Node:
    """A node of the hierarchy: its name, the class indices below it, and its children (none for a leaf)."""

    name: str
    leaves: tuple[int, ...]
    children: list[Node] = field(default_factory=list)

    def inner_nodes(self) -> Iterator[Node]:
        """This node and every inner node below it, parents before children."""
        if self.children:
            yield self
            for child in self.children:
                yield from child.inner_nodes()

    def clades(self) -> set[frozenset[int]]:
        """The leaf sets of all inner nodes: two trees with the same clades have the same structure."""
        return {frozenset(n.leaves) for n in self.inner_nodes()}


def induce_hierarchy(weights: np.ndarray, classes: list[str]) -> Node:
    """A binary tree over the classes by Ward clustering of the rows of ``weights`` (K, D)."""
    nodes = [Node(name, (k,)) for k, name in enumerate(classes)]
    for a, b, _, _ in linkage(np.asarray(weights, dtype=np.float64), method="ward"):
        left, right = nodes[int(a)], nodes[int(b)]
        nodes.append(Node("", tuple(sorted(left.leaves + right.leaves)), [left, right]))
    return nodes[-1]


def read_hierarchy(path: Path, wnids: list[str], classes: list[str]) -> Node:
    """A tree from networkx node-link JSON (edges parent → child), as the NBDT authors ship them.

    Leaves are matched to classes through ``wnids`` (the WordNet id of each class, in class order);
    inner nodes keep the file's labels.
    """
    graph = json.loads(Path(path).read_text())
    labels = {n["id"]: n.get("label", n["id"]) for n in graph["nodes"]}
    children: dict[str, list[str]] = {}
    for link in graph["links"]:
        children.setdefault(link["source"], []).append(link["target"])
    root = next(iter(set(children) - {t for kids in children.values() for t in kids}))

    def build(wnid: str) -> Node:
        if wnid not in children:
            k = wnids.index(wnid)
            return Node(classes[k], (k,))
        kids = [build(c) for c in children[wnid]]
        return Node(labels[wnid], tuple(sorted(k for kid in kids for k in kid.leaves)), kids)

    return build(root)


def wordnet_ancestors(path: Path) -> dict[str, list[str]]:
    """For each node id of a WordNet node-link graph, its own label and its ancestors', nearest first.

    The NBDT graphs contract chains of single-child synsets into one node, listing them (nearest
    first) under ``"contraction"``; they are put back into the chain here.
    """
    graph = json.loads(Path(path).read_text())
    parent = {link["target"]: link["source"] for link in graph["links"]}
    by_id = {n["id"]: n for n in graph["nodes"]}

    def chain(wnid: str) -> list[str]:
        node = by_id[wnid]
        own = [node["label"]] + [c["label"] for c in node.get("contraction", {}).values()]
        return own + (chain(parent[wnid]) if wnid in parent else [])

    return {wnid: chain(wnid) for wnid in by_id}


def lowest_common_ancestor(chains: list[list[str]]) -> str:
    """The first name in the first chain that every chain contains."""
    return next(name for name in chains[0] if all(name in c for c in chains[1:]))


def name_inner_nodes(root: Node, leaf_chains: list[list[str]]) -> None:
    """Name every inner node after the lowest common WordNet ancestor of its leaves (in place)."""
    for node in root.inner_nodes():
        node.name = lowest_common_ancestor([leaf_chains[k] for k in node.leaves])


class SoftTree:
    """Soft and hard NBDT inference over ``root`` with the final linear layer's ``weights`` (K, D).

    Each node's vector is the mean of its leaves' rows. At an inner node, the probability of each
    child is the softmax over children of ⟨feature, child vector⟩.
    """

    def __init__(self, root: Node, weights: torch.Tensor) -> None:
        self.root, self.weights = root, weights  # not detached: the tree supervision loss trains them
        self.num_classes = weights.shape[0]

    def vector(self, node: Node) -> torch.Tensor:
        return self.weights[list(node.leaves)].mean(0)

    def child_probs(self, node: Node, features: torch.Tensor) -> torch.Tensor:
        """(N, number of children): the probability of each child of ``node``."""
        vectors = torch.stack([self.vector(child) for child in node.children])
        return (features @ vectors.T).softmax(1)

    def leaf_probs(self, features: torch.Tensor) -> torch.Tensor:
        """(N, K) soft inference: each leaf's probability is the product of the choices on its path."""
        probs = torch.ones(len(features), self.num_classes, device=features.device)
        for node in self.root.inner_nodes():
            for child, p in zip(node.children, self.child_probs(node, features).T):
                probs[:, list(child.leaves)] *= p[:, None]
        return probs

    def hard_predict(self, features: torch.Tensor) -> torch.Tensor:
        """(N,) hard inference: from the root, always take the most probable child."""
        prediction = torch.empty(len(features), dtype=torch.long)

        def descend(node: Node, here: torch.Tensor) -> None:
            if not node.children:
                prediction[here.cpu()] = node.leaves[0]
                return
            choice = self.child_probs(node, features[here]).argmax(1)
            for i, child in enumerate(node.children):
                descend(child, here[choice == i])

        descend(self.root, torch.arange(len(features), device=features.device))
        return prediction

    def child_index(self, node: Node) -> torch.Tensor:
        """(K,) for each class, the index of ``node``'s child it lies under (-1 if not below ``node``)."""
        index = torch.full((self.num_classes,), -1, dtype=torch.long)
        for i, child in enumerate(node.children):
            index[list(child.leaves)] = i
        return index

    def path(self, feature: torch.Tensor, leaf: int) -> list[tuple[Node, float]]:
        """(node chosen, probability) at each step from the root down to ``leaf``, for one feature (1, D)."""
        node, steps = self.root, []
        while node.children:
            probs = self.child_probs(node, feature)[0]
            i = int(self.child_index(node)[leaf])
            node = node.children[i]
            steps.append((node, float(probs[i])))
        return steps

    def forward_with_decisions(self, features: torch.Tensor) -> tuple[torch.Tensor, list[list[Decision]]]:
        """Soft leaf probabilities (N, K) and, per sample, the decisions on the path to its predicted leaf."""
        probs = self.leaf_probs(features)
        decisions = [[(node.name, p) for node, p in self.path(f[None], leaf=int(k))]
                     for f, k in zip(features, probs.argmax(1))]
        return probs, decisions

    def node_accuracy(self, features: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """For each inner node: of the samples whose true class lies below it, how many pick the right child."""
        result = {}
        for node in self.root.inner_nodes():
            right = self.child_index(node).to(labels.device)[labels]
            below = right >= 0
            chosen = self.child_probs(node, features[below]).argmax(1)
            result[f"{node.name} {sorted(node.leaves)}"] = (chosen == right[below]).float().mean().item()
        return result


def finetune_with_tree_supervision(linear: nn.Linear, root: Node, features: torch.Tensor, labels: torch.Tensor, *,
                                   omega: float = 2.0, lr: float = 1e-2, epochs: int = 30, batch_size: int = 128,
                                   seed: int = 0) -> list[float]:
    """Fine-tune the final ``linear`` layer on fixed penultimate ``features`` (N, D) with NBDT's soft
    tree supervision loss, cross-entropy(logits) + ``omega`` · NLL(soft tree's leaf probabilities).

    The paper fine-tunes the whole network on the full training set; training only the last layer
    on cached features is the CPU-sized version. Returns the mean loss of each epoch.
    """
    optimizer = torch.optim.Adam(linear.parameters(), lr=lr)
    tree, generator, losses = SoftTree(root, linear.weight), torch.Generator().manual_seed(seed), []
    for _ in tqdm(range(epochs), desc="tree supervision"):
        order, total = torch.randperm(len(features), generator=generator), 0.0
        for batch in order.split(batch_size):
            f, y = features[batch], labels[batch]
            loss = F.cross_entropy(linear(f), y) + omega * F.nll_loss(tree.leaf_probs(f).clamp_min(1e-12).log(), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(features))
    return losses
