import pytest
import torch

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
