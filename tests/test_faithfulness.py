import pytest
import torch
from torch import nn

from utils import faithfulness


def test_deletion_and_insertion_curves_run_between_the_right_ends(setup) -> None:
    model, x, targets = setup
    saliency, target = torch.rand(8, 8), int(targets[0])
    with torch.no_grad():
        p = model(torch.stack([x[0], torch.zeros_like(x[0]), faithfulness.blurred(x[0])]))[:, target]
    deletion = faithfulness.deletion_curve(model, x[0], saliency, target, steps=8)
    insertion = faithfulness.insertion_curve(model, x[0], saliency, target, steps=8)
    blurred = faithfulness.blurred_deletion_curve(model, x[0], saliency, target, steps=8)
    assert deletion.shape == (9,)
    torch.testing.assert_close(deletion[[0, -1]], p[[0, 1]])
    torch.testing.assert_close(insertion[[0, -1]], p[[2, 0]])
    torch.testing.assert_close(blurred[[0, -1]], p[[0, 2]])


def test_area_under() -> None:
    assert faithfulness.area_under(torch.ones(5)) == pytest.approx(1.0)
    assert faithfulness.area_under(torch.linspace(0, 1, 11)) == pytest.approx(0.5)


def test_deletion_in_the_true_attribution_order_beats_the_reverse_order() -> None:
    """A linear model's exact attribution is weight × input: deleting (to black) the most positive
    pixels first must bring the output down faster than deleting them last."""
    torch.manual_seed(0)
    linear = nn.Linear(16, 1)
    model = nn.Sequential(nn.Flatten(), linear, nn.Sigmoid())
    image = torch.rand(1, 4, 4)
    attribution = (linear.weight.detach().reshape(4, 4) * image[0])
    true_order = faithfulness.area_under(faithfulness.deletion_curve(model, image, attribution, 0, steps=16))
    reverse = faithfulness.area_under(faithfulness.deletion_curve(model, image, -attribution, 0, steps=16))
    assert true_order < reverse - 0.05
