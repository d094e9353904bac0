import pytest
import torch
from torch import nn

from utils.hooks import captured, restored_hooks


def test_restored_hooks_removes_hooks_added_inside_even_on_error() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    kept = model[0].register_forward_hook(lambda *a: None)
    with pytest.raises(RuntimeError), restored_hooks(model):
        model[1].register_forward_hook(lambda *a: None)
        model[0].register_full_backward_hook(lambda *a: None)
        model[0].scratch = torch.zeros(1)
        raise RuntimeError("explainer failed half-way")
    assert list(model[0]._forward_hooks) == [kept.id] and not model[1]._forward_hooks
    assert not model[0]._backward_hooks and not hasattr(model[0], "scratch")


def test_captured_records_output_and_gradient_then_removes_its_hook() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    x = torch.rand(2, 3)
    with captured(model[1], gradient=True) as rec:
        model(x).sum().backward()
    torch.testing.assert_close(rec.output, torch.relu(model[0](x)))
    torch.testing.assert_close(
        rec.gradient, model[2].weight.detach().expand(2, 4)
    )  # d(sum of outputs)/d(relu)
    assert not model[1]._forward_hooks
