"""Our warnings have a class of their own (a bug bash: 62 plain UserWarnings, which no filter
could tell from torch's but by their words)."""

from __future__ import annotations

import warnings

import torch
from torch import nn

import superconverge
from superconverge import ParamScheduler, SuperconvergeWarning, linear, lr_range_test


def test_ours_alone_can_be_filtered_and_each_is_still_a_user_warning() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 2))
    model.eval()  # (warned of: the test trains in train mode)
    x, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        lr_range_test(model, torch.optim.SGD(model.parameters(), lr=0.1),
                      nn.CrossEntropyLoss(), batches, 1e-4, 1.0, num_iter=8, progress=False)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        sched = ParamScheduler(opt, lr=linear(0.1, 0.0, 2))
        for _ in range(3):
            opt.step()
            sched.step()
    ours = [w for w in said if issubclass(w.category, SuperconvergeWarning)]
    assert {str(w.message).split(" ")[0] for w in ours} >= {"model", "ParamScheduler"}, [
        str(w.message) for w in said]
    assert all(issubclass(w.category, UserWarning) and w.filename == __file__ for w in ours)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=superconverge.SuperconvergeWarning)
        warnings.warn("torch's own", UserWarning, stacklevel=1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        sched = ParamScheduler(opt, lr=linear(0.1, 0.0, 2))
        for _ in range(3):
            opt.step()
            sched.step()
    assert [str(w.message) for w in said] == ["torch's own"]
    assert issubclass(superconverge.SuperconvergeRuntimeWarning, RuntimeWarning)
    assert issubclass(superconverge.SuperconvergeRuntimeWarning, SuperconvergeWarning)


def test_every_warning_of_ours_names_its_category() -> None:
    """Every warnings.warn in the package gives one of our categories (a review: one gave
    none, a plain UserWarning the filter of ours did not reach), or Pillow's for its limit."""
    import ast
    from pathlib import Path

    allowed = {"SuperconvergeWarning", "SuperconvergeRuntimeWarning", "DecompressionBombWarning"}
    found = []
    for path in sorted((Path(superconverge.__file__).parent).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "warn" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "warnings"):
                given = node.args[1] if len(node.args) > 1 else next(
                    (k.value for k in node.keywords if k.arg == "category"), None)
                name = (given.attr if isinstance(given, ast.Attribute) else
                        given.id if isinstance(given, ast.Name) else None)
                found.append((f"{path.name}:{node.lineno}", name))
    assert len(found) > 60
    assert [f for f in found if f[1] not in allowed] == []
