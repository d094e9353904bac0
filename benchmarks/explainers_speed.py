"""Seconds per explained image and peak memory of each attribution method of notebook
07, at its settings (QUICK or full, by XAI_QUICK), on the course's CIFAR-10 ConvNet.
Median of repeats.

Run from the repository root:  python -m benchmarks.explainers_speed [--repeats 3]
Writes benchmarks/results/explainers-<mode>.md and .csv (the README shows them).

``--layer`` times notebook 06's explanation instead: seconds per explained photo of the
faithful port (GradientExplainer on the tail of a network split at the input of VGG16's
``features[12]``, 56×56×256, or the stand-in's ``features[3]``, 56×56×24), 200
samples × 2 classes, for the offline stand-in and for VGG16's architecture. VGG16 runs
torchvision's online code path, ``get_model("vgg16", weights="DEFAULT")``, offline:
randomly initialised weights are saved under the cache file name in a temporary
``TORCH_HOME``, so the timing needs no download (the values are meaningless, the cost is
VGG16's). Writes benchmarks/results/explainers-layer.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torchvision
from torch import nn

from utils import config, pretrained, recipes, shapley
from utils.config import REPO_ROOT

N_IMAGES = 8


def peak_rss_mb() -> float:
    """Largest resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def vgg16_offline(cache: Path) -> nn.Module:
    """VGG16 through torchvision's download path, with random weights planted in
    ``cache`` (a TORCH_HOME)."""
    checkpoints = cache / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.save(
        torchvision.models.vgg16().state_dict(), checkpoints / "vgg16-397923af.pth"
    )
    torch.hub.set_dir(str(cache / "hub"))
    os.environ["TORCH_HOME"] = str(cache)
    return torchvision.models.get_model("vgg16", weights="DEFAULT").eval()


def layer_explanation_seconds(
    features: nn.Sequential, split_at: int, nsamples: int
) -> float:
    """Seconds of GradientExplainer (2 ranked classes, one photo, 100 background photos,
    ``nsamples``) on the tail of ``features`` split before ``split_at``, with a
    Flatten → Linear(·, 10) head."""
    head = features[:split_at].eval()
    with torch.no_grad():
        background = torch.cat([head(torch.randn(25, 3, 224, 224)) for _ in range(4)])
        x = head(torch.randn(1, 3, 224, 224))
        n_features = features[split_at:](x).numel()
    tail = nn.Sequential(
        features[split_at:], nn.Flatten(), nn.Linear(n_features, 10)
    ).eval()
    start = time.perf_counter()
    shapley.gradient_shap_top(tail, background, x, ranked_outputs=2, nsamples=nsamples)
    return time.perf_counter() - start


def layer_benchmark(nsamples: int) -> None:
    """Notebook 06's layer explanation for the stand-in and VGG16's architecture (see
    the module docstring).

    Timed at ``nsamples`` and 3 × ``nsamples``: the difference is the cost per sample,
    the rest the fixed cost (the explainer runs the tail once on the whole background);
    both scale to 200 samples.
    """
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for name, features, split_at in [
            ("mobilenet_v2 (stand-in)", pretrained.load_stand_in().backbone, 3),
            ("vgg16 (architecture)", vgg16_offline(Path(cache)).features, 12),
        ]:
            few, many = (
                layer_explanation_seconds(features, split_at, n)
                for n in (nsamples, 3 * nsamples)
            )
            per_sample = (many - few) / (2 * 2 * nsamples)  # 2 classes
            fixed = max(few - 2 * nsamples * per_sample, 0.0)
            with torch.no_grad():
                shape = tuple(
                    features[:split_at](torch.zeros(1, 3, 224, 224)).shape[1:]
                )
            rows.append(
                {
                    "network": name,
                    "layer input": str(shape),
                    "seconds per sample": f"{per_sample:.3f}",
                    "fixed seconds": f"{fixed:.1f}",
                    "seconds per photo, 200 samples × 2 classes": (
                        f"{fixed + 400 * per_sample:.0f}"
                    ),
                }
            )
            print(rows[-1])
    header = (
        f"device cpu, {torch.get_num_threads()} torch threads, one photo, 2 ranked "
        f"classes, 100 background photos; timed with {nsamples} and {3 * nsamples} "
        f"samples, scaled to SHAP's default 200"
    )
    lines = [header, "", "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row.values()) + " |" for row in rows]
    (REPO_ROOT / "benchmarks" / "results" / "explainers-layer.md").write_text(
        "\n".join(lines) + "\n"
    )
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--layer",
        action="store_true",
        help="time notebook 06's layer explanation instead",
    )
    parser.add_argument(
        "--nsamples", type=int, default=20, help="samples per class for --layer"
    )
    args = parser.parse_args()
    if args.layer:
        layer_benchmark(args.nsamples)
        return

    setup = recipes.cifar_convnet_setup()
    train_set, val_set = recipes.cifar_convnet_data(setup)
    model, _ = recipes.train_cifar_convnet(train_set, val_set, setup)
    images = recipes.cifar_explained_images(val_set, N_IMAGES)
    with torch.no_grad():
        targets = model(images.to(config.device_of(model))).argmax(1).cpu()

    rows = []
    for name, method in recipes.cifar_attribution_methods(
        model, recipes.cifar_background(val_set, setup)
    ).items():
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            method(model, images, targets)
            times.append((time.perf_counter() - start) / N_IMAGES)
        rows.append(
            {
                "method": name,
                "seconds per image": f"{statistics.median(times):.4f}",
                "peak RSS so far (MB)": f"{peak_rss_mb():.0f}",
            }
        )
        print(rows[-1])

    mode = "quick" if config.is_quick() else "full"
    out = REPO_ROOT / "benchmarks" / "results" / f"explainers-{mode}"
    header = (
        f"device {config.device_of(model)}, {torch.get_num_threads()} torch threads, "
        f"{N_IMAGES} images, median of {args.repeats} runs, {mode} settings"
    )
    with open(out.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [header, "", "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row.values()) + " |" for row in rows]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
