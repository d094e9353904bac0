import pytest
import torch
from captum.attr import Occlusion
from torch import nn

from utils import faithfulness, models, occlusion


def linear_model(channels: int = 2, size: int = 4) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(channels * size * size, 1))


def test_linear_model_drop_is_weight_times_input() -> None:
    model = linear_model()
    image = torch.rand(2, 4, 4)
    weight = model[1].weight.detach().reshape(2, 4, 4)
    expected = (weight * image).sum(
        0
    )  # zeroing pixel (i, j) in every channel removes this much
    drop = occlusion.occlusion_attribution(model, image)
    torch.testing.assert_close(drop, expected, atol=1e-5, rtol=1e-5)


def test_window_drop_of_a_linear_model_sums_the_window() -> None:
    model, image = linear_model(), torch.rand(2, 4, 4)
    outputs = occlusion.occluded_outputs(model, image, window=(2, 2), stride=(2, 2))
    original = model(image[None])[0, 0]
    per_pixel = (model[1].weight.detach().reshape(2, 4, 4) * image).sum(0)
    expected = original - per_pixel.reshape(2, 2, 2, 2).sum((1, 3))
    assert outputs.shape == (2, 2)
    torch.testing.assert_close(outputs, expected, atol=1e-5, rtol=1e-5)


def test_batched_matches_the_loop_also_where_pixels_equal_the_baseline() -> None:
    torch.manual_seed(0)
    model = models.PunkNet()
    image = torch.rand(3, 24, 24)
    image[:, :8] = 0  # a black band: those windows are skipped, not evaluated
    torch.testing.assert_close(
        occlusion.occluded_outputs(model, image, batch_size=7),
        occlusion.occluded_outputs_loop(model, image),
        atol=1e-6,
        rtol=0,
    )


@pytest.mark.parametrize(
    ("window", "stride"), [((1, 1), (1, 1)), ((3, 3), (1, 1)), ((4, 2), (2, 2))]
)
def test_attribution_matches_captum(
    window: tuple[int, int], stride: tuple[int, int]
) -> None:
    torch.manual_seed(1)
    model = models.PunkNet().eval()
    image = torch.rand(3, 24, 24)
    ours = occlusion.occlusion_attribution(
        model, image, window=window, stride=stride, baseline=0.5
    )
    theirs = Occlusion(model).attribute(
        image[None],
        sliding_window_shapes=(3, *window),
        strides=(3, *stride),
        baselines=0.5,
        target=0,
    )[0]
    torch.testing.assert_close(ours, theirs[0], atol=1e-6, rtol=1e-4)
    torch.testing.assert_close(
        theirs[0], theirs[2]
    )  # Captum spreads the drop over all channels


def test_masks_cover_each_window() -> None:
    masks = occlusion.occlusion_masks(5, 4, window=(2, 3), stride=(3, 1))
    assert masks.shape == (2, 2, 5, 4)
    assert masks[1, 1].nonzero().tolist() == [
        [3, 1],
        [3, 2],
        [3, 3],
        [4, 1],
        [4, 2],
        [4, 3],
    ]


@pytest.mark.parametrize(
    ("image", "window", "stride", "message"),
    [
        (torch.rand(1, 3, 8, 8), (1, 1), (1, 1), "one image"),
        (torch.rand(3, 8, 8), (9, 1), (1, 1), "does not fit"),
        (torch.rand(3, 8, 8), (0, 1), (1, 1), "does not fit"),
        (torch.rand(3, 8, 8), (2, 2), (0, 1), "at least 1"),
    ],
)
def test_bad_input_says_what_to_change(image, window, stride, message) -> None:
    with pytest.raises(ValueError, match=message):
        occlusion.occluded_outputs(nn.Identity(), image, window=window, stride=stride)


def test_occlusion_with_an_image_baseline_matches_captum(setup) -> None:
    model, x, targets = setup
    base = faithfulness.blurred(x[0])
    ours = occlusion.occlusion_attribution(
        model, x[0], target=int(targets[0]), window=(2, 2), stride=(2, 2), baseline=base
    )
    theirs = Occlusion(model).attribute(
        x[:1],
        sliding_window_shapes=(3, 2, 2),
        strides=(3, 2, 2),
        baselines=base[None],
        target=int(targets[0]),
    )[0, 0]
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-5)


def test_a_target_outside_the_outputs_and_a_misshapen_baseline_are_clear_errors() -> (
    None
):
    model, image = linear_model(), torch.rand(2, 4, 4)
    with pytest.raises(
        ValueError, match="target 1 is not an output of this model, which has 1"
    ):
        occlusion.occlusion_attribution(model, image, target=1)
    with pytest.raises(ValueError, match="does not match the image"):
        occlusion.occlusion_attribution(model, image, baseline=torch.zeros(3, 4, 4))


@pytest.mark.parametrize(
    "entry_point",
    [
        occlusion.occluded_outputs,
        occlusion.occlusion_attribution,
        occlusion.occluded_outputs_loop,
    ],
)
@pytest.mark.parametrize("shape", [(3, 64, 64), (1, 32, 32)])
def test_an_image_the_model_does_not_take_is_refused(entry_point, shape) -> None:
    net = models.CifarConvNet().eval()
    with pytest.raises(ValueError, match=r"takes \(3, 32, 32\)"):
        entry_point(net, torch.rand(shape))
