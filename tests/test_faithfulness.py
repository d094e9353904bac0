import numpy as np
import pytest
import torch
from torch import nn

from utils import faithfulness


def test_deletion_and_insertion_curves_run_between_the_right_ends(setup) -> None:
    model, x, targets = setup
    saliency, target = torch.rand(8, 8), int(targets[0])
    with torch.no_grad():
        p = model(
            torch.stack([x[0], torch.zeros_like(x[0]), faithfulness.blurred(x[0])])
        )[:, target]
    deletion = faithfulness.deletion_curve(model, x[0], saliency, target, steps=8)
    insertion = faithfulness.insertion_curve(model, x[0], saliency, target, steps=8)
    blurred = faithfulness.blurred_deletion_curve(
        model, x[0], saliency, target, steps=8
    )
    assert deletion.shape == (9,)
    torch.testing.assert_close(deletion[[0, -1]], p[[0, 1]])
    torch.testing.assert_close(insertion[[0, -1]], p[[2, 0]])
    torch.testing.assert_close(blurred[[0, -1]], p[[0, 2]])


def test_remove_top_fills_exactly_the_top_fraction_of_each_map() -> None:
    images = torch.rand(2, 3, 4, 4)
    maps = torch.stack(
        [torch.arange(16.0).reshape(4, 4), -torch.arange(16.0).reshape(4, 4)]
    )
    fill = torch.tensor([0.1, 0.2, 0.3])
    out = faithfulness.remove_top(images, maps, 0.25, fill)
    removed = (out != images).any(1)
    assert removed.sum((1, 2)).tolist() == [4, 4]
    assert (
        removed[0].flatten()[12:].all() and removed[1].flatten()[:4].all()
    )  # the 4 largest of each map
    torch.testing.assert_close(out[0, :, 3, 3], fill)
    torch.testing.assert_close(out[:, :, 1], images[:, :, 1])  # the rest untouched
    with pytest.raises(ValueError, match=r"maps \(N, H, W\)"):
        faithfulness.remove_top(images, maps[:, :2], 0.25, fill)


def test_area_under() -> None:
    assert faithfulness.area_under(torch.ones(5)) == pytest.approx(1.0)
    assert faithfulness.area_under(torch.linspace(0, 1, 11)) == pytest.approx(0.5)


def test_deletion_in_the_true_attribution_order_beats_the_reverse_order() -> None:
    """A linear model's exact attribution is weight × input: deleting (to black) the
    most positive pixels first must bring the output down faster than deleting them
    last."""
    torch.manual_seed(0)
    linear = nn.Linear(16, 1)
    model = nn.Sequential(nn.Flatten(), linear, nn.Sigmoid())
    image = torch.rand(1, 4, 4)
    attribution = linear.weight.detach().reshape(4, 4) * image[0]
    true_order = faithfulness.area_under(
        faithfulness.deletion_curve(model, image, attribution, 0, steps=16)
    )
    reverse = faithfulness.area_under(
        faithfulness.deletion_curve(model, image, -attribution, 0, steps=16)
    )
    assert true_order < reverse - 0.05


def test_aucs_gives_one_area_per_image(setup) -> None:
    model, x, targets = setup
    maps = torch.rand(3, 8, 8)
    areas = faithfulness.aucs(faithfulness.deletion_curve, model, x, maps, targets)
    assert areas.shape == (3,)
    expected = faithfulness.area_under(
        faithfulness.deletion_curve(model, x[1], maps[1], int(targets[1]))
    )
    assert areas[1] == pytest.approx(expected)


def test_bootstrap_ci_brackets_the_mean_and_narrows_with_more_images() -> None:
    rng = np.random.default_rng(0)
    few, many = rng.normal(1.0, 1.0, 20), rng.normal(1.0, 1.0, 2000)
    mean, lo, hi = faithfulness.bootstrap_ci(few)
    assert lo < mean < hi and mean == pytest.approx(few.mean())
    _, lo_many, hi_many = faithfulness.bootstrap_ci(many)
    assert hi_many - lo_many < (hi - lo) / 5  # the width shrinks like 1/√N: √100 = 10
    assert lo_many < 1.0 < hi_many
    assert faithfulness.bootstrap_ci(few) == faithfulness.bootstrap_ci(few)  # seeded
    with pytest.raises(ValueError, match="one score per image"):
        faithfulness.bootstrap_ci(np.ones((3, 2)))


def test_rank_correlations_count_flat_maps_as_zero() -> None:
    a = torch.rand(3, 4, 4)
    b = a.clone()
    b[1] = 0.5  # a constant map: no ranking
    rhos, flat = faithfulness.rank_correlations(a, b)
    np.testing.assert_allclose(rhos[[0, 2]], 1.0)
    assert rhos[1] == 0.0 and flat.tolist() == [False, True, False]
    rhos, _ = faithfulness.rank_correlations(
        a, -a
    )  # absolute values: the sign does not matter
    np.testing.assert_allclose(rhos, 1.0)
    signed, _ = faithfulness.rank_correlations(a, -a, absolute=False)
    np.testing.assert_allclose(signed, -1.0)  # signed: the order is reversed
    with pytest.raises(ValueError, match="same shape"):
        faithfulness.rank_correlations(a, a[:2])


def test_max_sensitivity_is_zero_for_a_constant_map_and_grows_with_the_radius() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    images, targets = torch.rand(4, 3, 2, 2), torch.tensor([0, 1, 2, 0])

    def weights(net, x, t):  # a linear model's gradient map: the same for every input
        return net[1].weight.detach()[t].reshape(-1, 3, 2, 2).sum(1)

    np.testing.assert_allclose(
        faithfulness.max_sensitivity(weights, model, images, targets, n_perturb=3), 0.0
    )

    def input_times_weights(net, x, t):
        return (x * net[1].weight.detach()[t].reshape(-1, 3, 2, 2)).sum(1)

    small = faithfulness.max_sensitivity(
        input_times_weights, model, images, targets, radius=0.01, n_perturb=5
    )
    large = faithfulness.max_sensitivity(
        input_times_weights, model, images, targets, radius=0.1, n_perturb=5
    )
    assert (small > 0).all() and (large > small).all()


def test_max_sensitivity_equals_captums_sensitivity_max_on_the_same_perturbations() -> (
    None
):
    """Notebook 07 says Captum's ``sensitivity_max`` computes the same quantity: fed the
    very noise our function draws (same seed, same order), Captum must return the same
    numbers."""
    from captum.metrics import sensitivity_max

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))
    images, targets = torch.rand(4, 3, 2, 2), torch.tensor([0, 1, 2, 0])
    radius, n_perturb = 0.05, 6

    def gradient_times_input(
        net, x, t
    ):  # a map that changes with the input (ReLU switches)
        with torch.enable_grad():  # Captum calls the method under no_grad
            x = x.clone().requires_grad_()
            (grad,) = torch.autograd.grad(net(x).gather(1, t[:, None]).sum(), x)
        return (grad * x).sum(1).detach()

    ours = faithfulness.max_sensitivity(
        gradient_times_input,
        model,
        images,
        targets,
        radius=radius,
        n_perturb=n_perturb,
        seed=0,
    )
    generator = torch.Generator().manual_seed(
        0
    )  # replay our draws in Captum's layout: image-major
    noise = torch.stack(
        [
            (torch.rand(images.shape, generator=generator) * 2 - 1) * radius
            for _ in range(n_perturb)
        ]
    )
    noise = noise.transpose(0, 1).reshape(-1, *images.shape[1:])

    def replay(
        inputs, perturb_radius=radius
    ):  # Captum passes each image n_perturb times in a row
        return inputs + noise

    def explain(
        x, target
    ):  # Captum passes inputs as a tuple and wants the maps as a tuple back
        return (
            gradient_times_input(model, x[0] if isinstance(x, tuple) else x, target),
        )

    theirs = sensitivity_max(
        explain,
        images,
        perturb_func=replay,
        n_perturb_samples=n_perturb,
        target=targets,
    )
    assert (ours > 0).all()
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-5)


def test_deletion_to_black_equals_quantus_pixel_flipping(setup) -> None:
    """Cross-check with Quantus (Hedström et al. 2023): its ``PixelFlipping`` sets the
    most-attributed features to a baseline, a fixed number of channel values per step,
    and records the target's output after each step. With the baseline 0 (Quantus's
    "black" is the image minimum) and no normalisation, every third step of 8 values
    completes 8 whole pixels: there it must trace our deletion curve after its first
    point (ours starts with nothing removed)."""
    import quantus

    model, x, targets = setup
    maps = torch.randn(
        3, 8, 8
    )  # random maps: distinct values, so both sides sort alike
    metric = quantus.PixelFlipping(
        features_in_step=8,
        perturb_baseline=0.0,
        normalise=False,
        abs=False,
        disable_warnings=True,
        display_progressbar=False,
    )
    theirs = metric(
        model=model,
        x_batch=x.numpy(),
        y_batch=targets.numpy(),
        a_batch=maps[:, None].numpy(),
        softmax=True,
        device="cpu",
        channel_first=True,
    )  # TinyNet ends in nn.Softmax: kept as is
    theirs = np.array(theirs)[
        :, 2::3
    ]  # a pixel's 3 channels tie, so they are removed in a row
    ours = [
        faithfulness.deletion_curve(model, image, m, int(t), steps=8)[1:]
        for image, m, t in zip(x, maps, targets)
    ]
    np.testing.assert_allclose(theirs, torch.stack(ours).numpy(), rtol=1e-5, atol=1e-6)
    reversed_order = [
        faithfulness.deletion_curve(model, image, -m, int(t), steps=8)[1:]
        for image, m, t in zip(x, maps, targets)
    ]
    assert not np.allclose(
        theirs, torch.stack(reversed_order).numpy()
    )  # the order matters


def test_signed_rank_correlation_sees_a_sign_flip_that_the_absolute_one_misses() -> (
    None
):
    """A map whose negative half is made positive keeps its |values| (ρ = 1 on
    absolute values) while its signed ranking changes."""
    a = torch.linspace(-1, 1, 16).reshape(1, 4, 4)
    rhos, _ = faithfulness.rank_correlations(a, a.abs())
    signed, flat = faithfulness.rank_correlations(a, a.abs(), absolute=False)
    assert rhos[0] == pytest.approx(1.0) and signed[0] < 0.5 and not flat[0]
    # ±1 is flat once signs are dropped, a ranking when they are kept
    plus_minus, other = torch.tensor([[[1.0, -1.0]]]), torch.tensor([[[0.2, 0.1]]])
    _, flat = faithfulness.rank_correlations(plus_minus, other)
    _, flat_signed = faithfulness.rank_correlations(plus_minus, other, absolute=False)
    assert flat.tolist() == [True] and flat_signed.tolist() == [False]


def test_sign_flip_p_value_is_small_for_a_clear_shift_and_not_for_noise() -> None:
    rng = np.random.default_rng(0)
    shifted = rng.normal(1.0, 1.0, 30)
    noise = rng.normal(0.0, 1.0, 30)
    assert faithfulness.sign_flip_p_value(shifted) < 0.001
    assert faithfulness.sign_flip_p_value(noise) > 0.05
    # never 0: the observed signs are one of the flips
    assert faithfulness.sign_flip_p_value(shifted, n_perm=99) >= 1 / 100
    # all differences alike in size: the exact two-sided p is 2 / 2^N
    exact = faithfulness.sign_flip_p_value(np.ones(4), n_perm=20_000)
    assert exact == pytest.approx(2 / 16, abs=0.01)
    with pytest.raises(ValueError, match="one difference per image"):
        faithfulness.sign_flip_p_value(np.ones((3, 2)))


def test_holm_adjusts_by_rank_and_keeps_the_order() -> None:
    adjusted = faithfulness.holm(np.array([0.04, 0.01, 0.03, 0.5]))
    # sorted 0.01, 0.03, 0.04, 0.5 times 4, 3, 2, 1 → 0.04, 0.09, 0.08 → 0.09, 0.5
    np.testing.assert_allclose(adjusted, [0.09, 0.04, 0.09, 0.5])
    assert faithfulness.holm(np.array([0.6, 0.9])).tolist() == [1.0, 1.0]


def test_pointing_game_and_relevance_mass_on_known_maps() -> None:
    masks = torch.zeros(3, 2, 4, dtype=torch.bool)
    masks[:, 0, :2] = True  # two of eight pixels
    maps = torch.zeros(3, 2, 4)
    maps[0, 0, 1] = 3.0  # all positive attribution on the mask
    maps[0, 1, 3] = -5.0  # negative attribution does not count
    maps[1, 1, 0], maps[1, 0, 0] = 3.0, 1.0  # maximum off the mask, a quarter on it
    maps[2] = 1.0  # flat: the maximum is everywhere
    np.testing.assert_allclose(faithfulness.pointing_game(maps, masks), [1, 0, 0.25])
    np.testing.assert_allclose(
        faithfulness.relevance_mass(maps, masks), [1, 0.25, 0.25]
    )
    assert faithfulness.relevance_mass(-maps[:1].abs(), masks[:1]).tolist() == [0.0]
    with pytest.raises(ValueError, match="boolean masks"):
        faithfulness.pointing_game(maps, masks.float())
