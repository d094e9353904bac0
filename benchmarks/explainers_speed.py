"""Seconds per explained image and peak memory of each attribution method of notebook 07, at its
settings (QUICK or full, by XAI_QUICK), on the course's CIFAR-10 ConvNet. Median of repeats.

Run from the repository root:  python -m benchmarks.explainers_speed [--repeats 3]
Writes benchmarks/results/explainers-<mode>.md and .csv (the README shows them).
"""

from __future__ import annotations

import argparse
import csv
import resource
import statistics
import time

import torch

from utils import config, recipes
from utils.config import REPO_ROOT

N_IMAGES = 8


def peak_rss_mb() -> float:
    """Largest resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    setup = recipes.cifar_convnet_setup()
    train_set, val_set = recipes.cifar_convnet_data(setup)
    model, _ = recipes.train_cifar_convnet(train_set, val_set, setup)
    images = recipes.cifar_explained_images(val_set, N_IMAGES)
    with torch.no_grad():
        targets = model(images.to(config.device_of(model))).argmax(1).cpu()

    rows = []
    for name, method in recipes.cifar_attribution_methods(recipes.cifar_background(val_set, setup)).items():
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            method(model, images, targets)
            times.append((time.perf_counter() - start) / N_IMAGES)
        rows.append({"method": name, "seconds per image": f"{statistics.median(times):.4f}",
                     "peak RSS so far (MB)": f"{peak_rss_mb():.0f}"})
        print(rows[-1])

    mode = "quick" if config.is_quick() else "full"
    out = REPO_ROOT / "benchmarks" / "results" / f"explainers-{mode}"
    header = (f"device {config.device_of(model)}, {torch.get_num_threads()} torch threads, {N_IMAGES} images, "
              f"median of {args.repeats} runs, {mode} settings")
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
