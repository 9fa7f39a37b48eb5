"""An in-memory snapshot of everything a range test changes, restored exactly.

The range test trains the user's model for real, so it must put back, bit for bit: every
parameter and buffer (BatchNorm running stats, non-persistent buffers too) and their ``.grad``,
also parameters the optimizer trains outside the model (a learnable temperature in the loss),
each module's ``training`` flag, the optimizer's per-parameter state and param-group
hyper-parameters, the RNG streams (torch CPU, CUDA when initialised, numpy's global, python's
``random``, any ``torch.Generator`` a DataLoader holds, and the RNGs a sampler, dataset or
module keeps) and the GradScaler. A DataLoader with
``persistent_workers=True`` that had no workers before gets none after (the test's workers are
shut down), so the next epoch starts workers seeded as it would have without the test; one whose
workers were running has them set aside, untouched, while the test runs workers of its own.

Tensors are restored *in place* (``copy_``/``fill_``), never replaced, so references held
elsewhere (the optimizer's params, a tensor ``lr`` or ``betas[0]`` a compiled ``optimizer.step``
captured) stay valid; so is a ``.grad`` (with the snapshot on the device). A module that
replaced one of its tensors during the test by one of the same shape (``self.count =
self.count + 1`` in ``forward``) gets its original tensor object back; one it grew (a cache
whose size the module tracks itself) is left as the module made it; one it put where it held
``None`` or nothing (a stateful RNN's hidden state) goes. The snapshot lives in
memory (cloned tensors), never in a temporary file.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import functools
import itertools
import math
import random
import signal
import threading
import types
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

import numpy as np
import torch

from superconverge._signals import _HANGUP, _raise_terminated, put_back, take_over
from superconverge._stack import outside
from superconverge._warning import SuperconvergeWarning
from superconverge.torch._multipliers import held_optimizers

_MISSING = object()


SNAPSHOTS = ("device", "cpu")
"""Where :class:`TrainingState` keeps its copies: beside each tensor, or in host memory."""


_Pairs = list[tuple[torch.Tensor, torch.Tensor]]
"""Copies still to make, as (destination, source): :func:`_copy_all` makes them together."""


_PLAIN = (torch.Tensor, torch.nn.Parameter)
"""The tensor types copied together by one ``torch._foreach_copy_``. A subclass (a DTensor, a
tensor with a ``__torch_function__`` of its own) is copied on its own, by its own ``copy_``."""


def _fills_later(t: torch.Tensor) -> bool:
    """Whether a snapshot's copy of ``t`` is allocated at once and filled by :func:`_copy_all`
    with the others: a dense, plain tensor on an accelerator."""
    return type(t) in _PLAIN and t.layout is torch.strided and t.device.type != "cpu"


class _Copy:
    """A saved tensor and the device it came from (the copy may live in host memory).

    With ``pending``, a copy beside an accelerator's tensor is only allocated here and its values
    are copied by :func:`_copy_all` with the rest: one kernel for many tensors, not one each. (On
    a CPU, where a copy launches nothing, ``clone()`` is as fast.)
    """

    __slots__ = ("data", "device")

    def __init__(self, tensor: torch.Tensor, host: bool, pending: _Pairs | None = None) -> None:
        self.device = tensor.device
        t = tensor.detach()
        if host:
            self.data = t.to("cpu", copy=True)
        elif pending is not None and _fills_later(t):
            self.data = torch.empty_like(t)  # what clone() allocates, strides included
            pending.append((self.data, t))
        else:  # on a CPU, a sparse .grad (nn.Embedding(sparse=True)), or no batch to join
            self.data = t.clone()

    def fresh(self) -> torch.Tensor:
        """A new tensor with the saved values, on the original device (the copy stays, so a
        restore can run again)."""
        return self.data.to(self.device, copy=True)


class _Kept:
    """A param-group value that holds no tensor, kept as the object itself: it goes back as
    that object (a user's config dict that their loop updates, a module, a lock), not as a copy
    (a user's bug bash: a copied dict froze an annealed value their optimizer read, and a lock
    could not be copied at all). A list's or dict's items are saved too, and put back into it
    (a step_fn that wrote into one: a review), as :class:`_Holder` does (an OrderedDict's, a
    defaultdict's too, which went unsaved where they held no tensor)."""

    __slots__ = ("items", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.items = (dict(value) if isinstance(value, dict)
                      else list(value) if isinstance(value, list) else None)

    def put_back(self) -> Any:
        """The object, its items as they were."""
        if self.items is not None:
            _write_items(self.value, self.items)
        return self.value


class _Holder:
    """A param group's plain dict or list that holds tensors (a mask the user's optimizer
    reads), kept as the object itself, its items snapshotted as :func:`_clone` does and put
    back into it (a bug bash: it came back as a deep copy, and the user's later writes into
    their dict no longer reached the optimizer)."""

    __slots__ = ("items", "originals", "value")

    def __init__(self, value: Any, items: Any) -> None:
        # (the items as they were, so a tensor the sweep replaced goes back as the user's
        # own object, written into, as the module's slots do: a review)
        self.value, self.items = value, items
        self.originals = dict(value) if isinstance(value, dict) else list(value)

    def put_back(self, pending: _Pairs | None) -> Any:
        """The object, each item put back as :func:`_put_back` does (a tensor in place, into
        the tensor it held before the test)."""
        if isinstance(self.items, dict):
            _write_items(self.value, {k: _put_back(self.originals[k], s, pending)
                                      for k, s in self.items.items()})
        else:
            _write_items(self.value, [_put_back(o, s, pending)
                                      for o, s in zip(self.originals, self.items, strict=True)])
        return self.value


def _write_items(target: Any, items: dict[Any, Any] | list[Any]) -> None:
    """Put ``items`` back into ``target``, the dict or list they were saved from, writing only
    where the sweep changed it (an item that is another object, a key added or gone): a class
    that refuses changes (a frozen dict), which the sweep could not change, is not written to
    (a review: one that refused ``__setitem__`` was emptied by a ``clear`` first, and its
    refusal stopped the restore), and a subclass's own ways to change it (an attribute dict's
    ``update``) are the ones used."""
    if isinstance(items, dict):
        for key in [k for k in target if k not in items]:
            del target[key]
        for key, item in items.items():
            if key not in target or target[key] is not item:
                target[key] = item
        if list(target) != list(items):  # (in their order too: the sweep moved one, a review)
            target.clear()
            target.update(items)
    elif len(target) != len(items) or any(a is not b for a, b in zip(target, items, strict=True)):
        target[:] = items


class _RngState:
    """A numpy, Python or torch RNG an optimizer keeps, and its state."""

    __slots__ = ("rng", "state")

    def __init__(self, rng: Any) -> None:
        self.rng, self.state = rng, _rng_state(rng)


def _number(value: object) -> bool:
    """A Python or numpy number (bools too)."""
    return type(value) in (int, float, bool) or (
        type(value) not in _PROXIES and isinstance(value, np.generic))


def _tensor(value: object) -> bool:
    """A tensor; a weak proxy is none, and is not asked (a dead one, which a LightningModule
    set up by a Fabric since gone keeps as ``self._fabric``, raised ReferenceError at an
    ``isinstance``, and the test failed before its first step: a review)."""
    return type(value) not in _PROXIES and isinstance(value, torch.Tensor)


_PROXIES = (weakref.ProxyType, weakref.CallableProxyType)


def _torchs_own(kind: type) -> bool:
    """Whether ``kind`` is made of torch's classes alone: not a module of a class of the
    user's, also one that torch's ``register_parametrization`` or FSDP2's ``fully_shard``
    gave a class of theirs (``ParametrizedMyLin``, ``FSDPNet``: made in torch's modules, with
    the user's class among its bases; a bug bash: their numbers were taken for torch's)."""
    return all(c.__module__ in _NEUTRAL or c.__module__.startswith("torch.")
               for c in kind.__mro__)


_NEUTRAL = frozenset({"torch", "builtins", "abc", "typing", "collections.abc"})
"""The modules of the classes :func:`_torchs_own` takes for torch's (DDP is an ``abc.ABC``,
and a generic class's bases hold ``typing.Generic``: a review found them taken for the
user's)."""


def _users_number(name: str, value: object) -> bool:
    """A public number or flag (numpy's too, a bug bash) a module or step object of the
    user's keeps, which the restore puts back; not the ``training`` flag (its mode)."""
    return _number(value) and not name.startswith("_") and name != "training"


def _plain(value: object) -> bool:
    """What an optimizer's steps may move in its attributes and the restore puts back: a
    number, None (an RNG its first step makes, a review) or an RNG."""
    return value is None or _number(value) or _is_rng(value)


def _plain_attributes(optimizer: Any) -> dict[str, Any]:
    """The attributes of ``optimizer`` that are :func:`_plain`, an RNG as a
    :class:`_RngState`."""
    return {name: _RngState(value) if _is_rng(value) else value
            for name, value in vars(optimizer).items() if _plain(value)}


def _made_in_place_of_none(value: object) -> bool:
    """Whether ``value``, where an optimizer's attribute was None, is state its steps made (a
    number, an RNG, a tensor or array: put back to None) rather than an object it registered (a
    hook's handle, kept: a review)."""
    return (value is not None and _plain(value)) or isinstance(value, np.ndarray | torch.Tensor)


def _clone(value: Any, host: bool = False, pending: _Pairs | None = None,
           keep: bool = False) -> Any:
    """A snapshot of ``value``: tensors copied (see :class:`_Copy`), also inside a tuple or
    list; anything else deep-copied, or with ``keep`` (a param group's values, which torch's
    optimizers only ever replace) kept as itself: as :class:`_Kept` where it holds no tensor,
    as :class:`_Holder` a dict or list that does, of any class (an OrderedDict, an attribute
    dict with an ``update`` of its own: reviews)."""
    if keep and not _holds_tensor(value):
        return _Kept(value)
    if keep and isinstance(value, dict | list):
        if isinstance(value, dict):
            return _Holder(value, {k: _clone(v, host, pending, keep) for k, v in value.items()})
        return _Holder(value, [_clone(v, host, pending, keep) for v in value])
    if isinstance(value, torch.Tensor):
        return _Copy(value, host, pending)
    if type(value) in (tuple, list):  # Adam's betas, with a tensor betas[0]
        return type(value)(_clone(v, host, pending, keep) for v in value)
    return copy.deepcopy(value)


def _in_place(value: object, keep: bool, depth: int = 3) -> list[torch.Tensor]:
    """The tensors of ``value`` that the restore writes back into in place, following
    :func:`_clone` (``keep`` as it was given): the tensor itself, those in a plain tuple or
    list, and with ``keep`` those in a dict or list a :class:`_Holder` keeps; not those of
    anything deep-copied. ``depth`` as deep as :func:`_holds_tensor` looks."""
    if isinstance(value, torch.Tensor):
        return [value]
    if depth == 0:
        return []
    if isinstance(value, dict) and keep:
        return [t for v in value.values() for t in _in_place(v, keep, depth - 1)]
    if isinstance(value, tuple | list) and (type(value) in (tuple, list) or (
            keep and isinstance(value, list))):
        return [t for v in value for t in _in_place(v, keep, depth - 1)]
    return []


def _one_of_each(t: torch.Tensor) -> torch.Tensor:
    """``t``, or where elements of it share memory (``expand``'s stride 0 over more than one
    element), which torch refuses to write into in place, a view of that memory holding each
    element once (those dimensions narrowed to their first)."""
    if t.layout != torch.strided:
        return t
    for dim, (stride, size) in enumerate(zip(t.stride(), t.shape, strict=True)):
        if stride == 0 and size > 1:
            t = t.narrow(dim, 0, 1)
    return t


def _holds_tensor(value: object, depth: int = 3) -> bool:
    """Whether ``value`` is a tensor or holds one in a tuple, list or dict (``depth`` deep)."""
    if isinstance(value, torch.Tensor):
        return True
    if depth == 0:
        return False
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, tuple | list) and any(_holds_tensor(v, depth - 1) for v in value)


def _copy_all(pairs: _Pairs) -> None:
    """``dst.copy_(src)`` for every pair, with one ``torch._foreach_copy_`` per device and dtype
    (on a GPU a few kernels, not one a tensor: a ResNet-56 and its momentum hold ~500 tensors);
    a pair across devices (a host snapshot) or of a tensor subclass is copied on its own. The
    pairs are emptied."""
    together: dict[tuple[torch.device, torch.dtype], tuple[list[torch.Tensor], ...]] = {}
    failed: list[Exception] = []  # (one that fails leaves the others written, then raises)
    with torch.no_grad():
        for dst, src in pairs:
            if (type(dst) in _PLAIN and type(src) in _PLAIN and dst.device == src.device
                    and dst.dtype == src.dtype and not dst.is_inference()):
                dsts, srcs = together.setdefault((dst.device, dst.dtype), ([], []))
                dsts.append(dst)
                srcs.append(src)
            else:
                _copy_one(dst, src, failed)
        for dsts, srcs in together.values():
            try:
                torch._foreach_copy_(dsts, srcs)
            except Exception:
                for dst, src in zip(dsts, srcs, strict=True):
                    _copy_one(dst, src, failed)
    pairs.clear()
    if failed:
        raise failed[0]


def _copy_one(dst: torch.Tensor, src: torch.Tensor, failed: list[Exception]) -> None:
    """``dst.copy_(src)``, an inference-mode ``dst`` under inference mode (outside it, torch
    refuses the write); an error is added to ``failed``."""
    try:
        if dst.is_inference():
            with torch.inference_mode():
                dst.copy_(src)
        else:
            dst.copy_(src)
    except Exception as exc:
        failed.append(exc)


def _put_back(current: Any, saved: Any, pending: _Pairs | None = None) -> Any:
    """``saved`` (made by :func:`_clone`) written into ``current`` in place when both are
    same-shaped tensors on one device, also inside a tuple or list such as Adam's ``betas`` (a
    tensor ``betas[0]`` keeps its identity, which a compiled ``optimizer.step`` guards on);
    otherwise a fresh value. With ``pending``, an in-place write is added to it for
    :func:`_copy_all` to make, not made here."""
    if (
        type(current) in (tuple, list)
        and type(saved) is type(current)
        and len(current) == len(saved)
    ):
        return type(saved)(_put_back(c, s, pending)
                           for c, s in zip(current, saved, strict=True))
    if isinstance(saved, _Kept):
        return saved.put_back()
    if isinstance(saved, _Holder):
        return saved.put_back(pending)
    if isinstance(saved, _Copy):
        if (
            isinstance(current, torch.Tensor)
            and current.shape == saved.data.shape
            and current.dtype == saved.data.dtype
            and current.device == saved.device
        ):
            if pending is not None:
                pending.append((current, saved.data))
            else:
                with torch.no_grad():
                    current.copy_(saved.data)
            return current
        return saved.fresh()
    if type(saved) in (tuple, list):
        return type(saved)(_put_back(_MISSING, s) for s in saved)
    return copy.deepcopy(saved)


def _script_tensors(module: torch.jit.ScriptModule) -> list[tuple[str, torch.Tensor]]:
    """The tensor attributes of a TorchScript module, by name (from its compiled type: none
    where this torch does not say)."""
    try:
        names = list(module._concrete_type.get_attributes())
    except Exception:  # pragma: no cover - a private API that a later torch may change
        return []
    out = []
    for name in names:
        with contextlib.suppress(Exception):
            value = getattr(module, name)
            if isinstance(value, torch.Tensor):
                out.append((name, value))
    return out


def unwrapped_loaders(*datas: object) -> list[object]:
    """``datas`` and the DataLoaders a wrapper of the user's holds as attributes (a notebook's
    ``DeviceDataLoader`` whose ``__iter__`` moves each batch of ``self.dl``), two wrappers
    deep, each once: their generators, samplers and workers are the ones the test moves."""
    found: list[object] = []
    for data in datas:
        _walk_loaders(data, 2, found)
    return found


def _walk_loaders(obj: object, depth: int, found: list[object]) -> None:
    """:func:`unwrapped_loaders`' walk, into ``found``. A function of its own, not a closure
    that calls itself: that closure was a reference cycle holding ``found``, the user's loaders
    and iterators, until the cyclic garbage collector ran (a review: an ``iter(DataLoader)``
    the caller had dropped kept its worker processes, which the next DataLoader's forked
    workers inherited)."""
    if obj is None or any(obj is f for f in found):
        return
    found.append(obj)
    if depth == 0 or isinstance(obj, torch.utils.data.DataLoader):
        return
    for value in _attributes(obj).values():
        if isinstance(value, torch.utils.data.DataLoader):
            _walk_loaders(value, 0, found)
        elif (depth > 1 and hasattr(value, "__iter__") and hasattr(value, "__dict__")
              and not isinstance(value, torch.nn.Module | torch.Tensor | type)):
            _walk_loaders(value, depth - 1, found)  # a wrapper of a wrapper


def _shufflers(loaders: Iterable[object]) -> Iterator[object]:
    """What may own a DataLoader's shuffle: the loader, its sampler, its batch sampler, and
    the samplers and batch samplers these wrap (``.sampler``, ``.batch_sampler``, a few deep:
    a ``BatchSampler`` passed as the ``sampler`` of a loader with ``batch_size=None`` holds
    the ``RandomSampler``; accelerate's ``BatchSamplerShard`` wraps a batch sampler as
    ``.batch_sampler``, whose sampler's generator was neither seeded nor put back, a bug
    bash)."""
    for loader in loaders:
        level = [getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)]
        yield loader
        for _ in range(4):
            below = []
            for owner in level:
                if owner is not None:
                    yield owner
                    below += [getattr(owner, "sampler", None),
                              getattr(owner, "batch_sampler", None)]
            level = below


def _datasets(loaders: Iterable[object]) -> Iterator[object]:
    """A loader's dataset and those it wraps (``.dataset``, a few deep: a ``Subset``'s; and the
    parts of a ``ConcatDataset`` or ``ChainDataset``, ``.datasets``), read from their
    ``__dict__``: a ``dataset`` property (a file opened lazily, in the workers) is not run."""
    for loader in loaders:
        level = [_attributes(loader).get("dataset")]
        for _ in range(4):
            below: list[object] = []
            for owner in level:
                if owner is None or isinstance(owner, torch.Tensor):
                    continue
                attributes = _attributes(owner)
                if not attributes:
                    continue
                yield owner
                below.append(attributes.get("dataset"))
                parts = attributes.get("datasets")
                if isinstance(parts, list | tuple):
                    below.extend(parts[:_MAX_PARTS])
            level = below


def _attributes(owner: object) -> dict[str, Any]:
    """``owner.__dict__``, or an empty dict where it has none or raises when looked at (a
    ``__getattr__`` of its own that raises KeyError, a dead weak proxy)."""
    try:
        attributes = owner.__dict__
    except Exception:
        return {}
    return attributes if isinstance(attributes, dict) else {}


_MAX_PARTS = 256
"""The most items of one list (a ``ConcatDataset``'s parts, a ``Compose``'s transforms) the
search for a dataset's RNGs looks into: a list of thousands is data, not parts."""

_RNG_KINDS = (np.random.Generator, np.random.RandomState, random.Random, torch.Generator)


def _is_rng(value: object) -> bool:
    """A numpy, Python or torch RNG whose state can be read and put back (not a
    ``random.SystemRandom``, which draws from the system and keeps none)."""
    return isinstance(value, _RNG_KINDS) and not isinstance(value, random.SystemRandom)


def _rngs_within(owner: object, found: list[Any], depth: int = 2,
                 unset: list[tuple[dict[str, Any], str]] | None = None) -> None:
    """Add to ``found`` the RNGs among ``owner``'s attributes and, ``depth`` levels on, those of
    the objects it holds, directly or in a list or tuple (a transform of the user's keeping
    ``self.rng``, in a ``Compose``'s ``.transforms``), each once; and to ``unset`` each
    attribute that is ``None`` (where an RNG made on first use goes: Hugging Face's masking
    collator's ``self.generator``). Read from ``__dict__``s; tensors, arrays, classes,
    functions and Python modules are not looked into, and an object that raises when looked at
    (a ``__getattr__`` of its own, a dead weak proxy) is passed over: what is not found is not
    put back, as before this walk went past the dataset."""
    attributes = _attributes(owner)
    if unset is not None:
        unset.extend((attributes, name) for name, value in list(attributes.items())
                     if value is None)
    for value in list(attributes.values()):
        try:  # (a list's items at depth 1 and more; the value itself, an RNG or no, otherwise)
            items = (value[:_MAX_PARTS] if depth and isinstance(value, list | tuple)
                     else (value,))
        except Exception:
            continue
        for item in items:
            try:  # (one unreadable item does not hide the items after it)
                if _is_rng(item):
                    _add_once(found, item)
                elif depth and not isinstance(item, torch.Tensor | np.ndarray | type
                                              | types.ModuleType | types.FunctionType
                                              | types.MethodType):
                    _rngs_within(item, found, depth - 1, unset)
            except Exception:
                continue


_MODULE_INTERNALS = frozenset(vars(torch.nn.Module()))
"""The attributes every module has (its parameters', buffers' and sub-modules' dicts, its hook
dicts): not looked into for tensors of the user's."""

_HOOK_DICTS = tuple(name for name, value in vars(torch.nn.Module()).items()
                    if "hook" in name and isinstance(value, dict))
"""The dicts in which a module keeps its hooks (and their flags: with kwargs, always called),
by the ids their handles remove."""


def _own_rngs(loaders: Iterable[object], modules: Iterable[object] = (),
              calls: Iterable[object] = (),
              unset: list[tuple[dict[str, Any], str]] | None = None) -> list[Any]:
    """The numpy, Python and torch RNGs a loader's sampler, dataset or ``collate_fn`` keeps as
    its own attributes (a batch sampler of the user's drawing its order from ``self.rng =
    np.random.default_rng(0)``, a dataset's augmentation from ``self.g = torch.Generator()``,
    a masking collator's ``self.g``: a bug bash), or that an object it holds keeps (a
    transform's), those ``modules`` keep as attributes (a noise layer's ``self.g``), and those
    the functions in ``calls`` keep as a ``collate_fn`` would (a mixup ``step_fn`` object's, a
    noisy loss module's: a bug bash), each once; and to ``unset`` the attributes of theirs that
    are ``None`` (see :func:`_rngs_within`)."""
    found: list[Any] = []
    calls = list(calls)
    # (a call that is a module or a module's method: each of its modules, as the model's; a
    # review found a module's method passed over)
    owners = [o for c in calls for o in _collate_owners(c)]
    for module in [*modules, *(m for o in owners if isinstance(o, torch.nn.Module)
                               for m in o.modules())]:
        _rngs_within(module, found, depth=0, unset=unset)
    # (the module a call is, or whose method it is, two levels down as a plain step_fn
    # object's: an environment it holds kept its RNG, a bug bash)
    for owner in owners:
        if isinstance(owner, torch.nn.Module):
            _rngs_within(owner, found, unset=unset)
    loaders = list(loaders)
    # (a user's sampler two levels down, as a dataset: one keeping its RNG in a list or in a
    # helper object was neither seeded nor put back, a bug bash; a loader and torch's own
    # samplers by their attributes)
    for owner in _shufflers(loaders):
        plain = (isinstance(owner, torch.utils.data.DataLoader)
                 or type(owner).__module__.startswith("torch."))
        _rngs_within(owner, found, depth=0 if plain else 2, unset=unset)
    for owner in _datasets(loaders):
        _rngs_within(owner, found, unset=unset)
    for call in [*(_attributes(ld).get("collate_fn") for ld in loaders), *calls]:
        for owner in _collate_owners(call):
            if _is_rng(owner):
                _add_once(found, owner)
            elif not isinstance(owner, torch.nn.Module):  # (a module's: above)
                _rngs_within(owner, found, unset=unset)
    return found


def _add_once(found: list[Any], rng: Any) -> None:
    """Add ``rng`` to ``found`` unless it is there (by identity: RNGs do not compare)."""
    if all(rng is not r for r in found):
        found.append(rng)


def _collate_owners(collate: object) -> list[object]:
    """What may keep a ``collate_fn``'s RNG: the object itself, a bound method's object, a
    ``functools.partial``'s function, arguments and keywords (a review); not a function or a
    class."""
    if isinstance(collate, types.MethodType):
        collate = collate.__self__
    owners = ([collate.func, *collate.args[:_MAX_PARTS], *list(collate.keywords.values())]
              if isinstance(collate, functools.partial) else [collate])
    # (a weak proxy is none: a dead one raised at isinstance, a review)
    owners = [o.__self__ if isinstance(o, types.MethodType) else o for o in owners
              if type(o) not in _PROXIES]
    return [o for o in owners if o is not None
            and not isinstance(o, types.FunctionType | types.BuiltinFunctionType | type)]


def _rng_state(rng: Any) -> Any:
    if isinstance(rng, torch.Generator):
        return rng.get_state()
    if isinstance(rng, np.random.Generator):
        return copy.deepcopy(rng.bit_generator.state)
    if isinstance(rng, np.random.RandomState):
        return rng.get_state()
    return rng.getstate()


def _set_rng_state(rng: Any, state: Any) -> None:
    if isinstance(rng, torch.Generator):
        rng.set_state(state)
    elif isinstance(rng, np.random.Generator):
        rng.bit_generator.state = copy.deepcopy(state)
    elif isinstance(rng, np.random.RandomState):
        rng.set_state(state)
    else:
        rng.setstate(state)


def loader_generators(*loaders: object) -> list[torch.Generator]:
    """The ``torch.Generator`` objects a DataLoader (or its sampler) draws its shuffle from."""
    found: list[torch.Generator] = []
    for owner in _shufflers(loaders):
        gen = getattr(owner, "generator", None)
        if isinstance(gen, torch.Generator) and all(gen is not g for g in found):
            found.append(gen)
    return found


def epoch_samplers(*loaders: object) -> list[Any]:
    """The samplers that shuffle by an epoch number rather than a generator (torch's
    ``DistributedSampler``: ``seed + epoch``), which seeding cannot vary between repeats; and a
    loader's ``IterableDataset`` that does so (a stream of shards shuffled by ``seed + epoch``,
    as Hugging Face's and accelerate's are: a bug bash found every pass and every repeat of one
    the same, and the warning of repeats alike told to shuffle it)."""
    found: list[Any] = []
    streams = [d for d in _datasets(loaders) if isinstance(d, torch.utils.data.IterableDataset)]
    for owner in [*_shufflers(loaders), *streams]:
        if (callable(getattr(owner, "set_epoch", None))
                and isinstance(getattr(owner, "epoch", None), int)
                and all(owner is not s for s in found)):
            found.append(owner)
    return found


def set_epoch_of(owner: Any, epoch: int, refused: set[tuple[int, bool]],
                 back: bool = False) -> None:
    """``owner.set_epoch(epoch)``, for one of :func:`epoch_samplers`: a step (a new pass or
    repeat), or with ``back`` its epoch before the test put back. A sampler's refusal is
    raised. A stream's (an ``IterableDataset``'s, which the range test steps of its own
    accord) is warned of once for each, kept in ``refused``: one that refused a step is
    stepped no more, and one that refused to go back is said to be left moved on; a stream
    already at ``epoch`` is not asked (a review: one whose ``set_epoch`` only goes forward, or
    raises, failed tests that had passed before streams were stepped)."""
    if not isinstance(owner, torch.utils.data.IterableDataset):
        owner.set_epoch(epoch)
        return
    owner = cast(Any, owner)  # (a stream with set_epoch and epoch: epoch_samplers)
    key = (id(owner), back)
    if owner.epoch == epoch or (not back and key in refused):
        return
    try:
        owner.set_epoch(epoch)
    except Exception as exc:
        if key in refused:  # (said once: the restore runs between repeats and at the end)
            return
        refused.add(key)
        said = (f"the range test moved its epoch to {owner.epoch!r} and could not set it back "
                "to that: set it back yourself if it matters" if back else
                "the range test steps a stream's epoch at each pass and repeat, so that they "
                f"see other orders: this one is stepped no more (its epoch is {owner.epoch!r})")
        warnings.warn(
            f"{type(owner).__name__}.set_epoch({epoch}) raised {type(exc).__name__}: {exc}; "
            f"{said}", SuperconvergeWarning,
            stacklevel=outside(__name__, "superconverge.finder.range_test", "contextlib"))


KEPT_ITEMS = 1_000_000
"""The most items of a sampler's list, dict, set or array the range test copies to put back."""


def _kept(value: object) -> Any:
    """A copy of a sampler's attribute to put its contents back from: a number or None is
    itself, a list, dict, set or numpy array of at most :data:`KEPT_ITEMS` items a copy
    (``_ABSENT`` for anything else: its own state, an RNG's, is kept apart, or not at all)."""
    if value is None or type(value) in (int, float, bool):
        return value
    if type(value) in (list, dict, set) and len(value) <= KEPT_ITEMS:  # type: ignore[arg-type]
        return copy.copy(value)  # type: ignore[call-overload]
    if type(value) is np.ndarray and value.size <= KEPT_ITEMS:
        return value.copy()
    return _ABSENT


def _give_back(attrs: dict[str, Any], name: str, was: Any, saved: Any) -> None:
    """Give ``attrs[name]`` back its object ``was`` with the contents ``saved`` (from
    :func:`_kept`), written back in place: the user's own list or array stays theirs (a review:
    a sampler's weights swapped for a copy no longer saw the user's changes). Written, not
    compared first: an item that is an array has no truth value, and a NaT equals nothing (a
    review: the comparison raised, and the rest of the restore was skipped). Where writing
    fails (an array reshaped in place), a copy of the contents; a read-only array is left as
    it is (nothing wrote into it)."""
    try:
        if type(was) is np.ndarray:
            if was.flags.writeable:
                was[...] = saved
        elif type(was) is list:
            was[:] = saved
        elif type(was) in (dict, set):
            was.clear()
            was.update(saved)
        attrs[name] = was
    except Exception:  # (whatever it is: the rest of the restore goes on)
        attrs[name] = _kept(saved)


def _stateful_loader(loader: object) -> bool:
    """Whether ``loader`` keeps its iterator and resume state as torchdata's
    ``StatefulDataLoader`` does."""
    names = getattr(loader, "__dict__", {})
    return all(n in names for n in ("_iterator", "_initial_iter_for_state_dict",
                                    "next_iter_state")) and callable(
        getattr(loader, "load_state_dict", None))


def _stop_workers(iterator: object) -> None:
    """Shut down the worker processes of a DataLoader iterator the sweep left, where it has
    any."""
    shutdown = getattr(iterator, "_shutdown_workers", None)
    if shutdown is not None:
        shutdown()


def _persistent_workers(loader: object) -> bool:
    return bool(getattr(loader, "persistent_workers", False)) and hasattr(loader, "_iterator")


class Streams:
    """What a range test changes besides the tensors, cheap to keep: each module's ``training``
    flag, the RNG streams (torch CPU, CUDA when initialised, numpy's global, python's ``random``,
    the loaders' generators, a sampler's, dataset's or module's own numpy, Python or torch RNG),
    the samplers' epochs and a
    persistent-worker loader's workers.
    :meth:`restore` puts them back, also after ``restore=False``, which keeps only the weights
    and optimizer the test trained."""

    def __init__(
        self,
        model: torch.nn.Module,
        generators: Iterable[torch.Generator] = (),
        loaders: Iterable[object] = (),
        samplers: Iterable[Any] = (),
        calls: Iterable[object] = (),
    ) -> None:
        modules = list(model.modules())
        self.modes = [(m, m.training) for m in modules]
        self.iterators = [(ld, ld._iterator) for ld in loaders  # type: ignore[attr-defined]
                          if _persistent_workers(ld) and not _stateful_loader(ld)]
        # (the streams whose set_epoch refused a step, or to go back: set_epoch_of)
        self.refused: set[tuple[int, bool]] = set()
        self.generators = [(g, g.get_state()) for g in generators]
        # (a module's: noise drawn in forward from ``self.g``, which a bug bash found moved on)
        # (and where there was none, one made on first use: a collator's RNG made from its seed
        # at its first batch, which the sweep drew from, a bug bash: made afresh by the next)
        self.rng_slots: list[tuple[dict[str, Any], str]] = []
        self.own_rngs = [(r, _rng_state(r)) for r in _own_rngs(loaders, modules, calls,
                                                                self.rng_slots)]
        # (each once: a dataset reached from its sampler too is walked twice, and a validation
        # pass reads them all, a review)
        self.rng_slots = list({(id(attributes), name): (attributes, name)
                               for attributes, name in self.rng_slots}.values())
        self.epochs = [(s, s.epoch) for s in samplers]
        # The public Python numbers of a sampler, batch sampler or loader of the user's (not
        # torch's), and a sampler's lists, dicts and arrays (copies): one that counts its own
        # epochs, keeps its place in a pass to resume from, or an epoch's order made by its
        # set_epoch, was left as the sweep made it (a bug bash: training after the test
        # shuffled as an untested twin's third epoch; a resumable sampler's next pass had 24
        # examples of 64).
        # Put back at the end, not between repeats, which go on from each other as the
        # samplers' RNGs do (a review: every repeat drew the same batches).
        self.counts: list[tuple[dict[str, Any], str, Any, Any]] = []
        owners: dict[int, Any] = {id(o): o for o in _shufflers(loaders)
                                  if not type(o).__module__.startswith("torch.")}
        for owner in owners.values():
            sampler = all(owner is not ld for ld in loaders)
            for name, value in getattr(owner, "__dict__", {}).items():
                if (not name.startswith("_") and (sampler or _number(value))
                        and (saved := _kept(value)) is not _ABSENT):
                    self.counts.append((vars(owner), name, value, saved))
        # torchdata's StatefulDataLoader keeps its iterator, and the state it resumes from,
        # for state_dict(): left as the sweep's, mid-pass (a bug bash: a checkpoint taken
        # after the test resumed 5 batches into an epoch; a loaded one was used up by the
        # sweep). One made by state_dict() and not yet iterated is kept as its state. At the
        # end, not between repeats (a review: a loaded state's generator made them alike).
        self.stateful: list[tuple[Any, Any, bool, Any, Any]] = []
        for held in filter(_stateful_loader, loaders):
            ld: Any = held
            initial = bool(ld._initial_iter_for_state_dict)
            self.stateful.append((ld, ld._iterator, initial, ld.next_iter_state,
                                  ld._iterator.state_dict() if initial else None))
        # A loader that counts its own passes and sets its sampler's epoch from the count at
        # each (accelerate's DataLoaderShard and DataLoaderDispatcher, ``iteration``): put back
        # with the epochs (it overwrote them at the next pass: training after the test was
        # not an untested twin's, a bug bash).
        self.iterations: list[tuple[Any, int]] = [
            (ld, ld.iteration) for ld in loaders  # type: ignore[attr-defined]
            if type(getattr(ld, "iteration", None)) is int
            and callable(getattr(ld, "set_epoch", None))]
        # And the loaders that accelerate's gradient state counts as being iterated: one the
        # sweep left mid-pass stayed there, and accumulate() then synced at its first batch (a
        # review: a test inside accumulate() after a first one went unrefused).
        states: dict[int, Any] = {
            id(gs): gs for ld in loaders
            if isinstance(getattr(gs := getattr(ld, "gradient_state", None),
                                  "dataloader_references", None), list)}
        self.loader_references = [(gs, list(gs.dataloader_references))
                                  for gs in states.values()]
        self.torch_rng = torch.get_rng_state()
        self.cuda_rng = (
            torch.cuda.get_rng_state_all()
            if torch.cuda.is_available() and torch.cuda.is_initialized()
            else None
        )
        self.numpy_rng = np.random.get_state()
        self.python_rng = random.getstate()

    def detach(self) -> None:
        """Set aside the iterators of persistent-worker loaders whose workers are running, so
        that the sweep starts workers of its own: a loader keeps one iterator and resets it at
        each ``iter()``, so the sweep took over the caller's (a bug bash: an epoch iterated
        after the test went on with the sweep's leftover batches, 16 of its 20 examples
        skipped, and the workers' augmentations moved on for good). :meth:`restore` stops
        the sweep's workers and puts the caller's iterator back untouched (between repeats,
        none: each repeat starts its own)."""
        for loader, before in self.iterators:
            if before is not None:
                loader._iterator = None  # type: ignore[attr-defined]
        for loader, before, initial, _, _ in self.stateful:
            # (not one state_dict() made and nothing iterated: the sweep takes it, and
            # training starts from the state, as without workers)
            if before is not None and not initial and _persistent_workers(loader):
                loader._iterator = None

    def keep_modes(self, modules: Iterable[torch.nn.Module]) -> None:
        """Put back the ``training`` flags of ``modules`` too, each once (a loss module's, a
        GAN step module's discriminator that its step set to train: left in train mode, a bug
        bash)."""
        seen = {id(m) for m, _ in self.modes}
        for m in modules:
            if id(m) not in seen:
                seen.add(id(m))
                self.modes.append((m, m.training))

    def rngs(self) -> list[Any]:
        """The loaders' generators and the own RNGs found, each once (their states at
        construction are what :meth:`restore` puts back)."""
        return [g for g, _ in self.generators] + [
            r for r, _ in self.own_rngs if all(r is not g for g, _ in self.generators)]

    def restore(self, own_rngs: bool = True) -> None:
        """Put them back as they were at construction (may be called more than once);
        ``own_rngs=False`` (between repeats) leaves the samplers', datasets' and modules' own
        RNGs, the samplers' own places and a StatefulDataLoader's iterator as they are."""
        # A sampler's set_epoch that refuses (one that will not go back) stops none of the
        # rest, and the global RNGs go back whatever fails (a bug bash: torch's RNG was left
        # as the sweep drew it, unsaid); its error is raised after.
        failed: Exception | None = None
        try:
            for module, training in self.modes:
                module.training = training
            for loader, before, initial, resume, state in self.stateful:
                now = loader._iterator
                if not own_rngs:
                    # Between repeats, persistent workers the sweep started are stopped, so
                    # that the next repeat starts its own, as a lone test with its seed does
                    # (a review: the second went on from the first's workers' RNGs); the
                    # state it resumes from is left (a loaded one's generator made them alike).
                    if (not initial and now is not before and now is not None
                            and _persistent_workers(loader)):
                        _stop_workers(now)
                        loader._iterator = None
                    continue
                if now is not before or initial:  # the sweep's, or the one it used up
                    _stop_workers(now)
                    loader._iterator = None if initial else before
                    loader._initial_iter_for_state_dict = False
                    loader.next_iter_state = state if initial else resume
            for loader, before in self.iterators:
                now = loader._iterator  # type: ignore[attr-defined]
                if now is not before:  # workers the test started: their RNGs moved on: stopped
                    _stop_workers(now)
                    # (a caller's iterator set aside, or none, comes back at the end; between
                    # repeats none: each repeat starts workers of its own)
                    loader._iterator = before if own_rngs else None  # type: ignore[attr-defined]
            # (first: a set_epoch that draws the epoch's order from the sampler's own RNG drew
            # again after it was put back, a bug bash: the next pass was the untested twin's
            # second)
            for sampler, epoch in self.epochs:
                if not own_rngs and isinstance(sampler, torch.utils.data.IterableDataset):
                    continue  # (a stream: the next repeat's step sets its epoch from entry's)
                try:
                    set_epoch_of(sampler, epoch, self.refused, back=True)
                except Exception as exc:  # (the rest goes back before it is raised)
                    failed = failed or exc
            for attrs, name, was, saved in self.counts if own_rngs else ():
                _give_back(attrs, name, was, saved)
            for gen, gen_state in self.generators:
                gen.set_state(gen_state)
            for rng, rng_state in self.own_rngs if own_rngs else ():
                _set_rng_state(rng, rng_state)
            for attributes, name in self.rng_slots if own_rngs else ():
                if _is_rng(attributes.get(name)):
                    attributes[name] = None
            for loader, count in self.iterations:
                loader.iteration = count
            for gradient_state, references in self.loader_references:
                gradient_state.dataloader_references = list(references)
        finally:
            torch.set_rng_state(self.torch_rng)
            if self.cuda_rng is not None:
                torch.cuda.set_rng_state_all(self.cuda_rng)
            np.random.set_state(self.numpy_rng)
            random.setstate(self.python_rng)
        if failed is not None:
            raise failed


class TrainingState:
    """Snapshot of model, optimizer and GradScaler state, with ``streams`` (RNG, loader state,
    modules' modes; default: the model's modes and the global RNGs), and the tensors of the
    modules ``others`` (a loss that is a module), and the state and groups of the optimizers
    ``beside`` the optimizer (a GAN step module's second one); :meth:`restore` puts it all
    back.
    ``snapshot``: ``"device"`` keeps each copy beside its tensor; ``"cpu"`` keeps them in host
    memory, so a model that fills its GPU does not need room for a second copy of itself there
    (the copies cross the bus once each way)."""

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        scaler: Any = None,
        streams: Streams | None = None,
        snapshot: str = "device",
        others: Iterable[tuple[str, torch.nn.Module]] = (),
        carriers: Iterable[tuple[str, object]] = (),
        beside: Iterable[torch.optim.Optimizer] = (),
    ) -> None:
        host = snapshot == "cpu"  # one of SNAPSHOTS, checked by lr_range_test
        self.model, self.optimizer, self.scaler = model, optimizer, scaler
        # The optimizer, those it wraps, and those ``beside`` it whose state goes back too (a
        # GAN step module's second optimizer, over parameters restored with that module).
        self.optimizers = held_optimizers(optimizer)
        for other in beside:
            self.optimizers += [o for o in held_optimizers(other)
                                if all(o is not f for f in self.optimizers)]
        # The model's modules and those of ``others`` ((name, module): a loss that is a module,
        # an EMA centre kept in its buffer), each once, with their names (``model.fc``,
        # ``loss_fn``); walked once: a deep model has hundreds.
        named: dict[int, tuple[str, torch.nn.Module]] = {}
        for label, root in (("model", model), *others):
            for prefix, m in root.named_modules(prefix=label):
                named.setdefault(id(m), (prefix, m))
        every = [m for _, m in named.values()]
        # A TorchScript module's structure is fixed (its tensors are restored like any other,
        # by value): its C++ attribute tables take no part in the bookkeeping of names,
        # children and classes below, which they do not support (list() of them fails).
        modules = [m for m in every if not isinstance(m, torch.jit.ScriptModule)]
        # Where each module holds its tensors, so a tensor replaced by assignment goes back:
        # parameters, buffers, and tensors kept as plain attributes (``self.last = out``), also
        # one that needs grad, computed from the parameters by a hook (pruning's ``weight``, the
        # old weight_norm's): left as the sweep's last forward made it, the next pruning round
        # read the diverged weights (a user's bug bash). The module held it, and its graph,
        # before the test; the test holds it until the end.
        self.slots: list[tuple[dict[str, Any], str, torch.Tensor]] = [
            (slots, name, t)
            for m in modules
            for slots in (m._parameters, m._buffers)
            for name, t in slots.items()
            if t is not None
        ]
        # The names each module's parameters and buffers had, a None one's too: one the sweep
        # registers or fills (a lazily set centre, ``register_buffer("c", None)``) goes again.
        self.names: list[tuple[dict[str, Any], list[str], set[str], set[str]]] = [
            (slots, list(slots), {name for name, t in slots.items() if t is not None},
             {name for name, t in slots.items() if t is None})
            for m in modules for slots in (m._parameters, m._buffers)]
        # Each module's sub-modules: one the sweep added (a head made on the first forward)
        # goes, one it replaced comes back (its tensors are restored with the rest). The dict
        # itself too: ``del blocks[1]`` on a ModuleList or Sequential gives it a new one (the
        # old, refilled, was no longer the module's: a pruned block stayed pruned, a bug bash).
        self.children = [(m, m._modules, dict(m._modules)) for m in modules]
        # Each module's hooks and each parameter's, as the sweep found them: a hook that
        # removes itself (a data-dependent init on the first forward, a one-shot gradient
        # clip) is registered again, in its place (the sweep used it up, and training after
        # the test was not an untested twin's, a bug bash; a count it keeps in its closure is
        # not rewound). One the sweep registered stays (a library's own, registered once, may
        # be among them).
        self.hooks = [(d, dict(d)) for m in modules for name in _HOOK_DICTS
                      if isinstance(d := vars(m).get(name), dict) and d]
        self.hooks += [(d, dict(d)) for m in modules for p in m._parameters.values()
                       if p is not None for name in ("_backward_hooks",
                                                     "_post_accumulate_grad_hooks")
                       if isinstance(d := getattr(p, name, None), dict) and d]
        # Which buffers stay out of the state_dict, and each module's class (a parametrization
        # registered by the sweep swaps it for a subclass, ParametrizedLinear).
        self.kinds = [(m, type(m), set(m._non_persistent_buffers_set)) for m in modules]
        # A parametrized module's class is its own (torch makes one per module), and a
        # parametrization registered on it later adds a property to that class: its names.
        self.own_class = [(kind, set(vars(kind))) for m in modules
                          if _torchs_parametrized_class(kind := type(m))]
        # A TorchScript module's tensor attributes (its buffers, and tensors kept as plain
        # attributes), by name: one its forward replaced (``self.ema = 0.9 * self.ema + ...``)
        # gets the original object back, as an eager module's slot does.
        self.script_slots = [(m, name, t) for m in every
                             if isinstance(m, torch.jit.ScriptModule)
                             for name, t in _script_tensors(m)]
        # The objects whose plain attributes hold state: the modules, and a step_fn or loss_fn
        # that is no module but keeps some (a truncated-BPTT step_fn object's ``self.h``, which
        # kept the sweep's last, diverged state, and spoiled the next repeat: a bug bash).
        holders: list[tuple[str, object]] = [(prefix, m) for prefix, m in named.values()
                                             if not isinstance(m, torch.jit.ScriptModule)]
        # (one with a __dict__: a partial's array argument has none, and vars() would raise)
        holders += [(label, c) for label, c in carriers
                    if isinstance(getattr(c, "__dict__", None), dict)]
        plain = [(f"{prefix}.{name}", vars(m), name, t) for prefix, m in holders
                 for name, t in vars(m).items()
                 if _tensor(t)]
        self.slots += [(slots, name, t) for _, slots, name, t in plain]
        # A tuple, list or dict of tensors (or Nones) kept as an attribute, two levels deep (a
        # stateful LSTM's ``self.state = (h, c)``, a stack of cells' ``[(h, c), (h, c)]``, a
        # dict of them): the sweep's replacement, or its writes into the list or dict, give way
        # to it as a tensor's do (they stayed: training after the test was not an untested
        # twin's, bug bashes).
        self.container_slots = [(vars(m), name, _skeleton(x)) for _, m in holders
                                for name, x in vars(m).items()
                                if name not in _MODULE_INTERNALS and _state_container(x)]
        # Each module's attribute names, and which of them held None: tensors the sweep put
        # where there were none (a stateful RNN's ``self.h = None`` before its first batch, the
        # sweep's last hidden state after it; ``self.centre`` made on the first forward) go.
        self.unset = [(attrs, set(attrs), {name for name, x in attrs.items() if x is None})
                      for attrs in (*(vars(m) for m in modules), *(vars(c) for _, c in holders
                                                                  if not isinstance(
                                                                      c, torch.nn.Module)))]
        # Parameters and buffers by identity (deduplicated by .parameters()/.buffers(), so
        # tied weights are saved once); this also covers non-persistent buffers. Then any
        # parameter the optimizer trains that the model does not hold. A frozen parameter the
        # optimizer does not hold is copied into host memory: no optimizer step changes it, but
        # a forward may (an EMA codebook kept as a Parameter(requires_grad=False)), and a frozen
        # backbone under a small trained head would double its device memory beside it.
        # (What .parameters() and .buffers() yield, each tensor once, in their order.)
        own_params = {id(t): t for m in every for t in m._parameters.values() if t is not None}
        # (one whose elements share memory, an expanded buffer, through a view with one of
        # each: the restore's write into it failed, a bug bash, and left out, one written
        # through its base stayed changed, a review)
        own_buffers = {id(t): t for m in every for t in m._buffers.values() if t is not None}
        buffers = [_one_of_each(t) for t in own_buffers.values()]
        trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
        params: list[torch.Tensor] = []
        frozen: list[torch.Tensor] = []
        for p in own_params.values():
            (params if p.requires_grad or id(p) in trained else frozen).append(p)
        seen = {*own_params, *own_buffers}
        for group in optimizer.param_groups:
            for p in group["params"]:
                if id(p) not in seen:
                    seen.add(id(p))
                    params.append(p)
        # The copies beside their tensors are filled together, at the end.
        pending: _Pairs = []
        # (not a tensor on the meta device, which holds no data: a torch.func ensemble's
        # template, a bug bash)
        self.tensors = [(t, _Copy(t, host, pending)) for t in (*params, *buffers)
                        if not t.is_meta]
        self.tensors += [(t, _Copy(t, True)) for t in frozen if not t.is_meta]
        # Their version counters: one in host memory that no in-place write moved (a constant
        # buffer, a frozen layer) is compared before it is written back, and left alone where
        # equal: a buffer in read-only memory (a memory-mapped table) crashed the process at
        # the restore's write, a bug bash. (Compared, not trusted: a write through ``.data``
        # moves none. On an accelerator, where no such memory is, and a compare would wait for
        # the device, each is written back as before.)
        self.tensor_versions = [_version(t) for t, _ in self.tensors]
        # And what each held (an alias, no copy): one the sweep re-bound (``p.data = ...``, a
        # step_fn's out-of-place max-norm, ``model.to(memory_format=...)``) gets its own
        # storage, offset and strides back, so a flat buffer whose views the parameters are
        # holds them again, and channels_last stays as it was (a bug bash: the values alone
        # went back, into the sweep's storage). With the snapshot in host memory, only where
        # the tensor views a larger storage (a flat buffer's, which its owner keeps alive
        # anyway, a review): an alias of one of its own would keep the device storage a
        # re-bind lets go of, a second copy of it there, which snapshot="cpu" is chosen to
        # avoid (a review).
        self.tensor_data: list[torch.Tensor | None] = [
            t.data if not host or _views_more(t) else None for t, _ in self.tensors]
        # Each .grad's values, and with the snapshot on the device the tensor object too: the
        # restore writes the values back into that object (the sweep's zero_grad dropped it from
        # the parameter, or DDP's buckets, whose views it may be, were written into) and hands
        # it back, so references held elsewhere (a CUDA graph's stable .grad buffers) stay
        # valid. With snapshot="cpu" holding the objects would keep their device memory: the
        # values go back into the .grad the test left (a new tensor where it left none).
        # (a buffer the optimizer trains too: its values went back, its .grad stayed, a bug
        # bash)
        stepped = [*params, *(t for t in own_buffers.values() if id(t) in trained)]
        self.grads = [(p, None if host else p.grad,
                       None if p.grad is None else _Copy(p.grad, host, pending)) for p in stepped]
        # A frozen parameter's .grad (none, as a rule) and whether each needs grad: a step_fn
        # that unfreezes a layer left it trainable, with the sweep's last gradient.
        self.grads += [(p, None if host else p.grad,
                        None if p.grad is None else _Copy(p.grad, True)) for p in frozen]
        self.requires = [(p, p.requires_grad) for p in (*params, *frozen)]
        # The optimizer's state and groups, and those of any optimizer it wraps, where a
        # wrapper keeps the real state (ZeroRedundancyOptimizer's .optim: its own is empty);
        # each state dict and group list once (accelerate's wrapper and some Lookaheads share
        # their inner optimizer's, which would otherwise be copied twice).
        self.states: list[tuple[dict[Any, Any], dict[Any, dict[str, Any]]]] = []
        self.owners: list[torch.optim.Optimizer] = []  # the optimizer of each of self.states
        # The groups' values stay beside their tensors: a tensor lr or betas[0] is one number.
        self.groups: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = []
        for opt in self.optimizers:
            shared = [i for i, (state, _) in enumerate(self.states) if opt.state is state]
            if shared:  # a wrapped optimizer (found after its wrapper): its step makes the state
                self.owners[shared[0]] = opt
            else:
                self.owners.append(opt)
                # (an entry that is no dict, an optimizer's own counter kept there, as itself: a
                # bug bash's failed with "'int' object has no attribute 'items'")
                self.states.append((opt.state, {
                    p: {k: _clone(v, host, pending) for k, v in s.items()}
                    if type(s) is dict else _clone(s, host, pending)
                    for p, s in opt.state.items()
                }))
            if all(opt.param_groups is not groups for groups, _ in self.groups):
                self.groups.append((opt.param_groups, [
                    {k: list(v) if k == "params" else _clone(v, False, pending, keep=True)
                     for k, v in g.items()}
                    for g in opt.param_groups
                ]))
        # A plain attribute's values are not copied: it may be a dataset kept on the model (a
        # second copy of it), a read-only memory map, an inference-mode or expanded tensor
        # (none can be written back into). Its version counter says whether the sweep wrote
        # into it in place, for changed_attributes() to name (a write through .data or numpy
        # counts no version: not seen). Not one that shares its memory with a tensor the
        # restore writes back (a view of a parameter, a .grad, an optimizer's state or group
        # value, DDP's gradient buffer), which goes back with it.
        self.versions: list[tuple[str, torch.Tensor, int]] = []
        # The Python numbers and flags of the user's (a replay buffer's write pointer, an
        # ActNorm's ``inited``: left as the sweep made them, unsaid, bug bashes), put back: left
        # as the sweep made them beside the tensors put back, they made a state that never was
        # (a Llama's dynamic RoPE kept the longer length it had cached its frequencies for, with
        # the frequencies put back, and never scaled them again; a bug bash). Public ones of a
        # class not torch's (a LightningModule's own ``_current_fx_name`` moves at each step).
        # Not one beside a cache the sweep grew or cut, which stays as it made it (see
        # _gives_way): it describes it (its length), and put back it did not, and the next
        # forward failed (reviews); named in a warning (numbers_kept).
        self.numbers = [(f"{prefix}.{name}", vars(h), name, value) for prefix, h in holders
                        if not _torchs_own(type(h))
                        for name, value in vars(h).items() if _users_number(name, value)]
        self.numbers_kept: list[str] = []
        # (whose attributes each slot dict is: a module's parameters' and buffers')
        self.holder_of = {id(d): id(vars(m)) for m in modules
                          for d in (m._parameters, m._buffers)}
        # (and those in a dict or list attribute, a level down: a torch.func ensemble's
        # buffers from stack_module_state, kept in a dict, went unnamed, a bug bash)
        inside = [(f"{prefix}.{name}[{k!r}]", x) for prefix, m in holders
                  for name, value in vars(m).items()
                  if type(value) in (dict, list) and name not in _MODULE_INTERNALS
                  for k, x in itertools.islice(
                      value.items() if type(value) is dict else enumerate(value), _MAX_PARTS)
                  if isinstance(x, torch.Tensor)]
        # (and a TorchScript module's, written in place: unnamed, a bug bash; its buffers are
        # restored, and left out below)
        inside += [(f"{prefix}.{name}", t) for prefix, m in named.values()
                   if isinstance(m, torch.jit.ScriptModule) for name, t in _script_tensors(m)]
        tracked = [(label, t, v) for label, t in [(lb, t) for lb, _, _, t in plain] + inside
                   if (v := _version(t)) is not None]
        if tracked:  # (most models keep none: nothing to look up then)
            restored = [t for t, _ in self.tensors]
            restored += [p.grad for p, _, _ in self.grads if p.grad is not None]
            # (what the restore writes back, as deep as _clone snapshots it: a tensor in a
            # group's dict or a state entry of its own is not "wrote into", a review)
            for state, _ in self.states:
                restored += [x for s in state.values()
                             for v in (s.values() if type(s) is dict else (s,))
                             for x in _in_place(v, False)]
            for groups, _ in self.groups:
                restored += [x for g in groups for v in g.values() if v is not g["params"]
                             for x in _in_place(v, True)]
            spans: dict[int, list[tuple[int, int, Any]]] = {}
            for t in restored:
                if (where := _span(t)) is not None:
                    spans.setdefault(where[0], []).append((*where[1:], _layout(t, where)))
            # (nor a view of one by identity, whose memory may move: FSDP1's ``weight``, a
            # view of its flat parameter, whose storage it swaps between shard and whole, was
            # named as written into, a user's bug bash)
            ids = {id(t) for t in restored}
            self.versions = [(label, t, v) for label, t, v in tracked
                             if not _within(t, spans) and id(t._base) not in ids]
        self.streams = Streams(model) if streams is None else streams
        self.scaler_state = None if scaler is None else copy.deepcopy(scaler.state_dict())
        # The scaler's step in progress (a test called between the user's unscale_ and step:
        # their .grad, put back, is unscaled already, and their step must not unscale it again).
        self.scaler_steps = copy.deepcopy(dict(getattr(scaler, "_per_optimizer_states", {})))
        # Numbers and Python RNGs the optimizers keep as attributes: the flag torch's LR
        # schedulers' step wrapper sets (left True by the test's steps, it hid their
        # "lr_scheduler.step() before optimizer.step()" warning), a step counter of an
        # optimizer's own (StableSPAM's total_step) or its noise's random.Random (timm's Kron:
        # training after the test was not an untested twin's, a bug bash).
        self.opt_attrs = [(opt, _plain_attributes(opt), set(vars(opt)))
                          for opt in self.optimizers]
        _copy_all(pending)

    def changed_attributes(self) -> list[str]:
        """The tensors kept as plain module attributes (not buffers) that were written into in
        place since construction, which no restore puts back (``model.fc.running``)."""
        return [label for label, t, v in self.versions if _version(t) != v]

    def restore(self, between_repeats: bool = False) -> None:
        """Put everything back as it was at construction (may be called more than once). The
        RNGs, loaders, modes and the GradScaler go back even where the tensors' restore fails
        (a module that changed a tensor in a way it cannot be written back into).
        ``between_repeats``: all but a sampler's own numpy or Python RNG, which no seed reaches:
        put back, it would give every repeat the same batches. And optimizer state the sweep
        made where there was none is started afresh in place where that is exact (see
        :func:`_afresh_in_place`), not dropped: a compiled ``optimizer.step`` guards on those
        tensors' identity, and new ones made it recompile at every repeat."""
        try:
            self._restore_modules_and_optimizer(between_repeats)
        finally:
            self._restore_the_rest(between_repeats)

    def _restore_modules_and_optimizer(self, between_repeats: bool = False) -> None:
        for scripted, name, t in self.script_slots:
            if getattr(scripted, name) is not t:
                setattr(scripted, name, t)
        # What stays as the sweep made it, by the object it is an attribute of: a tensor's
        # sizes, a number of that object's that is one of them describing it (a positional
        # cache's length); or None, a container of tensors it grew or cut, every number of
        # that object's taken to describe it (a memory bank of chunks and its count of rows).
        left: dict[int, set[int] | None] = {}
        for slots, name, t in self.slots:
            now = slots.get(name)
            if now is t:
                continue
            # (a parameter always: one the sweep widened, Net2Net's, stayed beside an optimizer
            # put back to the original, and never trained again, a bug bash)
            if now is None or isinstance(t, torch.nn.Parameter) or _gives_way(now, t, nan=True):
                slots[name] = t
            else:  # (or what is no tensor now: a float, whose sizes are none, a review)
                sizes = left.setdefault(self.holder_of.get(id(slots), id(slots)), set())
                if sizes is not None and isinstance(now, torch.Tensor):
                    sizes.update(now.shape)
        for attrs, name, skeleton in self.container_slots:
            now = attrs.get(name, _ABSENT)
            if now is None or now is _ABSENT or _gives_way_to(now, skeleton):
                attrs[name] = _refill(skeleton)
            else:
                left[id(attrs)] = None
        self.numbers_kept = []  # (this restore's: a later repeat's may put them back)
        for label, attrs, name, value in self.numbers:
            now = attrs.get(name, _ABSENT)
            if _same_number(now, value):
                continue
            sizes = left.get(id(attrs), set())
            # (numpy's ints too, which the numbers now take: a review)
            if sizes is None or (isinstance(now, int | np.integer) and not isinstance(now, bool)
                                 and int(now) in sizes):
                self.numbers_kept.append(label)
            else:
                attrs[name] = value
        for attrs, had, empty in self.unset:
            for name in [n for n, x in attrs.items()
                         if (n in empty or n not in had) and _tensors(x)]:
                if name in empty:
                    attrs[name] = None
                else:
                    del attrs[name]
        for module, children, before in self.children:
            if module._modules is not children:
                module.__dict__["_modules"] = children
            # (in their order too: it is the order of parameters() and of the state_dict)
            if list(children) != list(before) or any(
                    children[name] is not child for name, child in before.items()):
                children.clear()
                children.update(before)
        for hooks, before in self.hooks:
            if any(key not in hooks for key in before):
                now = dict(hooks)
                hooks.clear()  # (the same dict: a handle and the autograd engine hold it)
                hooks.update(before)
                hooks.update((key, hook) for key, hook in now.items() if key not in before)
        for kind, names in self.own_class:
            for name in set(vars(kind)) - names:
                if _parametrize_made(vars(kind)[name]):
                    delattr(kind, name)  # (a property the sweep's parametrization added)
        for module, kind, hidden in self.kinds:
            if type(module) is not kind:
                module.__class__ = kind
            if module._non_persistent_buffers_set != hidden:
                module._non_persistent_buffers_set.clear()
                module._non_persistent_buffers_set.update(hidden)
        for slots, order, named, empty in self.names:
            for name in [n for n in slots if n not in named]:
                if name in empty:
                    slots[name] = None
                else:
                    del slots[name]  # registered by the sweep
            if list(slots) != order:  # (one removed and put back went last: not its place)
                current = dict(slots)
                slots.clear()
                slots.update((name, current[name]) for name in order if name in current)
        # An attribute that held None, where the sweep registered a module or parameter (a
        # head made on the first forward: nn.Module's setattr took the name out of __dict__,
        # and the model failed on "no attribute 'head'" after the test, a bug bash): None again.
        for attrs, _, empty in self.unset:
            for name in empty:
                if name not in attrs and not any(
                        name in attrs.get(k, ()) for k in ("_parameters", "_buffers", "_modules")):
                    attrs[name] = None
        for p, needs in self.requires:
            if p.requires_grad is not needs and p.is_leaf:
                p.requires_grad_(needs)
        # The in-place writes are gathered and made together, at the end of the tensors.
        pending: _Pairs = []
        for (tensor, saved), version, data in zip(self.tensors, self.tensor_versions,
                                                  self.tensor_data, strict=True):
            if data is not None and not _held_as(tensor, data):
                # Re-bound, resized in place by its module (a quantization observer's min_val,
                # empty until the first batch), or cast (a step_fn's model.to(torch.float64),
                # whose .grad then refused the gradient put back, a bug bash): back to what it
                # held, then written as the others are.
                with torch.no_grad():
                    tensor.data = data
            elif data is None and (tensor.shape != saved.data.shape
                                   or tensor.dtype != saved.data.dtype):
                # (the snapshot in host memory: back to its shape and dtype, in its layout)
                with torch.no_grad():
                    tensor.data = torch.empty_like(saved.data, device=tensor.device)
            elif (tensor.device.type == "cpu" and _version(tensor) == version
                  and _unchanged(tensor, saved.data)):
                continue
            pending.append((tensor, saved.data))
        for p, held, grad in self.grads:
            p.grad = (None if grad is None
                      else _put_back(p.grad if held is None else held, grad, pending))

        for opt, (state, saved_states) in zip(self.owners, self.states, strict=True):
            made = [param for param in state if param not in saved_states]
            group_of = ({id(p): g for g in opt.param_groups for p in g["params"]}
                        if between_repeats and made else {})
            for param in made:
                # State the test created: the next real step starts afresh without it; the
                # next repeat's too, unless it can start afresh from these very tensors.
                if not _afresh_in_place(opt, group_of.get(id(param)), state[param]):
                    del state[param]
            for param, saved_state in saved_states.items():
                if type(saved_state) is not dict:
                    state[param] = _put_back(state.get(param, _MISSING), saved_state, pending)
                    continue
                current = state.get(param, {})
                values = {k: _put_back(current.get(k, _MISSING), v, pending)
                          for k, v in saved_state.items()}
                if param in state and type(current) is dict:  # (the dict itself kept)
                    current.clear()
                    current.update(values)
                else:
                    state[param] = values
        regrouped = False
        refused: list[Exception] = []  # values of the user's that would not go back
        try:
            for groups, saved_groups in self.groups:
                # A group added during the test (add_param_group in a step_fn: unfreezing)
                # goes, and one removed comes back, with the parameters each held.
                regrouped |= len(groups) != len(saved_groups) or any(
                    not _same_list(g.get("params"), sg["params"])
                    for g, sg in zip(groups, saved_groups, strict=False))
                del groups[len(saved_groups):]
                groups += [{} for _ in range(len(saved_groups) - len(groups))]
                for group, saved_group in zip(groups, saved_groups, strict=True):
                    for key in [k for k in group if k not in saved_group]:
                        del group[key]
                    for key, value in saved_group.items():
                        if key != "params":
                            try:
                                group[key] = _put_back(group.get(key, _MISSING), value,
                                                       pending)
                            except Exception as exc:  # (the rest goes back all the same:
                                refused.append(exc)  # the LRs were left at the sweep's end)
                        elif not isinstance(now := group.get(key), list):
                            group[key] = list(value)
                        elif not _same_list(now, value):
                            now[:] = value  # (the list kept: a compiled step guards on it)
        finally:  # (the weights too where a group's value of the user's refused to go back)
            _copy_all(pending)
        if regrouped:  # (a ZeroRedundancyOptimizer's partition of the groups, made again)
            for opt in self.optimizers:
                clear = getattr(opt, "_clear_cache", None)
                if callable(clear):
                    clear()
        if refused:
            raise refused[0]

    def _restore_the_rest(self, between_repeats: bool = False) -> None:
        self.streams.restore(own_rngs=not between_repeats)
        for opt, saved, names in self.opt_attrs:
            # An RNG goes on between repeats, as a sampler's own does (no seed reaches it, and
            # put back, every repeat drew the same: a review), also one the sweep made.
            now = vars(opt)
            for name in [n for n, v in now.items() if n not in names and _plain(v) and not (
                    between_repeats and _is_rng(v))]:
                del now[name]  # made by the sweep: a fresh optimizer stays fresh
            for name, value in saved.items():
                if isinstance(value, _RngState):
                    if not between_repeats:
                        _set_rng_state(value.rng, value.state)
                        now[name] = value.rng
                elif value is not None:
                    now[name] = value
                elif name not in now or (_made_in_place_of_none(now[name]) and not (
                        between_repeats and _is_rng(now[name]))):
                    # None, then gone, or state of the sweep's (a number, an RNG: a torch or
                    # numpy one too, a review); not an object it registered in its place (a
                    # hook's handle its first step made: a review)
                    now[name] = None

        if self.scaler is not None and self.scaler_state is not None:
            self.scaler.load_state_dict(self.scaler_state)
            forget_unfinished_step(self.scaler)
            per_opt = getattr(self.scaler, "_per_optimizer_states", None)
            if per_opt is not None:
                per_opt.update(copy.deepcopy(self.scaler_steps))


_PARAMETRIZE = "torch.nn.utils.parametrize"


def _afresh_in_place(opt: torch.optim.Optimizer, group: dict[str, Any] | None,
                     entry: object) -> bool:
    """Zero a parameter's state in place where that is exactly the state its optimizer's first
    step would make from none, and say whether it did. Adam and AdamW make zeros (``step``,
    ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``); SGD copies the gradient into a new
    momentum buffer, which a zero buffer gives too (``0 * momentum + (1 - dampening) * grad``)
    where ``dampening`` is 0 (torch's own fused step's "first step" does the same). Only these
    classes (not a subclass, whose step may read its state otherwise) and only their own keys:
    anything else is dropped, as at the end of the test."""
    kind = type(opt)
    if group is None or not isinstance(entry, dict):
        return False
    if kind is torch.optim.SGD:
        keys = {"momentum_buffer"}
        if group.get("dampening", 0) != 0:
            return False
    elif kind is torch.optim.Adam or kind is torch.optim.AdamW:
        keys = {"step", "exp_avg", "exp_avg_sq"} | ({"max_exp_avg_sq"} if group.get("amsgrad")
                                                     else set())
    else:
        return False
    if set(entry) != keys or not all(type(v) is torch.Tensor for v in entry.values()):
        return False
    with torch.no_grad():
        for value in entry.values():
            value.zero_()
    return True


def _parametrize_made(value: object) -> bool:
    """Whether ``value`` is made by torch's parametrize module (a function of it, or a
    property of its functions), not by the user's code."""
    if isinstance(value, property):
        value = value.fget
    return getattr(value, "__module__", None) == _PARAMETRIZE


def _torchs_parametrized_class(kind: type) -> bool:
    """Whether ``kind`` is the class torch's ``register_parametrization`` made for one module
    (``Parametrized<Base>``, its ``__getstate__`` torch's), not a user's class of that name."""
    return (kind.__name__.startswith("Parametrized") and len(kind.__bases__) == 1
            and _parametrize_made(vars(kind).get("__getstate__")))


def _tensors(value: object, depth: int = 2) -> bool:
    """Whether ``value`` is a tensor, or a tuple or list of them (an LSTM's ``(h, c)``), to
    ``depth`` levels of nesting (a stack of LSTMs' states)."""
    if isinstance(value, torch.Tensor):
        return True
    return (depth > 0 and isinstance(value, tuple | list) and bool(value)
            and all(_tensors(x, depth - 1) for x in value))


_ABSENT = object()


def _state_container(value: object, depth: int = 2) -> bool:
    """Whether ``value`` is a tuple, list or dict whose items, to ``depth`` levels of nesting,
    are all tensors, Nones or such containers, with a tensor or None among them (or empty: a
    placeholder a forward fills, ``self.states = []``)."""
    if type(value) not in (tuple, list, dict) or depth == 0:
        return False
    items = list(cast("dict[Any, Any]", value).values() if type(value) is dict
                 else cast("list[Any]", value))
    if len(items) > _MAX_PARTS:  # (a memory bank of 100k tensors: 130 ms a validation pass
        # to take and put back, a review; not looked into, as before)
        return False
    return all(x is None or _tensor(x) or _state_container(x, depth - 1) for x in items)


def _skeleton(value: Any) -> tuple[Any, Any]:
    """``value`` and, for a tuple, list or dict, its items' skeletons (a dict's with their
    keys): what :func:`_refill` puts back, the very objects, their contents as they were."""
    if type(value) is dict:
        return value, [(k, _skeleton(x)) for k, x in value.items()]
    if type(value) in (tuple, list):
        return value, [_skeleton(x) for x in value]
    return value, None


def _refill(skeleton: tuple[Any, Any]) -> Any:
    """The object of ``skeleton``, a list's or dict's contents put back in place."""
    value, items = skeleton
    if type(value) is list:
        value[:] = [_refill(s) for s in items]
    elif type(value) is dict:
        refilled = {k: _refill(s) for k, s in items}
        # (by identity: == on tensors is elementwise, and a dict's compare failed on it, a
        # review)
        if list(value) != list(refilled) or any(
                value[k] is not x for k, x in refilled.items()):
            value.clear()
            value.update(refilled)
    elif type(value) is tuple:
        for s in items:
            _refill(s)
    return value


def _gives_way_to(now: object, skeleton: tuple[Any, Any]) -> bool:
    """Whether ``now``, which the sweep left where a container of tensors was (the same list
    written into, or a new one), gives way to it: of its structure, each tensor giving way as
    :func:`_gives_way` says, a None or an empty container filled with tensors."""
    value, items = skeleton
    if items is None:
        if value is None:
            return now is None or isinstance(now, torch.Tensor) or _state_container(now)
        return now is value or (isinstance(value, torch.Tensor)
                                and _gives_way(now, value, nan=True))
    if type(now) is not type(value):
        return False
    if not items:  # (a placeholder the sweep filled)
        return _state_container(now)
    # Of its structure, each tensor giving way: one of another (a key added, an item appended:
    # a cache grown, whose length the module may count elsewhere) is left as the sweep made it
    # (put back, the next forward failed on a counter it did not match, a review).
    if type(value) is dict:
        keyed = cast("dict[Any, Any]", now)
        return list(keyed) == [k for k, _ in items] and all(
            _gives_way_to(keyed[k], s) for k, s in items)
    seq = cast("list[Any]", now)
    return len(seq) == len(items) and all(
        _gives_way_to(x, s) for x, s in zip(seq, items, strict=True))


_Taken = tuple[list[dict[str, tuple[Any, Any]]], list[tuple[dict[str, Any], set[str]]],
               list[dict[str, Any]]]
"""What :meth:`Carried.take` takes: the attributes' state, the numbers, the buffers."""


class Carried:
    """The state a model (and a ``step_fn`` or ``loss_fn`` object) carries from one forward to
    the next in plain attributes (a truncated-BPTT hidden state, ``self.h``), by reference:
    taken before a validation pass and put back after it (a bug bash: the pass's last hidden
    state fed the next training step). Not its values: a state written in place goes on."""

    def __init__(self, owners: Iterable[object]) -> None:
        owners = [o for o in owners if isinstance(getattr(o, "__dict__", None), dict)]
        # (not those of torch's own classes, which carry nothing in plain attributes from one
        # forward to the next: a pruned or weight-normed layer's weight, the one plain tensor
        # there, is made again at each forward; read at each pass, a model of 4,000 layers
        # took 45 ms a pass, a bug bash)
        self.attrs = [vars(o) for o in owners if not _torchs_own(type(o))]
        # And the public numbers and flags of a class of the user's, as the restore at the end
        # puts them back (a bug bash: a forward count that annealed a temperature moved in each
        # pass, and the training curve with it; a rotary cache's length stayed at the pass's
        # longer sequences beside the training's cache put back, and the next step failed).
        self.counted = [vars(o) for o in owners if not _torchs_own(type(o))]
        # (private ones too, unlike the restore at the end: one that counts a cache or marks a
        # buffer registered stays in step with the buffers put back here; a review found a
        # grow-only table's private length, and a first forward's ``self._built``, left as the
        # pass made them beside the buffers put back, and the next step failed)
        # ... and, with the numbers, the buffers a pass replaced (a positional table rebuilt
        # for the pass's longer sequences went on beside its length put back, and the next
        # step failed; a dynamic RoPE's scaled frequencies stayed: a review), by reference
        self.buffers: list[dict[str, Any]] = [
            cast("dict[str, Any]", b) for o in owners
            if type(b := vars(o).get("_buffers")) in (dict, collections.OrderedDict)]

    def take(self) -> _Taken:
        return ([{k: _skeleton(x) for k, x in attrs.items()
                  if k not in _MODULE_INTERNALS and _carried(x)} for attrs in self.attrs],
                [({k: x for k, x in attrs.items() if k not in _MODULE_INTERNALS
                   and k != "training" and _number(x)}, set(attrs)) for attrs in self.counted],
                [dict(b) for b in self.buffers])

    def put(self, taken: _Taken) -> None:
        """Put ``taken`` back: an attribute that holds such state now and held none then goes
        (made by the pass); one that holds anything else now is left as it is (a log list
        holding floats). The numbers go back whatever the pass made of them (after the rest: a
        number the pass made a tensor went as made by it)."""
        carried, numbers, buffers = taken
        for now, had in zip(self.buffers, buffers, strict=True):
            if len(now) != len(had) or any(now.get(k, _ABSENT) is not b for k, b in had.items()):
                now.clear()
                now.update(had)
        for attrs, saved in zip(self.attrs, carried, strict=True):
            for k in [k for k, x in attrs.items() if k not in saved and k not in
                      _MODULE_INTERNALS and x is not None and _carried(x)]:
                del attrs[k]
            for k, skeleton in saved.items():
                if (now := attrs.get(k, _ABSENT)) is _ABSENT or _carried(now):
                    if now is not skeleton[0] or skeleton[1]:
                        attrs[k] = _refill(skeleton)
        for attrs, (held, names) in zip(self.counted, numbers, strict=True):
            attrs.update(held)
            # (and one the pass made goes: ``getattr(self, "_built", False)`` set beside a
            # buffer it registered, which goes, failed the next step, a review)
            for k in [k for k, x in attrs.items() if k not in names and _number(x)]:
                del attrs[k]


def _carried(value: object) -> bool:
    """None, a tensor, or a container of them (:func:`_state_container`; an empty one, a
    placeholder a forward fills, too: one the pass filled went as made by it, a review)."""
    return value is None or _tensor(value) or _state_container(value)


def _same_list(now: object, saved: list[Any]) -> bool:
    """Whether ``now`` is a list of the very objects of ``saved``, in order."""
    return isinstance(now, list) and len(now) == len(saved) and all(
        a is b for a, b in zip(now, saved, strict=True))


def forget_unfinished_step(scaler: torch.amp.GradScaler | None) -> None:
    """Drop the per-step bookkeeping an exception between ``scaler.unscale_``/``scaler.step``
    and ``scaler.update`` leaves in a GradScaler: left there, the user's next ``scaler.step``
    would skip its unscale (stepping with gradients times the scale) and their ``unscale_``
    would fail. Not training state: it goes also with ``restore=False``."""
    per_opt = getattr(scaler, "_per_optimizer_states", None)
    if per_opt is not None:
        per_opt.clear()


def _span(t: torch.Tensor) -> tuple[int, int, int] | None:
    """``(storage, first, last + 1)``: the storage ``t`` views and the range of its elements
    there, or None for a tensor without plain strided storage (meta, sparse, nested, empty)."""
    try:
        if t.layout is not torch.strided or t.numel() == 0:
            return None
        ptr = int(t.untyped_storage().data_ptr())
        if not ptr:
            return None
        first = int(t.storage_offset())
        last = first + sum(int(n - 1) * int(s) for n, s in zip(t.shape, t.stride(), strict=True))
        size = int(t.element_size())
        return ptr, first * size, (last + 1) * size
    except (RuntimeError, NotImplementedError, TypeError):
        return None


def _unchanged(tensor: torch.Tensor, saved: torch.Tensor) -> bool:
    """Whether ``tensor`` holds ``saved``'s values (a plain strided tensor of its dtype; any
    other, a DTensor among them, whose compare may be a collective, is taken as changed)."""
    if (type(tensor) not in _PLAIN or tensor.layout is not torch.strided
            or tensor.dtype != saved.dtype):
        return False
    try:
        a, b = tensor, saved.to(tensor.device)
        if a.is_complex():
            a, b = torch.view_as_real(a), torch.view_as_real(b)
        if a.is_floating_point():  # bit for bit: a zero's sign too, which == does not see
            # (-0.0 written through .data, a review), with no copy (a signbit() each made two)
            a, b = a.view(_BITS[a.element_size()]), b.view(_BITS[b.element_size()])
        return torch.equal(a, b)
    except (RuntimeError, NotImplementedError, TypeError, KeyError):
        return False


_BITS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}
"""An integer type of each float size, to compare floats bit for bit."""


def _same_number(now: object, was: object) -> bool:
    """Whether ``now`` holds the number ``was`` held (a NaN one's NaN, a 1's True)."""
    if now is was:
        return True
    if not isinstance(now, int | float):
        return False
    return bool(now == was) or (math.isnan(now) and isinstance(was, float) and math.isnan(was))


def _gives_way(now: object, t: torch.Tensor, nan: bool = False) -> bool:
    """Whether the tensor ``now``, which the sweep put where a module held ``t``, gives way to
    ``t``: one of its shape (``self.count = self.count + 1``), or shorter along one dimension
    alone (a partial last batch's output), of any dtype (autocast's): those changed the
    state_dict's shapes and dtypes, a bug bash. Not a cache grown, or cut along several
    dimensions (a mask made for shorter inputs), whose size the module tracks elsewhere: put
    back, the next forward failed on it (a review). But, where ``nan``, a tensor the sweep left
    holding NaN, which no forward could use: a hidden state grown from a placeholder (empty,
    or of batch 1) stayed, and the training after a test stopped at NaN gave NaN at every step
    (a bug bash). Not -inf (a causal mask's), nor a placeholder grown alone (a cache that a
    private number counts: put back, the next forward failed, reviews)."""
    if not isinstance(now, torch.Tensor) or now.device != t.device:
        return False
    if now.dim() == t.dim():
        differ = [(a, b) for a, b in zip(now.shape, t.shape, strict=True) if a != b]
        if not differ or (len(differ) == 1 and differ[0][0] < differ[0][1]):
            return True
    if not nan:
        return False
    try:  # (a view of a base written in place, FSDP1's, cannot be read: a review)
        with torch.no_grad():
            return now.is_floating_point() and bool(torch.isnan(now).any())
    except RuntimeError:
        return False


def _layout(t: torch.Tensor, span: tuple[int, int, int]) -> Any:
    """``t``'s place in its storage (offset, shape, strides, element size) where its range,
    ``span`` (:func:`_span`), holds elements it does not (a strided view); None where it holds
    every element of its range."""
    if span[2] - span[1] == t.numel() * t.element_size():
        return None
    return (t.storage_offset(), tuple(t.shape), t.stride(), t.element_size())


_MAX_COMPARED = 1 << 22
"""The most elements of a tensor whose places :func:`_inside` checks one by one; a larger one
in a strided view's range is taken as inside it."""


def _inside(t: torch.Tensor, layout: Any) -> bool:
    """Whether every element of ``t`` is one of the strided view's at ``layout`` (the same
    storage): a transposed alias, one column of it (a review: taken as outside, and named as
    written into); an element between its strides is not (a review: one was hidden). Each of
    ``t``'s places is split over the view's strides, largest first (a view sliced or transposed
    from a tensor, whose strides nest: an overlapping one may be read as not holding it, and
    the test warns of a tensor it put back)."""
    offset, shape, stride, size = layout
    if t.element_size() != size:
        return False
    if t.numel() > _MAX_COMPARED:
        return True
    places = torch.tensor([int(t.storage_offset())])
    for n, s in zip(t.shape, t.stride(), strict=True):
        places = (places[:, None] + torch.arange(int(n)) * int(s)).reshape(-1)
    rest = places - offset
    held = rest >= 0
    for n, s in sorted(((n, s) for n, s in zip(shape, stride, strict=True) if n > 1 and s > 0),
                       key=lambda d: -d[1]):
        index = torch.div(rest, s, rounding_mode="floor").clamp(min=0)
        held &= index < n
        rest = rest - index.clamp(max=n - 1) * s
    return bool((held & (rest == 0)).all())


def _within(t: torch.Tensor, spans: dict[int, list[tuple[int, int, Any]]]) -> bool:
    """Whether ``t`` lies inside the spans of ``spans`` on its storage (an alias of tensors the
    restore writes back goes back with them): inside one dense span, or several side by side
    (a flat tensor whose parameters are views of its parts, a bug bash); a strided one's range
    holds elements it does not, so inside one only where its elements are among the view's
    (:func:`_inside`), and it joins none (reviews: an element of neither of two strided views
    went unnamed). A tensor without a span is not."""
    span = _span(t)
    if span is None:
        return False
    ptr, lo, hi = span
    on = spans.get(ptr, ())
    if any(a <= lo and hi <= b and (layout is None or _inside(t, layout))
           for a, b, layout in on):
        return True
    for a, b, layout in sorted(on, key=lambda x: x[:2]):
        if layout is not None:
            continue
        if a > lo:
            return False  # (a gap before the next span)
        lo = max(lo, b)
        if lo >= hi:
            return True
    return False


def _views_more(t: torch.Tensor) -> bool:
    """Whether ``t`` views a storage larger than itself (a flat buffer's part)."""
    try:
        return t.untyped_storage().nbytes() > t.numel() * t.element_size()
    except (RuntimeError, NotImplementedError):  # (a tensor subclass without storage)
        return False


def _held_as(tensor: torch.Tensor, data: torch.Tensor) -> bool:
    """Whether ``tensor`` holds ``data``'s elements as it does: its shape, dtype, storage,
    offset and strides."""
    try:
        return (tensor.shape == data.shape and tensor.dtype == data.dtype
                and tensor.stride() == data.stride()
                and tensor.storage_offset() == data.storage_offset()
                and tensor.untyped_storage().data_ptr() == data.untyped_storage().data_ptr())
    except (RuntimeError, NotImplementedError):  # (a tensor subclass without storage)
        return tensor.shape == data.shape and tensor.dtype == data.dtype


def _version(t: torch.Tensor) -> int | None:
    """``t``'s version counter (every in-place write adds one), or None where it keeps none (an
    inference-mode tensor, which nothing outside inference mode can write into)."""
    try:
        return int(t._version)
    except RuntimeError:
        return None


@contextlib.contextmanager
def signals_deferred(
    *, sigterm: bool = False, on_first: Callable[[], None] | None = None
) -> Iterator[Callable[[], int | None]]:
    """Hold Ctrl-C (SIGINT under Python's own handler) off until the body has run, and SIGTERM
    under :func:`sigterm_as_interrupt` (with ``sigterm``, under the system's default handler
    too, and so a SIGHUP); yields a function that gives the signal that came and would have
    raised (SIGINT, or SIGTERM under sigterm_as_interrupt), for the caller to raise as it sees
    fit, or None. A SIGTERM or SIGHUP that came under the system's handler is delivered when
    the body is done, so the process still ends as it was told to (torchrun's agent waits 30 s
    before a SIGKILL; a notebook's ``!`` cell, interrupted, sends a SIGHUP 0.2 s after its
    Ctrl-C and a SIGKILL 0.3 s later).

    ``on_first`` is called (in the handler) when the first of them comes, for what must not
    wait for the body: a notebook's SIGKILL comes half a second after its Ctrl-C. It must not
    raise.

    Only on the main thread, where those handlers are installed: a handler of the caller's (a
    framework's graceful stop) is left to run as it would.
    """
    got: list[int] = []

    def hold(signum: int, frame: object) -> None:
        got.append(signum)
        if on_first is not None and len(got) == 1:
            on_first()

    previous: dict[int, Any] = {}
    # the handlers that end the body at once: Python's own for SIGINT, and for SIGTERM and
    # SIGHUP sigterm_as_interrupt's, or (with ``sigterm``) the system's
    enders = (_raise_terminated, signal.SIG_DFL) if sigterm else (_raise_terminated,)
    ours: list[tuple[int, tuple[Any, ...]]] = [
        (signal.SIGINT, (signal.default_int_handler,)), (signal.SIGTERM, enders)]
    hangup = _HANGUP
    if hangup is not None:
        ours.append((hangup, enders))

    def came() -> int | None:
        """The signal held off that would have stopped the body with an exception (SIGINT,
        or SIGTERM or SIGHUP under sigterm_as_interrupt), for the caller to raise
        (:func:`stop_for`); else None."""
        raising = [sig for sig in got if previous.get(sig) is not signal.SIG_DFL]
        # a SIGTERM (or SIGHUP) is the stronger stop: a Ctrl-C before it ends the process
        # all the same
        for stronger in (signal.SIGTERM, hangup):
            if stronger in raising:
                return stronger
        return raising[0] if raising else None

    try:
        # Installed inside the try, each recorded before it is replaced: a SIGTERM between two
        # of them (its handler raising) left SIGINT held for good, every later Ctrl-C ignored.
        if threading.current_thread() is threading.main_thread():
            for sig, handlers in ours:
                take_over(previous, sig, handlers, hold)
        yield came
    finally:
        try:
            put_back(previous)  # (a held SIGTERM is delivered below, once all are back)
        finally:  # also past a Ctrl-C that put_back raised: the SIGTERM is the stronger stop
            for ending in (signal.SIGTERM, hangup):
                if ending in got and previous.get(ending) is signal.SIG_DFL:
                    signal.raise_signal(ending)  # the system's handler: the process ends



def seed_everything(seed: int, generators: Iterable[torch.Generator] = ()) -> None:
    """Seed torch (CPU, and CUDA when initialised), numpy's global RNG, python's ``random`` and
    ``generators``.

    Not ``torch.manual_seed``: where CUDA is not initialised yet it queues the seed for CUDA's
    first use, which no restore can take back, so a CPU range test would seed the user's later
    GPU training. An uninitialised CUDA has drawn nothing the test could need seeded.
    """
    torch.default_generator.manual_seed(seed)
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.manual_seed_all(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)
    for gen in generators:
        gen.manual_seed(seed)
