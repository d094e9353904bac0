import matplotlib

matplotlib.use("Agg")

import io  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from PIL import Image  # noqa: E402

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


# --- figures readable on the course's website (issue 21) ------------------------------

CIFAR = ["airplane", "automobile", "bird", "cat", "deer"]
CIFAR += ["dog", "frog", "horse", "ship", "truck"]
MONKEYS = ["mantled_howler", "patas_monkey", "bald_uakari", "black_headed_night_monkey"]


def history(metrics: tuple[str, ...], epochs: int = 4) -> list[dict]:
    splits = ("train", "val")
    return [
        {"epoch": e, **{f"{s}_{m}": 1.0 / (e + 1) for s in splits for m in metrics}}
        for e in range(epochs)
    ]


def ten_class_plot() -> plt.Figure:
    values = np.random.default_rng(0).normal(size=(3, 3, 32, 32, 10))
    return plots.shap_image_plot(explanation(values), torch.rand(3, 3, 32, 32), CIFAR)


def ranked_layer_plot() -> plt.Figure:
    values = np.random.default_rng(0).normal(size=(2, 4, 7, 7, 2))
    e = shapley.ShapExplanation(
        values, np.zeros((2, 2)), np.zeros((2, 2)), indexes=np.array([[3, 1], [0, 2]])
    )
    return plots.shap_image_plot(e, torch.rand(2, 3, 56, 56), MONKEYS)


FIGURES = {
    "16 labelled images": lambda: plots.show_images(
        torch.rand(16, 3, 32, 32), [CIFAR[i % 10] for i in range(16)]
    ),
    "3 large images, long titles": lambda: plots.show_images(
        torch.rand(3, 3, 32, 32), MONKEYS[1:], ncols=3, size=3.0
    ),
    "4 training curves": lambda: plots.plot_history(
        history(("loss", "acc", "precision", "recall"))
    ),
    "SHAP, 10 classes": ten_class_plot,
    "SHAP, 2 ranked classes of a layer": ranked_layer_plot,
    "NBDT tree of 10 classes": lambda: (
        plots.draw_tree(
            nbdt.induce_hierarchy(np.random.default_rng(0).normal(size=(10, 4)), CIFAR)
        ).figure
    ),
}


@pytest.mark.parametrize("name", FIGURES)
def test_figure_fits_the_website_column_with_readable_text(name: str) -> None:
    """Saved as Jupyter's inline backend saves it (100 dpi, tight bounding box), the
    figure is at most 800 px wide, so the website shows it at full size; no text is
    below 8 pt; no panel title runs into its neighbour."""
    fig = FIGURES[name]()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    width = Image.open(buffer).width
    assert width <= plots.MAX_FIGURE_WIDTH * 100, f"{name}: {width} px wide"
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < 8]
    assert not small, f"{name}: text below 8 pt: {small}"
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        title = ax.title
        if title.get_text():
            extent = title.get_window_extent(renderer).width
            room = ax.get_window_extent(renderer).width + 0.08 * fig.dpi
            assert extent <= room, f"{name}: title {title.get_text()!r} overflows"
    plt.close(fig)


def test_show_images_uses_no_more_columns_than_images() -> None:
    fig = plots.show_images(torch.rand(3, 3, 8, 8), ncols=8, size=1.5)
    assert len(fig.axes) == 3 and fig.get_size_inches()[0] == pytest.approx(4.5)
    plt.close(fig)


def test_plot_history_balances_its_rows() -> None:
    four = plots.plot_history(history(("loss", "acc", "precision", "recall")))
    rows = {round(ax.get_position().y0, 2) for ax in four.axes}
    assert len(four.axes) == 4 and len(rows) == 2  # two rows of two
    metrics = ("loss", "acc", "recall")
    three = plots.plot_history(history(metrics), metrics)
    assert len({round(ax.get_position().y0, 2) for ax in three.axes}) == 1
    plt.close("all")


def test_fit_label_wraps_long_names_between_words() -> None:
    assert plots.fit_label("cat", 0.7) == "cat"
    # 0.7 in at 8 pt holds 10 characters: break after an underscore, not inside a word
    assert (
        plots.fit_label("black_headed_night_monkey", 0.7)
        == "black_\nheaded_\nnight_\nmonkey"
    )
    assert (
        plots.fit_label("black_headed_night_monkey", 2.0) == "black_headed_night_monkey"
    )
    assert plots.fit_label("Japanese macaque", 0.7) == "Japanese\nmacaque"
    assert plots.fit_label("Tyrannosaurus", 0.3) == "Tyrannosaurus"  # one word stays
    assert plots.fit_label("", 1.0) == ""
