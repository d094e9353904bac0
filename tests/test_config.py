from pathlib import Path

import pytest

from utils import config


def test_data_root_follows_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAI_DATA_DIR", str(tmp_path / "elsewhere"))
    assert config.data_root() == (tmp_path / "elsewhere").resolve()
    monkeypatch.delenv("XAI_DATA_DIR")
    assert config.data_root() == config.REPO_ROOT / "data"


@pytest.mark.parametrize(
    ("value", "quick"), [("1", True), ("true", True), ("0", False), ("", False)]
)
def test_quick_switch(value: str, quick: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAI_QUICK", value)
    assert config.is_quick() is quick
    assert config.by_mode(quick="q", full="f") == ("q" if quick else "f")


def test_full_mode_is_the_default() -> None:
    assert not config.is_quick()
    assert "full" in config.describe_setup()


def test_unknown_quick_value_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAI_QUICK", "maybe")
    with pytest.raises(ValueError, match="set it to 1"):
        config.is_quick()


@pytest.mark.parametrize("name", ["XAI_QUICK", "XAI_STAND_IN"])
def test_every_switch_is_validated(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, "maybe")
    with pytest.raises(
        ValueError, match=f"{name}='maybe' is not understood: set it to 1"
    ):
        config.env_flag(name, "on")
    monkeypatch.setenv(name, " Yes ")
    assert config.env_flag(name, "on") is True


def test_describe_setup_names_the_imagenet_choice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XAI_STAND_IN", "1")
    assert "offline stand-in" in config.describe_setup()


def test_output_dir_is_created_under_env(tmp_path: Path) -> None:
    path = config.output_dir("checkpoints")
    assert path.is_dir() and path.parent == (tmp_path / "outputs").resolve()
