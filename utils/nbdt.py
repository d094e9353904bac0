"""Neural-Backed Decision Trees: a tree of decisions on top of a trained classifier's
logits.

Wan, Dunlap, Ho, Yin, Lee, Petryk, Bargal, Gonzalez, "NBDT: Neural-Backed Decision
Trees", ICLR 2021.

- Induction: the rows of the final linear layer (one per class) are clustered bottom-up
  with Ward's method; every merge is an inner node of a binary tree.
- Naming: in merge order, each inner node takes the deepest WordNet hypernym common to
  its two children that no node has taken yet (the authors' ``get_wordnet_meaning`` /
  ``pick_unseen_hypernym``), so every name is distinct.
- Inference: at an inner node, a child's logit is the mean of the logits of the classes
  below it (the authors' ``get_node_logits``: the inner product with the mean of those
  rows, plus the mean bias); a softmax over the children gives the decision. Soft
  inference multiplies the decisions along each root-to-leaf path; hard inference
  follows the most probable child from the root.
- Training: the soft tree supervision loss β_t·CE(logits) + ω_t·CE(soft tree); each
  weight moves linearly from a start to an end value over training, as in the authors'
  ``TreeSupLoss.get_weight`` (here ω starts at 0 and β at 1).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
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
    """A node of the hierarchy.

    Attributes:
        name: the class name (leaf) or the WordNet name (inner node, once named).
        leaves: the class indices below the node, sorted.
        children: none for a leaf, two for an induced inner node.
        wnid: the WordNet id of the synset that names it ("" before naming).
        height: Ward's merge distance that created it (0 for a leaf); merges happen in
            increasing height.
    """

    name: str
    leaves: tuple[int, ...]
    children: list[Node] = field(default_factory=list)
    wnid: str = ""
    height: float = 0.0

    def inner_nodes(self) -> Iterator[Node]:
        """This node and every inner node below it, parents before children."""
        if self.children:
            yield self
            for child in self.children:
                yield from child.inner_nodes()

    def clades(self) -> set[frozenset[int]]:
        """The leaf sets of all inner nodes: two trees with the same clades have the
        same structure."""
        return {frozenset(n.leaves) for n in self.inner_nodes()}


def induce_hierarchy(
    weights: np.ndarray | torch.Tensor,
    classes: Sequence[str],
    wnids: Sequence[str] = (),
) -> Node:
    """A binary tree over the K classes by Ward clustering of the rows of ``weights``
    (K, D).

    Args:
        weights: the final linear layer's weight matrix, one row per class.
        classes: the K class names (the leaves' names).
        wnids: optional WordNet ids of the classes, needed by :func:`name_inner_nodes`.
    """
    rows = np.asarray(torch.as_tensor(weights).detach().cpu(), dtype=np.float64)
    if rows.ndim != 2 or len(rows) != len(classes):
        raise ValueError(
            f"weights must be (K, D) with K = {len(classes)} classes, got {rows.shape}."
        )
    ids = list(wnids) or [""] * len(classes)
    nodes = [Node(name, (k,), wnid=w) for k, (name, w) in enumerate(zip(classes, ids))]
    for a, b, distance, _ in linkage(rows, method="ward"):
        left, right = nodes[int(a)], nodes[int(b)]
        nodes.append(
            Node(
                "",
                tuple(sorted(left.leaves + right.leaves)),
                [left, right],
                height=float(distance),
            )
        )
    return nodes[-1]


def read_hierarchy(path: Path, wnids: Sequence[str], classes: Sequence[str]) -> Node:
    """A tree from networkx node-link JSON (edges parent → child), as the NBDT authors
    ship them.

    Leaves are matched to classes through ``wnids`` (the WordNet id of each class, in
    class order); inner nodes keep the file's labels and ids.
    """
    graph = json.loads(Path(path).read_text())
    labels = {n["id"]: n.get("label", n["id"]) for n in graph["nodes"]}
    children: dict[str, list[str]] = {}
    for link in graph["links"]:
        children.setdefault(link["source"], []).append(link["target"])
    roots = set(children) - {t for kids in children.values() for t in kids}
    if len(roots) != 1:
        raise ValueError(
            f"{path} is not a tree: it has {len(roots)} roots ({sorted(roots)})."
        )

    def build(wnid: str) -> Node:
        if wnid not in children:
            k = list(wnids).index(wnid)
            return Node(classes[k], (k,), wnid=wnid)
        kids = [build(c) for c in children[wnid]]
        return Node(
            labels[wnid],
            tuple(sorted(k for kid in kids for k in kid.leaves)),
            kids,
            wnid=wnid,
        )

    return build(roots.pop())


@dataclass
class WordNet:
    """The part of WordNet's noun hierarchy a data set needs: each synset's hypernyms,
    and its name."""

    parents: dict[str, set[str]]
    labels: dict[str, str]

    def ancestors(self, wnid: str) -> set[str]:
        """The synset and all its hypernyms, through every path (WordNet allows several
        parents)."""
        found, todo = {wnid}, [wnid]
        while todo:
            for parent in self.parents.get(todo.pop(), ()):
                if parent not in found:
                    found.add(parent)
                    todo.append(parent)
        return found

    def depth(self, wnid: str) -> int:
        """Length of the longest hypernym path up to a root (NLTK's
        ``Synset.max_depth``)."""

        @cache
        def depth(w: str) -> int:
            return 1 + max(map(depth, self.parents[w])) if self.parents.get(w) else 0

        return depth(wnid)


def read_wordnet(path: Path, extra_hierarchies: Sequence[Path] = ()) -> WordNet:
    """Hypernym links from the NBDT authors' WordNet graph (networkx node-link JSON).

    Their graph keeps one hypernym per synset and contracts chains of single-child
    synsets into one node (listed, nearest first, under ``"contraction"``); the chains
    are put back here. Each file in ``extra_hierarchies`` (their induced hierarchies)
    adds its parent → child links as hypernym links: the authors named every inner node
    by a common hypernym of its children, so these are WordNet links too, among them the
    ones the one-parent graph drops (a wheeled vehicle is a container *and* a vehicle).
    """
    graph = json.loads(Path(path).read_text())
    parents: dict[str, set[str]] = {}
    labels: dict[str, str] = {}
    last_of: dict[str, str] = {}
    for node in graph["nodes"]:
        chain = [(node["id"], node["label"])] + [
            (k, c["label"]) for k, c in node.get("contraction", {}).items()
        ]
        labels.update(chain)
        for (child, _), (parent, _) in zip(chain, chain[1:]):
            parents.setdefault(child, set()).add(parent)
        last_of[node["id"]] = chain[-1][0]
    for link in graph["links"]:
        parents.setdefault(last_of[link["target"]], set()).add(link["source"])
    for extra in extra_hierarchies:
        hierarchy = json.loads(Path(extra).read_text())
        labels.update({n["id"]: n["label"] for n in hierarchy["nodes"]})
        for link in hierarchy["links"]:
            parents.setdefault(link["target"], set()).add(link["source"])
    return WordNet(parents, labels)


def name_inner_nodes(root: Node, wordnet: WordNet) -> None:
    """Give every inner node a distinct WordNet name, in place, the way the NBDT authors
    do.

    In merge order (increasing ``height``), a node takes the deepest synset that is a
    hypernym of both children's synsets (a synset counts as its own hypernym) and that
    no node has taken yet; the leaves' synsets count as taken. Needs the leaves'
    ``wnid`` (see :func:`induce_hierarchy`). When every common hypernym is taken the
    authors make up a synset; here the node is then named ``"unnamed_<i>"``.
    """
    inner = sorted(root.inner_nodes(), key=lambda n: n.height)
    leaves = [n for n in _all_nodes(root) if not n.children]
    missing = [n.name for n in leaves if n.wnid not in wordnet.labels]
    if missing:
        raise ValueError(
            f"Leaves {missing} have no WordNet id in the graph: pass wnids= to "
            "induce_hierarchy."
        )
    taken = {n.wnid for n in leaves}
    for i, node in enumerate(inner):
        common = (
            set.intersection(*(wordnet.ancestors(c.wnid) for c in node.children))
            - taken
        )
        if common:
            node.wnid = max(sorted(common), key=wordnet.depth)
            node.name = wordnet.labels[node.wnid]
            taken.add(node.wnid)
        else:
            node.wnid = node.name = f"unnamed_{i}"


def _all_nodes(root: Node) -> Iterator[Node]:
    yield root
    for child in root.children:
        yield from _all_nodes(child)


def child_logits(node: Node, logits: torch.Tensor) -> torch.Tensor:
    """(N, number of children): each child's logit, the mean of the logits (N, K) of its
    classes."""
    return torch.stack(
        [logits[:, list(child.leaves)].mean(1) for child in node.children], 1
    )


def soft_log_probs(root: Node, logits: torch.Tensor) -> torch.Tensor:
    """(N, K) soft inference: log P(leaf) = Σ over the path of
    log P(chosen child | node)."""
    log_probs = torch.zeros_like(logits)
    for node in root.inner_nodes():
        decision = child_logits(node, logits).log_softmax(1)
        for i, child in enumerate(node.children):
            log_probs[:, list(child.leaves)] += decision[:, i : i + 1]
    return log_probs


def hard_predict(root: Node, logits: torch.Tensor) -> torch.Tensor:
    """(N,) hard inference: from the root, every sample follows its most probable child
    to a leaf."""
    prediction = torch.empty(len(logits), dtype=torch.long)

    def descend(node: Node, rows: torch.Tensor) -> None:
        if not node.children:
            prediction[rows] = node.leaves[0]
            return
        choice = child_logits(node, logits[rows]).argmax(1).cpu()
        for i, child in enumerate(node.children):
            descend(child, rows[choice == i])

    descend(root, torch.arange(len(logits)))
    return prediction


def decisions(
    root: Node, logits: torch.Tensor, leaf: int | None = None
) -> list[Decision]:
    """The decisions for one sample's logits (K,): (chosen child's name, its
    probability) at each inner node from the root down, following the most probable
    child (hard inference) or, given ``leaf``, the path to that class (how soft
    inference explains its prediction)."""
    node, steps = root, []
    while node.children:
        probs = child_logits(node, logits[None])[0].softmax(0)
        i = (
            int(probs.argmax())
            if leaf is None
            else next(j for j, c in enumerate(node.children) if leaf in c.leaves)
        )
        node = node.children[i]
        steps.append((node.name, float(probs[i])))
    return steps


def node_accuracy(
    root: Node, logits: torch.Tensor, labels: torch.Tensor
) -> dict[str, float]:
    """For each inner node: of the samples whose true class lies below it, the share
    that picks the child holding their class (the node's own decision, whatever happened
    above it)."""
    result = {}
    for node in root.inner_nodes():
        right = torch.full((logits.shape[1],), -1, dtype=torch.long)
        for i, child in enumerate(node.children):
            right[list(child.leaves)] = i
        target = right[labels.cpu()]
        below = target >= 0
        chosen = child_logits(node, logits[below.to(logits.device)]).argmax(1).cpu()
        result[node.name] = (chosen == target[below]).float().mean().item()
    return result


def loss_weights(
    progress: float, omega_end: float, beta_end: float = 1.0
) -> tuple[float, float]:
    """(β_t, ω_t) at ``progress`` t/T ∈ [0, 1]: the cross-entropy weight moves linearly
    from 1 to ``beta_end``, the tree supervision weight grows linearly from 0 to
    ``omega_end``."""
    if not 0 <= progress <= 1:
        raise ValueError(
            f"progress must be in [0, 1] (steps done / total steps), got {progress}."
        )
    return 1 + (beta_end - 1) * progress, omega_end * progress


def tree_supervision_loss(
    root: Node, logits: torch.Tensor, labels: torch.Tensor, beta: float, omega: float
) -> torch.Tensor:
    """β · CE(logits, labels) + ω · CE(soft tree's leaf distribution, labels)
    (Wan et al. 2021, Eq. 2)."""
    return beta * F.cross_entropy(logits, labels) + omega * F.nll_loss(
        soft_log_probs(root, logits), labels
    )


def finetune_with_tree_supervision(
    head: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    root: Node,
    *,
    epochs: int = 2,
    lr: float = 0.01,
    omega_end: float = 10.0,
    beta_end: float = 1.0,
    batch_size: int = 128,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> list[dict[str, float]]:
    """Fine-tune ``head`` (inputs (N, ...) → logits (N, K)) with the soft tree
    supervision loss.

    SGD with momentum 0.9 and a cosine learning rate; the loss weights follow
    :func:`loss_weights`, advanced every step (the authors advance them every epoch over
    200 epochs; a short fine-tuning needs the finer steps). BatchNorm layers keep their
    running statistics (eval mode), so the head can be fine-tuned on cached inputs of a
    frozen network. Computes on ``head``'s device; returns one row per epoch:
    ``{"epoch", "loss", "beta", "omega"}`` (the weights at the epoch's end).
    """
    device = next(head.parameters()).device
    optimizer = torch.optim.SGD(
        head.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay
    )
    steps = epochs * -(-len(inputs) // batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    generator, history, step = torch.Generator().manual_seed(seed), [], 0
    # one bar for all epochs, refreshed at most every 10 s: a notebook stores every
    # refresh as an output of its own
    bar = tqdm(total=steps, desc="tree supervision", unit="batch", mininterval=10)
    head.train()
    for module in head.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()
    try:
        for epoch in range(epochs):
            total = 0.0
            for batch in torch.randperm(len(inputs), generator=generator).split(
                batch_size
            ):
                bar.update()
                beta, omega = loss_weights(step / steps, omega_end, beta_end)
                x, y = inputs[batch].to(device).float(), labels[batch].to(device)
                loss = tree_supervision_loss(root, head(x), y, beta, omega)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                total += loss.item() * len(batch)
                step += 1
            history.append(
                {
                    "epoch": epoch + 1,
                    "loss": total / len(inputs),
                    "beta": beta,
                    "omega": omega,
                }
            )
            bar.set_postfix(epoch=epoch + 1, loss=f"{history[-1]['loss']:.3f}")
    finally:
        bar.close()
        head.eval()
    return history
