"""flowkit.MLP's fused forward (addmm + in-place ReLU) is the nn.Sequential it replaces, gradients included."""

import copy
import pickle

import pytest
import torch
from torch import nn

import flowkit as fk


def _sequential_forward(mlp: fk.MLP, x: torch.Tensor) -> torch.Tensor:
    return nn.Sequential.forward(mlp, x)


def _submodule_calls(mlp: fk.MLP, x: torch.Tensor) -> int:
    """How many times ``mlp(x)`` called its first Linear as a module (0: the fused path ran)."""
    calls = []
    handle = mlp[0].register_forward_hook(lambda *_: calls.append(1))
    mlp(x)
    handle.remove()
    return len(calls)


def _random_mlp(**kw) -> fk.MLP:
    torch.manual_seed(0)
    mlp = fk.MLP(3, 4, hidden=(8, 5), zero_init=False, **kw).double()
    return mlp


def test_fused_forward_and_gradients_match_the_submodules():
    mlp = _random_mlp()
    x = torch.randn(7, 3, dtype=torch.double, requires_grad=True)
    fused, plain = mlp(x), _sequential_forward(mlp, x)
    assert _submodule_calls(mlp, x) == 0
    torch.testing.assert_close(fused, plain, rtol=0, atol=1e-12)
    g = torch.randn_like(fused)
    grads_fused = torch.autograd.grad(fused, [x, *mlp.parameters()], g)
    grads_plain = torch.autograd.grad(plain, [x, *mlp.parameters()], g)
    for a, b in zip(grads_fused, grads_plain):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert torch.autograd.gradcheck(mlp, (x,))


@pytest.mark.parametrize("edit", ["activation", "appended", "replaced"])
def test_other_layouts_go_through_the_submodules(edit):
    mlp = _random_mlp(activation=nn.Tanh) if edit == "activation" else _random_mlp()
    if edit == "appended":
        mlp.append(nn.Sigmoid())
    if edit == "replaced":
        mlp[1] = nn.Tanh()
    x = torch.randn(6, 3, dtype=torch.double)
    torch.testing.assert_close(mlp(x), _sequential_forward(mlp, x), rtol=0, atol=1e-12)
    assert _submodule_calls(mlp, x) == 1


def test_batched_input_copies_and_pickles():
    mlp = _random_mlp()
    x3 = torch.randn(2, 6, 3, dtype=torch.double)   # more than one batch dimension: nn.Linear's broadcasting
    torch.testing.assert_close(mlp(x3), _sequential_forward(mlp, x3), rtol=0, atol=1e-12)
    assert _submodule_calls(mlp, x3) == 1
    x = torch.randn(6, 3, dtype=torch.double)
    for clone in (copy.deepcopy(mlp), pickle.loads(pickle.dumps(mlp))):
        assert _submodule_calls(clone, x) == 0
        torch.testing.assert_close(clone(x), mlp(x), rtol=0, atol=0)
    assert list(mlp.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]


def test_fused_forward_under_torch_func():
    """vmap with forward- and reverse-mode Jacobians sees the same function as the submodules."""
    mlp = _random_mlp()
    x = torch.randn(5, 3, dtype=torch.double)
    ref = torch.stack([torch.autograd.functional.jacobian(lambda r: _sequential_forward(mlp, r[None])[0], xi)
                       for xi in x])
    def f(r):
        return mlp(r[None])[0]
    for jac in (torch.func.jacrev, torch.func.jacfwd):
        torch.testing.assert_close(torch.func.vmap(jac(f))(x), ref, rtol=0, atol=1e-12)
