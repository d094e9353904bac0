import numpy as np
import pytest
import torch
from torch import nn

from utils import models, shapley


def test_deep_shap_of_a_linear_model_is_weight_times_input_minus_mean() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    background, x = torch.rand(20, 3, 2, 2), torch.rand(4, 3, 2, 2)
    e = shapley.deep_shap(model, background, x)
    weight = model[1].weight.detach().numpy()  # (3, 12)
    expected = (x - background.mean(0)).reshape(4, 12).numpy()[:, :, None] * weight.T[
        None
    ]
    assert e.values.shape == (4, 3, 2, 2, 3)
    np.testing.assert_allclose(e.values.reshape(4, 12, 3), expected, atol=1e-5)
    assert e.additivity_error() < 1e-5


class FunctionalReLU(nn.Module):
    """ReLU hidden from SHAP: the article's mistake on the smallest scale."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.a, self.b = nn.Linear(4, 8), nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.relu(self.a(x.flatten(1))))


def test_functional_relu_breaks_additivity_and_leaves_no_hooks() -> None:
    model = FunctionalReLU()
    background, x = torch.randn(30, 1, 2, 2) * 3, torch.randn(5, 1, 2, 2) * 3
    e = shapley.deep_shap(model, background, x, check_additivity=False)
    assert e.additivity_error() > shapley.SHAP_ADDITIVITY_TOL
    with pytest.raises(AssertionError, match="do not sum up"):
        shapley.deep_shap(model, background, x)
    assert all(not m._forward_hooks and not m._backward_hooks for m in model.modules())
    assert all(not hasattr(m, "x") and not hasattr(m, "y") for m in model.modules())


def test_cifar_convnet_is_additive_under_deep_shap() -> None:
    torch.manual_seed(0)
    model = models.CifarConvNet().eval()
    e = shapley.deep_shap(model, torch.rand(8, 3, 32, 32), torch.rand(2, 3, 32, 32))
    assert e.values.shape == (2, 3, 32, 32, 10)
    assert e.additivity_error() < 1e-4
    np.testing.assert_allclose(e.outputs.sum(1), 1, atol=1e-5)


def test_net_and_gross_separate_sum_from_loudness() -> None:
    values = np.zeros((1, 1, 1, 2, 2))
    values[0, 0, 0, :, 0] = [3.0, -3.0]  # loud, cancels
    values[0, 0, 0, :, 1] = [0.5, 0.5]
    e = shapley.ShapExplanation(values, np.zeros(2), np.zeros((1, 2)))
    net, gross = e.net_and_gross()
    np.testing.assert_allclose(net, [[0.0, 1.0]])
    np.testing.assert_allclose(gross, [[6.0, 1.0]])


def test_gradient_shap_of_a_linear_model_with_one_background_image_is_exact() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))
    background, x = torch.rand(1, 3, 2, 2), torch.rand(3, 3, 2, 2)
    values = shapley.gradient_shap(model, background, x, nsamples=5)
    weight = model[1].weight.detach().numpy()
    expected = (x - background).reshape(3, 12).numpy()[:, :, None] * weight.T[None]
    assert values.shape == (3, 3, 2, 2, 2)
    np.testing.assert_allclose(values.reshape(3, 12, 2), expected, atol=1e-5)


def test_output_column_explains_one_class() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    x = torch.rand(2, 1, 2, 2)
    torch.testing.assert_close(shapley.OutputColumn(model, 2)(x), model(x)[:, 2:3])


def test_layer_gradient_shap_ranks_outputs_and_reports_what_it_decomposes() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 1),
        nn.Flatten(),
        nn.Linear(64, 5),
    ).eval()
    background, x = torch.rand(6, 3, 4, 4), torch.rand(2, 3, 4, 4)
    e = shapley.gradient_shap_layer(
        model, model[2], background, x, ranked_outputs=2, nsamples=16
    )
    with torch.no_grad():
        outputs, base = model(x), model(background).mean(0)
    assert e.values.shape == (2, 4, 4, 4, 2)  # the layer's input: 4 channels of 4×4
    np.testing.assert_array_equal(
        e.indexes, outputs.argsort(1, descending=True)[:, :2].numpy()
    )
    np.testing.assert_allclose(
        e.outputs, outputs.gather(1, torch.as_tensor(e.indexes)).numpy(), atol=1e-6
    )
    np.testing.assert_allclose(e.base_values, base.numpy()[e.indexes], atol=1e-6)
    assert not any(m._forward_hooks or m._backward_hooks for m in model.modules())


def test_gradient_shap_top_of_a_linear_model_with_one_background_point_is_exact() -> (
    None
):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 4))
    background, x = torch.rand(1, 3, 2, 2), torch.rand(2, 3, 2, 2)
    e = shapley.gradient_shap_top(model, background, x, ranked_outputs=2, nsamples=5)
    with torch.no_grad():
        outputs = model(x)
    np.testing.assert_array_equal(
        e.indexes, outputs.argsort(1, descending=True)[:, :2].numpy()
    )
    weight = (
        model[1].weight.detach().numpy()[e.indexes]
    )  # (2, 2, 12): per image, per ranked class
    expected = (x - background).reshape(2, 1, 12).numpy() * weight
    np.testing.assert_allclose(
        e.values.reshape(2, 12, 2).transpose(0, 2, 1), expected, atol=1e-5
    )
    assert e.additivity_error() < 1e-5  # one background point and a linear model: exact


def test_gradient_shap_top_on_a_split_network_is_complete_in_expectation() -> None:
    """Split a small ReLU network at a hidden layer, explain the tail on the head's
    outputs (the faithful port of Keras' layer explanation, notebook 06): the totals
    approach f(x) − E f(b)."""
    torch.manual_seed(0)
    head = nn.Sequential(nn.Linear(6, 8), nn.ReLU())
    tail = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3)).eval()
    background, x = head(torch.randn(40, 6)).detach(), head(torch.randn(2, 6)).detach()
    e = shapley.gradient_shap_top(tail, background, x, ranked_outputs=1, nsamples=4000)
    change = e.outputs - e.base_values
    totals = e.values.reshape(2, -1, 1).sum(1)
    np.testing.assert_allclose(totals, change, atol=0.05 * np.abs(change).max() + 1e-3)
    assert e.additivity_error() < 0.05 * np.abs(change).max() + 1e-3


class Square(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * x


def test_captum_layer_gradient_shap_is_biased_where_the_port_is_not() -> None:
    """h(x) = x², f(a) = a², explained at the layer between them, from b = 0 to x = 1: f
    changes by 1.

    The port (path and multiplier in layer space) integrates ∫ 2t dt = 1. Captum's
    LayerGradientShap takes the gradient at h(t·x) = t² but multiplies by
    h(x) − h(b) = 1: ∫ 2t² dt = 2/3 (notebook 06).
    """
    from captum.attr import LayerGradientShap

    head, tail = Square(), nn.Sequential(Square())
    model = nn.Sequential(head, tail)
    x, b = torch.ones(1, 1), torch.zeros(1, 1)
    port = shapley.gradient_shap_top(
        tail, head(b), head(x), ranked_outputs=1, nsamples=4000
    )
    assert port.values.sum() == pytest.approx(1.0, abs=0.03)
    torch.manual_seed(0)
    captum = LayerGradientShap(model, tail[0], multiply_by_inputs=True).attribute(
        x, baselines=b, n_samples=4000, stdevs=0.0, attribute_to_layer_input=True
    )
    captum = captum[0] if isinstance(captum, tuple) else captum
    assert captum.sum().item() == pytest.approx(2 / 3, abs=0.03)


@pytest.fixture
def convnet() -> nn.Module:
    torch.manual_seed(0)
    return models.CifarConvNet().eval()


BAD_SHAP_INPUTS = {
    "NaN image": (torch.full((1, 3, 32, 32), float("nan")), "NaN or infinite"),
    "wrong size": (torch.rand(1, 3, 64, 64), r"takes \(3, 32, 32\)"),
    "one channel": (torch.rand(1, 1, 32, 32), r"takes \(3, 32, 32\)"),
    "a single image": (torch.rand(3, 32, 32), r"image\[None\]"),
}


@pytest.mark.parametrize("bad", BAD_SHAP_INPUTS, ids=list(BAD_SHAP_INPUTS))
@pytest.mark.parametrize(
    "explain",
    [
        shapley.deep_shap,
        lambda m, b, x: shapley.gradient_shap(m, b, x, nsamples=2),
        lambda m, b, x: shapley.gradient_shap_top(m, b, x, nsamples=2),
        lambda m, b, x: shapley.gradient_shap_layer(m, m.conv3, b, x, nsamples=2),
    ],
    ids=["deep_shap", "gradient_shap", "gradient_shap_top", "gradient_shap_layer"],
)
def test_every_shap_call_names_a_bad_input(convnet, explain, bad: str) -> None:
    x, message = BAD_SHAP_INPUTS[bad]
    background = torch.rand(4, *x.shape[-3:])
    with pytest.raises(ValueError, match=message):
        explain(convnet, background, x)
    assert all(
        not m._forward_hooks and not m._backward_hooks for m in convnet.modules()
    )


def test_background_and_images_of_different_shapes(convnet) -> None:
    with pytest.raises(ValueError, match="background of shape .* the same shape"):
        shapley.deep_shap(convnet, torch.rand(4, 3, 16, 16), torch.rand(1, 3, 32, 32))


@pytest.mark.parametrize("k", [0, -2, 11])
def test_ranked_outputs_out_of_range_is_an_error(convnet, k: int) -> None:
    with pytest.raises(ValueError, match=f"ranked_outputs={k}: explain between 1 and"):
        shapley.gradient_shap_top(
            convnet,
            torch.rand(4, 3, 32, 32),
            torch.rand(1, 3, 32, 32),
            ranked_outputs=k,
        )
