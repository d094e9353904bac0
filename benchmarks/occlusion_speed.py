"""Time per-pixel occlusion three ways on the same model and punk: the walkthrough's loop, the course's
batched ``occluded_outputs``, and Captum's ``Occlusion``. Prints medians, ratios and the largest
difference between the three maps.

Run from the repository root:  python -m benchmarks.occlusion_speed [--repeats 20]
Uses the trained earring model of notebook 03 from the checkpoint cache when it is there (run the
notebook first), else a seeded untrained PunkNet: the timings do not depend on the weights.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from captum.attr import Occlusion

from utils import config, data, models, occlusion

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


def load_model() -> tuple[torch.nn.Module, str]:
    model = models.PunkNet().to(config.DEVICE).eval()
    cached = sorted(config.output_dir("checkpoints").glob("punk_net-*.pt"))
    if cached:
        model.load_state_dict(torch.load(cached[-1], map_location=config.DEVICE, weights_only=True)["state_dict"])
        return model, f"trained ({cached[-1].name})"
    config.seed_everything(0)
    return model, "untrained (no checkpoint: run notebook 03 first for the trained one)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    model, which = load_model()
    punks, _ = data.load_cryptopunks()
    punk = punks[PUNK_ID]
    captum = Occlusion(model)
    batch = occlusion.BATCH_SIZE

    with torch.no_grad():
        original = model(punk[None].to(config.DEVICE))[0, 0].cpu()

    def captum_map() -> torch.Tensor:  # Captum reports the drop, original - occluded
        drop = captum.attribute(punk[None].to(config.DEVICE), sliding_window_shapes=(3, 1, 1), strides=(3, 1, 1),
                                baselines=0.0, target=0, perturbations_per_eval=batch)[0, 0].cpu()
        return original - drop

    loop, batched, captum_name = "loop (walkthrough)", "batched (utils.occlusion)", f"Captum Occlusion (batch {batch})"
    runs = {
        loop: lambda: occlusion.occluded_outputs_loop(model, punk),
        batched: lambda: occlusion.occluded_outputs(model, punk),
        captum_name: captum_map,
    }
    maps = {name: run().detach() for name, run in runs.items()}
    seconds = {name: median_seconds(run, args.repeats) for name, run in runs.items()}

    print(f"device {config.DEVICE}, torch threads {torch.get_num_threads()}, model {which}, punk #{PUNK_ID}, "
          f"median of {args.repeats} runs")
    print("| method | seconds | vs loop | max abs diff to loop |\n|---|---|---|---|")
    for name, s in seconds.items():
        diff = (maps[name] - maps[loop]).abs().max().item()
        print(f"| {name} | {s:.4f} | {seconds[loop] / s:.1f}× | {diff:.1e} |")
    print(f"batched vs Captum: {seconds[captum_name] / seconds[batched]:.1f}× faster")


if __name__ == "__main__":
    main()
