import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from utils import nbdt, plots, shapley  # noqa: E402


def explanation(values: np.ndarray) -> shapley.ShapExplanation:
    n, k = values.shape[0], values.shape[-1]
    return shapley.ShapExplanation(values, np.zeros(k), np.zeros((n, k)))


def test_shap_image_plot_scales_rows_apart_or_together() -> None:
    values = np.zeros((2, 1, 4, 4, 3))
    values[0, 0, 0, 0, 0], values[1, 0, 1, 1, 2] = (
        5.0,
        -0.1,
    )  # one loud panel, one quiet row
    images = torch.rand(2, 3, 4, 4)
    per_row = plots.shap_image_plot(explanation(values), images, ["a", "b", "c"])
    limits = [
        ax.images[-1].get_clim()
        for ax in per_row.axes[:8]
        if ax.images and ax.images[-1].cmap.name == "bwr"
    ]
    assert limits[0] == (-5.0, 5.0) and limits[-1] == pytest.approx((-0.1, 0.1))
    shared = plots.shap_image_plot(
        explanation(values), images, ["a", "b", "c"], scale="shared"
    )
    assert {
        ax.images[-1].get_clim()
        for ax in shared.axes[:8]
        if ax.images and ax.images[-1].cmap.name == "bwr"
    } == {(-5.0, 5.0)}
    with pytest.raises(ValueError, match="choose 'row'"):
        plots.shap_image_plot(
            explanation(values), images, ["a", "b", "c"], scale="column"
        )


def test_shap_image_plot_titles_ranked_classes_and_resizes_layer_values() -> None:
    values = np.random.default_rng(0).normal(
        size=(1, 5, 2, 2, 2)
    )  # a layer: 5 channels, 2×2
    e = shapley.ShapExplanation(
        values, np.zeros((1, 2)), np.zeros((1, 2)), indexes=np.array([[3, 1]])
    )
    np.testing.assert_allclose(e.pixel_maps((8, 8)).shape, (1, 2, 8, 8))
    fig = plots.shap_image_plot(e, torch.rand(1, 3, 8, 8), ["a", "b", "c", "d"])
    assert [ax.get_title() for ax in fig.axes[1:3]] == ["d", "b"]


def test_draw_tree_puts_leaves_evenly_and_parents_above_their_children() -> None:
    root = nbdt.induce_hierarchy(
        np.array([[0.0, 0], [0, 1], [10, 10], [10, 11]]), ["a", "b", "c", "d"]
    )
    ax = plots.draw_tree(root, highlight=[root.children[0]])
    positions = {t.get_text(): t.get_position() for t in ax.texts}
    leaves = sorted(positions[name][0] for name in "abcd")
    assert leaves == [0.0, 1.0, 2.0, 3.0] and all(
        positions[name][1] == 0 for name in "abcd"
    )
    red = [line for line in ax.lines if line.get_color() == "tab:red"]
    assert len(red) == 1  # the edge into the highlighted child
