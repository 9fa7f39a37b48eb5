"""The schedule protocol: a frozen dataclass, callable ``step -> value``.

A schedule is a pure function of the step count (0-based, one step per mini-batch or optimizer
step). It knows its ``total_steps`` (``None`` for an endless schedule such as a cyclic one) and,
past the end, holds the value of its last step; it never raises for a large step. It has no
state, so it can be printed, pickled, tabulated, plotted and serialised with ``to_dict``.
"""

from __future__ import annotations

import dataclasses
import importlib
import operator
import types
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, SupportsIndex, TypeVar, cast

from superconverge.schedules._validate import MAX_STEPS, _describe_huge

_REGISTRY: dict[str, type[Schedule]] = {}

S = TypeVar("S", bound="type[Schedule]")
_T = TypeVar("_T", bound="Schedule")  # (from_dict called on a subclass gives that subclass)


def register(kind: str) -> Callable[[S], S]:
    """Class decorator: make a schedule class known to :meth:`Schedule.from_dict` as ``kind``
    (its ``to_dict`` writes it), so it can be saved as data, e.g. in a ``ParamScheduler``
    checkpoint. A kind taken by another class is refused; the module that defines the class
    must be imported before ``from_dict`` reads a dict of its kind."""

    def deco(cls: S) -> S:
        if not isinstance(kind, str) or not kind:
            raise TypeError(f"a schedule's kind must be a non-empty string, got {kind!r}")
        # (a bug bash: each of these was taken here, and failed later, naming something else)
        if not (isinstance(cls, type) and issubclass(cls, Schedule)):
            raise TypeError(f"register({kind!r}) takes a subclass of Schedule, got {cls!r}")
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"register({kind!r}): {cls.__name__} is not a dataclass; put "
                            "@register above @dataclass (frozen=True, as ours are), which must "
                            "be applied first")
        if any(f.name == "kind" for f in dataclasses.fields(cls)):
            raise TypeError(f"register({kind!r}): {cls.__name__} has a field named 'kind', the "
                            "key of a schedule dict that names its class; rename the field")
        taken = _REGISTRY.get(kind)
        if taken is not None and _name(taken) != _name(cls):  # (itself: a notebook's re-run)
            raise ValueError(f"the schedule kind {kind!r} is taken by {'.'.join(_name(taken))}; "
                             "choose another")
        cls.kind = kind
        _REGISTRY[kind] = cls
        return cls

    return deco


def _name(cls: type) -> tuple[str, str]:
    """A class's module and qualified name: a class defined again (a notebook cell run twice)
    is another object of the same name."""
    return cls.__module__, cls.__qualname__


def callable_ref(fn: Callable[..., Any]) -> str:
    """``"module:qualname"`` of a module-level function, so it survives JSON and pickling."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if module == "__mp_main__":  # (multiprocessing's name for a spawned child's __main__,
        # which sys.modules holds as __main__ too: a checkpoint a DDP rank saved did not
        # resume in the script run plainly, a bug bash)
        module = "__main__"
    ref = f"{module}:{qualname}"
    try:
        found = resolve_ref(ref) if module is not None and "<" not in qualname else None
    except (ValueError, TypeError):
        found = None
    # The function, or the same one defined again (a notebook cell run twice: its name now
    # holds another function object, as a class defined again does, which still saves; a bug
    # bash: "not a module-level function" of one that is)
    # (neither a wrapper: functools.wraps gives one the name of what it wraps, which the name
    # then loads instead, a review)
    same = found is fn or (
        isinstance(fn, types.FunctionType) and isinstance(found, types.FunctionType)
        and not hasattr(found, "__wrapped__") and not hasattr(fn, "__wrapped__")
        and found.__module__ == fn.__module__ and found.__qualname__ == qualname)
    if not same:  # lambdas, closures, partials, bound methods, callable instances
        raise TypeError(
            f"{fn!r} is not a module-level function (lambdas, closures, partials and methods "
            "cannot be saved by name); define it with `def` at the top level of a module"
        )
    return ref


def resolve_ref(ref: object, name: str = "callable") -> Callable[..., Any]:
    """Inverse of :func:`callable_ref`: the function a ``"module:qualname"`` string names.

    ``name`` is the argument the reference was given as, for the messages: a reference that
    is not a string is a ``TypeError``, one that names no importable module or no attribute a
    ``ValueError``, one that names something not callable a ``TypeError``."""
    if not isinstance(ref, str):
        raise TypeError(
            f"{name} must be a function or a 'module:function' string, got {ref!r} "
            f"({type(ref).__name__})"
        )
    module, colon, qualname = ref.partition(":")
    if not (colon and module and qualname) or module.startswith("."):
        raise ValueError(
            f"{name} must be a 'module:function' reference, e.g. 'mypkg.scales:halving', "
            f"got {ref!r}"
        )
    try:
        obj: Any = importlib.import_module(module)
    except ImportError as exc:
        raise ValueError(f"{name}={ref!r}: cannot import module {module!r} ({exc})") from None
    done: list[str] = []
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            where = f"{module}:{'.'.join(done)}" if done else f"module {module!r}"
            raise ValueError(f"{name}={ref!r}: {where} has no attribute {part!r}") from None
        done.append(part)
    if not callable(obj):
        raise TypeError(f"{name}={ref!r} does not name a callable (it is a "
                        f"{type(obj).__name__})")
    return obj


class Schedule:
    """Base of every schedule. Subclasses are ``@dataclass(frozen=True)``, declare
    ``total_steps`` and define ``_value``."""

    kind: ClassVar[str] = "schedule"
    total_steps: int | None

    def _value(self, step: int) -> float:
        # (a bug bash: a subclass that defined __call__ instead failed with a bare
        # NotImplementedError, from inside ParamScheduler)
        raise NotImplementedError(
            f"{type(self).__name__} defines no _value(self, step) -> float, the value at a "
            "step (0 .. total_steps - 1; Schedule.__call__ checks the step, holds the last "
            "value past the end, then calls it): a subclass of Schedule defines it"
        )

    def _set(self, name: str, value: object) -> None:
        """Normalise a field inside ``__post_init__`` of a frozen dataclass."""
        object.__setattr__(self, name, value)

    def __call__(self, step: SupportsIndex) -> float:
        """The value at ``step`` (0-based; an int, numpy's too); past ``total_steps - 1`` the
        last value is held."""
        if type(step) is not int:  # a plain int skips these checks (the hot path); inlined, as
            # a call to _step_index measurably slowed a numpy int step
            if step is True or step is False:  # cheaper than isinstance(step, bool)
                raise TypeError(f"step must be an int, got {step!r} (bool)")
            try:
                step = operator.index(step)
            except TypeError:
                raise TypeError(
                    f"step must be an int, got {step!r} ({type(step).__name__})"
                ) from None
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        try:  # (no cost where it does not raise)
            end = self.total_steps
        except AttributeError:
            end = declared_total_steps(self)
        if end is not None and step >= end:
            if type(end) is not int or end < 1:  # (a subclass's own field, unchecked: its
                end = _total_steps(self)  # _value got -1 for 0, 99.0 for 100.0: a bug bash)
            step = end - 1
        try:
            return self._value(step)
        except OverflowError:
            if end is not None or step <= MAX_STEPS:
                raise  # a scale_fn's own overflow, say: its error, as it came
            # an endless schedule's arithmetic, at a step beyond a float
            raise ValueError(
                f"step is {_describe_huge(step)}, too large for {type(self).__name__}, which has "
                "no end and computes its value from the step in floats (exact up to 2**53)"
            ) from None

    def table(self, steps: SupportsIndex | None = None) -> list[tuple[int, float]]:
        """``[(step, value), ...]`` for steps ``0 .. steps - 1`` (default: ``total_steps``)."""
        if steps is None and declared_total_steps(self) is None:
            raise ValueError(
                f"{type(self).__name__} has no end (total_steps=None); pass steps=N to tabulate"
            )
        # (a total_steps of a schedule of the user's checked: 2.5 was a bare "'float' object
        # cannot be interpreted as an integer", a review)
        n = _total_steps(self) if steps is None else _step_index("steps", steps)
        if n < 1:
            raise ValueError(f"steps must be >= 1, got {n}")
        return [(i, self(i)) for i in range(n)]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description; :meth:`Schedule.from_dict` rebuilds an equal schedule.

        A class of one's own is saved where :func:`register` gave it a kind of its own; else
        (it would be saved under its base's kind, which another class rebuilds, or none) a
        ``TypeError``."""
        # (the class registered, or one of its name that a notebook's re-run of its cell
        # registered since: the same class to the user)
        kind = type(self).kind
        registered = _REGISTRY.get(kind)
        if registered is None or _name(registered) != _name(type(self)):
            raise TypeError(
                f"{type(self).__name__} is not registered, so Schedule.from_dict could not "
                "rebuild it: give the class a kind of its own with "
                "@superconverge.schedules.register('a-kind') above its @dataclass"
            )
        out: dict[str, Any] = {"kind": kind}
        # (not a field __post_init__ derives, init=False, which from_dict does not take: a
        # bug bash)
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.init:
                out[f.name] = _encode(getattr(self, f.name), f.name)
        return out

    @classmethod
    def from_dict(cls: type[_T], data: Mapping[str, Any]) -> _T:
        """Rebuild a schedule written by :meth:`to_dict` (any mapping; called on a subclass,
        a dict of another kind is a ``TypeError``).

        A field it does not take (a dict of a newer version) or one it lacks is a
        ``ValueError`` naming the fields it takes. A function in it (cyclic's ``scale_fn``)
        is saved by name, ``"module:function"``, and found by importing that module, which
        runs its code: as with ``pickle``, rebuild only dicts from a source you trust."""
        if isinstance(data, str | bytes):  # (a bug bash: "needs a 'kind' key" of JSON text)
            raise ValueError(f"a schedule dict is a mapping, got {type(data).__name__} "
                             f"{data[:60]!r}: parse JSON text first, json.loads(text)")
        if not isinstance(data, Mapping) or "kind" not in data:
            raise ValueError(f"a schedule dict needs a 'kind' key, got {data!r}")
        kind = data["kind"]
        if not isinstance(kind, str):
            raise TypeError(
                f"a schedule dict's 'kind' must be a string, got {kind!r} ({type(kind).__name__})"
            )
        if kind not in _REGISTRY:
            known = ", ".join(sorted(_REGISTRY))
            raise ValueError(f"unknown schedule kind {kind!r}; known: {known}")
        built = _REGISTRY[kind]
        if not issubclass(built, cls):  # (a bug bash: OneCycle.from_dict built a Cyclic)
            raise TypeError(f"{cls.__name__}.from_dict was given a {kind!r} dict, which builds "
                            f"a {built.__name__}; Schedule.from_dict builds any kind")
        # The fields first, before a reference in them imports anything (a review: a raw
        # "__init__() got an unexpected keyword argument").
        fields = [f for f in dataclasses.fields(built) if f.init]  # type: ignore[arg-type]
        names = [f.name for f in fields]
        # (a field derived in __post_init__, init=False, which to_dict wrote before it left
        # them out: such a dict still rebuilds, a review)
        derived = {f.name for f in dataclasses.fields(built) if not f.init}  # type: ignore[arg-type]
        unknown = [k for k in data if k not in ("kind", *derived) and k not in names]
        missing = [f.name for f in fields if f.name not in data
                   and f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING]
        if unknown or missing:
            said = "; ".join(
                ([f"unknown field(s) {', '.join(map(repr, unknown))} (a dict of a newer "
                  "version?)"] if unknown else [])
                + ([f"missing field(s) {', '.join(map(repr, missing))}"] if missing else []))
            raise ValueError(f"a {kind!r} schedule dict: {said}; it takes "
                             f"{', '.join(names)}")
        kwargs = {k: _decode(val, k) for k, val in data.items() if k in names}
        return cast("_T", built(**kwargs))  # (a subclass of cls: checked above)


def declared_total_steps(schedule: Schedule) -> Any:
    """``schedule.total_steps``, or a named error where its class declares none (a bug bash:
    a subclass defining ``_value`` alone passed both type checkers, then failed at its first
    call, in ``ParamScheduler`` and in ``warmup`` with a bare ``AttributeError``). Read where a
    schedule of the user's is first taken; a ``__getattr__`` or a descriptor on ``Schedule``
    slowed every read of the attribute (reviews)."""
    try:
        return schedule.total_steps
    except AttributeError:
        # (one its class or instance has, a property whose own body failed: that error, as it
        # came; a review found it hidden behind this one)
        if "total_steps" in getattr(schedule, "__dict__", ()) or any(
                "total_steps" in vars(c) for c in type(schedule).__mro__):
            raise
        raise AttributeError(
            f"{type(schedule).__name__} has no total_steps: a schedule declares it, a field "
            "`total_steps: int | None` (None for a schedule without end)") from None


def _total_steps(schedule: Schedule) -> int:
    """``schedule.total_steps`` as an int (numpy's too) of at least 1, or a named error."""
    end = _step_index(f"{type(schedule).__name__}.total_steps", declared_total_steps(schedule))
    if end < 1:
        raise ValueError(f"{type(schedule).__name__}.total_steps must be >= 1 (or None, with "
                         f"no end), got {end}")
    return end


def _step_index(name: str, value: object) -> int:
    """An int step or step count: ints and numpy ints, not bools (``True`` is not step 1) and
    not floats (``2.5``, ``nan``)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {value!r} (bool)")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"{name} must be an int, got {value!r} ({type(value).__name__})"
        ) from None


def _encode(value: Any, name: str) -> Any:
    """A field's value as plain data: a schedule as its dict, a function by name, a numpy
    number as a Python one (kept as it was, a checkpoint holding it saved, then failed
    torch.load(weights_only=True): a bug bash); a value of another kind (an Enum, a dict, which
    from_dict would misread) is a ``TypeError`` naming the field."""
    if isinstance(value, Schedule):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [_encode(x, name) for x in value]
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value).__module__ == "numpy" and getattr(value, "dtype", None) is not None:
        # A number (or a 0-d array) as itself, an array of numbers as a list of them (an array
        # of several was written as None, and a strict resume took another schedule: a review).
        if getattr(value.dtype, "kind", "") in ("b", "i", "u", "f"):
            return value.tolist()  # (a 0-d array's, a number's: the Python number)
    if callable(value):
        return {"callable": callable_ref(value)}
    if isinstance(value, bool | int | float | str):  # (a subclass: an IntEnum, a str Enum)
        raise TypeError(f"field {name!r} holds {value!r} ({type(value).__name__}), which "
                        "Schedule.from_dict could not rebuild; hold its plain value there")
    raise TypeError(f"field {name!r} holds a {type(value).__name__}, which a schedule dict "
                    "cannot hold (plain numbers, strings, None, lists, schedules and "
                    "module-level functions): hold plain values there")


def _decode(value: Any, name: str) -> Any:
    """A field of a schedule dict; ``name`` is the field, for the messages."""
    # (any mapping and sequence, as from_dict takes any mapping: a review)
    if isinstance(value, Mapping) and "kind" in value:
        return Schedule.from_dict(value)
    if isinstance(value, Mapping) and "callable" in value:
        return resolve_ref(value["callable"], name)
    if isinstance(value, list | tuple):
        return tuple(_decode(x, name) for x in value)
    return value
