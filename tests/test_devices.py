"""The device rule (utils/__init__.py): helpers compute where the model lives, whatever
config.DEVICE says.

On this CPU-only machine the first test points every module's ``DEVICE`` at PyTorch's
``meta`` device: a helper that moved its inputs there instead of to the model's device
would fail. Where a GPU is present, the second test runs the same helpers with the model
on the GPU.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
import torch
from torch import nn

import utils
from utils import attribution, cam, config, faithfulness, occlusion, shapley, training


def run_every_helper(model: nn.Module, x: torch.Tensor, targets: torch.Tensor) -> None:
    """Each helper that takes a model, on inputs that live on the CPU; results must come
    back on the CPU."""
    background = torch.rand(4, *x.shape[1:])
    results = [
        training.predict(model, x),
        training.extract_features(model, [(x, targets)])[0],
        occlusion.occluded_outputs(
            model, x[0], target=int(targets[0]), window=(2, 2), stride=(2, 2)
        ),
        occlusion.occlusion_attribution(
            model, x[0], target=int(targets[0]), baseline=faithfulness.blurred(x[0])
        ),
        faithfulness.deletion_curve(
            model, x[0], torch.rand(8, 8), int(targets[0]), steps=4
        ),
        cam.GradCAM(model, model.bn)(x, targets),
        torch.as_tensor(shapley.deep_shap(model, background, x).values),
    ]
    for method in (
        attribution.saliency,
        attribution.integrated_gradients,
        attribution.deep_shap_maps(background),
        attribution.gradient_shap_maps(background, nsamples=4),
        attribution.occlusion_maps(),
        attribution.grad_cam_maps(lambda m: m.bn),
    ):
        results.append(method(model, x, targets))
    assert all(r.device.type == "cpu" for r in results)


def test_helpers_ignore_the_global_device(
    setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, x, targets = setup
    meta = torch.device("meta")
    for info in pkgutil.iter_modules(utils.__path__):
        module = importlib.import_module(f"utils.{info.name}")
        if hasattr(module, "DEVICE"):
            monkeypatch.setattr(module, "DEVICE", meta)
    run_every_helper(model, x, targets)


@pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="no GPU here: the rule is checked with the meta device",
)
def test_helpers_follow_a_model_on_the_gpu(setup) -> None:
    model, x, targets = setup
    model = model.cuda()
    assert config.device_of(model).type == "cuda"
    run_every_helper(model, x, targets)


def test_device_of_a_model_without_parameters_is_the_cpu() -> None:
    assert config.device_of(nn.ReLU()) == torch.device("cpu")
