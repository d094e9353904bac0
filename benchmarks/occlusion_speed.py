"""Time per-pixel occlusion three ways on the same model and punk: the walkthrough's
loop, the course's batched ``occluded_outputs``, and Captum's ``Occlusion``. Prints
medians, ratios and the largest difference between the three maps.

Run from the repository root:  python -m benchmarks.occlusion_speed [--repeats 20]
Uses notebook 03's earring model through its recipe (``utils.recipes.train_punk_net``):
loaded from the checkpoint cache when the notebook ran, else trained first (about a
minute).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from captum.attr import Occlusion

from utils import config, data, occlusion, recipes

PUNK_ID = 3053  # the test punk notebook 03 explains (its most confident "earring")


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``run()`` over ``repeats`` calls, after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    train_set, test_set = recipes.earring_data()
    model, _ = recipes.train_punk_net(
        train_set, test_set
    )  # notebook 03's model, from the cache if it ran
    punk = data.load_cryptopunks()[0][PUNK_ID]
    device = config.device_of(model)
    captum = Occlusion(model)
    batch = occlusion.BATCH_SIZE

    with torch.no_grad():
        original = model(punk[None].to(device))[0, 0].cpu()

    def captum_map() -> torch.Tensor:  # Captum reports the drop, original - occluded
        drop = captum.attribute(
            punk[None].to(device),
            sliding_window_shapes=(3, 1, 1),
            strides=(3, 1, 1),
            baselines=0.0,
            target=0,
            perturbations_per_eval=batch,
        )[0, 0].cpu()
        return original - drop

    loop, batched, captum_name = (
        "loop (walkthrough)",
        "batched (utils.occlusion)",
        f"Captum Occlusion (batch {batch})",
    )
    runs = {
        loop: lambda: occlusion.occluded_outputs_loop(model, punk),
        batched: lambda: occlusion.occluded_outputs(model, punk),
        captum_name: captum_map,
    }
    maps = {name: run().detach() for name, run in runs.items()}
    seconds = {name: median_seconds(run, args.repeats) for name, run in runs.items()}

    print(
        f"device {device}, torch threads {torch.get_num_threads()}, trained model, "
        f"punk #{PUNK_ID}, median of {args.repeats} runs"
    )
    print("| method | seconds | vs loop | max abs diff to loop |\n|---|---|---|---|")
    for name, s in seconds.items():
        diff = (maps[name] - maps[loop]).abs().max().item()
        print(f"| {name} | {s:.4f} | {seconds[loop] / s:.1f}× | {diff:.1e} |")
    print(f"batched vs Captum: {seconds[captum_name] / seconds[batched]:.1f}× faster")


if __name__ == "__main__":
    main()
