import numpy as np
import pytest
import torch
from torch import nn

from utils import inputs


def test_one_image_and_batch_errors_name_the_fix() -> None:
    image = torch.rand(3, 4, 4)
    assert inputs.one_image(image) is image
    with pytest.raises(ValueError, match=r"pass images\[0\]"):
        inputs.one_image(image[None])
    with pytest.raises(ValueError, match="not a batch"):
        inputs.one_image(torch.rand(2, 3, 4, 4))
    assert inputs.image_batch(image[None]).shape == (1, 3, 4, 4)
    with pytest.raises(ValueError, match=r"image\[None\]"):
        inputs.image_batch(image)


def test_targets_are_checked_against_outputs_and_batch() -> None:
    assert inputs.targets_in_range([2], 3, batch=4).tolist() == [2, 2, 2, 2]
    assert inputs.targets_in_range(torch.tensor([0, 2]), 3, batch=2).tolist() == [0, 2]
    with pytest.raises(ValueError, match=r"target 3 is not an output .* 0 … 2"):
        inputs.targets_in_range([0, 3], 3)
    with pytest.raises(ValueError, match="target -1"):
        inputs.targets_in_range([-1], 3)
    with pytest.raises(ValueError, match="one target per image"):
        inputs.targets_in_range([0, 1], 3, batch=3)


def test_baseline_must_be_a_number_or_shaped_like_the_image() -> None:
    image = torch.rand(3, 4, 4)
    assert inputs.baseline_like(0.5, image) == 0.5
    assert inputs.baseline_like(torch.tensor(0.5), image).ndim == 0
    with pytest.raises(
        ValueError, match=r"baseline of shape \(1, 4, 4\) does not match"
    ):
        inputs.baseline_like(torch.zeros(1, 4, 4), image)


def test_nan_or_infinite_images_are_an_error() -> None:
    image = torch.rand(3, 4, 4)
    image[0, 1, 1] = float("nan")
    with pytest.raises(ValueError, match="1 of the 48 input values are NaN"):
        inputs.one_image(image)
    batch = torch.rand(2, 3, 4, 4)
    batch[1, 0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match="NaN or infinite"):
        inputs.image_batch(batch)


@pytest.mark.parametrize("target", ["cat", ["dog"], 2.5, [1.0], torch.tensor([0.0])])
def test_a_class_name_or_a_number_that_is_no_index_is_an_error(target) -> None:
    with pytest.raises(ValueError, match="class name|class indices"):
        inputs.targets_in_range(target, 10)


def test_numpy_and_tensor_integer_targets_still_work() -> None:
    assert inputs.targets_in_range(np.int64(3), 10).tolist() == [3]
    assert inputs.targets_in_range(torch.tensor([1, 2]), 10).tolist() == [1, 2]


class Declared(nn.Module):
    input_shape = (3, 8, 8)

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).mean((2, 3))


def test_images_must_fit_the_model() -> None:
    model = nn.Sequential(Declared())  # declared inside a wrapper
    assert inputs.fits_model(model, torch.rand(2, 3, 8, 8)).shape == (2, 3, 8, 8)
    with pytest.raises(ValueError, match=r"takes \(3, 8, 8\).*size=\(8, 8\)"):
        inputs.fits_model(
            model, torch.rand(2, 3, 16, 16)
        )  # it would run, meaninglessly
    free = nn.Sequential(nn.Conv2d(3, 2, 3), nn.AdaptiveAvgPool2d(1))
    assert inputs.fits_model(free, torch.rand(1, 3, 30, 30)) is not None
    with pytest.raises(ValueError, match="1 channel.*takes 3: convert them to RGB"):
        inputs.fits_model(free, torch.rand(1, 1, 30, 30))


@pytest.mark.parametrize("k", [0, -1, 4, 1.5, True])
def test_ranked_outputs_must_be_between_one_and_the_outputs(k) -> None:
    with pytest.raises(ValueError, match="explain between 1 and 3 outputs"):
        inputs.ranked_outputs_in_range(k, 3)
    assert inputs.ranked_outputs_in_range(3, 3) == 3
