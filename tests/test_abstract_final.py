"""The abstract/final pattern of the SDE and distribution families (STYLE.md, equinox's rules): abstract
classes declare no fields (only `eqx.AbstractVar`), concrete classes are final and never override a
concrete method, and a user's interface is declared, not duck-typed."""

import dataclasses
import inspect

import equinox as eqx
import pytest

import scoresde_ref as sr


def _family(namespace, root):
    """Every `eqx.Module` class exported by `namespace` that derives from `root`, with their bases."""
    found = set()
    for value in vars(namespace).values():
        if inspect.isclass(value) and issubclass(value, root):
            found.update(c for c in value.__mro__ if issubclass(c, root))
    return sorted(found, key=lambda c: c.__qualname__)


FAMILIES = {
    "sde": _family(sr.sde, sr.sde.AbstractSDE),
    "distributions": _family(sr.distributions, sr.distributions.AbstractDistribution),
}
CLASSES = [c for family in FAMILIES.values() for c in family]


def _is_abstract(cls) -> bool:
    return cls.__name__.lstrip("_").startswith("Abstract")


def _concrete_methods(cls) -> set[str]:
    """Names defined in `cls` itself as concrete methods or properties (not abstract, not dunder)."""
    abstract = getattr(cls, "__abstractmethods__", frozenset())
    return {
        name
        for name, value in vars(cls).items()
        if not name.startswith("__") and name not in abstract and (callable(value) or isinstance(value, property))
        and not isinstance(value, type)
    }


@pytest.mark.parametrize("cls", [c for c in CLASSES if _is_abstract(c)], ids=lambda c: c.__name__)
def test_abstract_classes_declare_no_fields(cls):
    """Fields live only in final classes: an abstract class names what it needs with `eqx.AbstractVar`.
    Planted bug caught: `beta_min: ScalarLike` declared on `_AbstractLinearBetaSDE` (as it was)."""
    own = cls.__dict__.get("__annotations__", {})
    fields = [f.name for f in dataclasses.fields(cls) if f.name in own]
    assert fields == [], f"{cls.__name__} declares fields {fields}; use eqx.AbstractVar"


@pytest.mark.parametrize("cls", [c for c in CLASSES if not _is_abstract(c)], ids=lambda c: c.__name__)
def test_final_classes_override_no_concrete_method(cls):
    """A final class implements abstract methods only; it never overrides a concrete method of a base.
    Planted bug caught: a `kernel` written on `VESDE` (bypassing the time check of the base's)."""
    assert not inspect.isabstract(cls), f"{cls.__name__} is concrete by name but has abstract methods"
    for base in cls.__mro__[1:]:
        if base in (eqx.Module, object) or not issubclass(base, eqx.Module):
            continue
        overridden = _concrete_methods(base) & set(vars(cls))
        assert not overridden, f"{cls.__name__} overrides concrete {sorted(overridden)} of {base.__name__}"
    parents = [base for base in cls.__mro__[1:] if issubclass(base, eqx.Module) and base is not eqx.Module]
    assert all(_is_abstract(base) for base in parents), f"{cls.__name__} derives from a concrete class"


def test_public_extension_hooks_are_public():
    """The methods a user implements to add an affine SDE have public names, and they are the only
    abstract methods left (tests/test_extension.py implements them outside the package). Planted bug
    caught: a hook renamed back to `_kernel` (private)."""
    abstract = sr.sde.AbstractLinearSDE.__abstractmethods__
    assert abstract == {"diffusion", "drift_coeff", "unchecked_kernel", "prior_std"}
    assert sr.sde.AbstractAffineSDE.__abstractmethods__ == abstract | {"drift_offset", "unchecked_kernel_offset"}
    assert all(not name.startswith("_") for name in sr.sde.AbstractAffineSDE.__abstractmethods__)
    assert sr.sde.AbstractSDE.__abstractmethods__ == {"drift", "diffusion"}


def test_the_mean_of_a_distribution_is_declared():
    """`mean` is part of the declared interface of every distribution (an `eqx.AbstractVar`), not
    duck-typed: each final distribution provides it as a field or a property."""
    assert "mean" in sr.distributions.AbstractDistribution.__abstractvars__
    for cls in FAMILIES["distributions"]:
        if not _is_abstract(cls):
            fields = {f.name for f in dataclasses.fields(cls)}
            assert "mean" in fields or isinstance(getattr(cls, "mean", None), property)
