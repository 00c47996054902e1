"""scikit-learn's parameter protocol (``get_params`` / ``set_params``) for the feature estimators.

The parameters are the keyword-only arguments of ``__init__``, stored under their own names, so
:func:`mining.sgd.selection.clone` can rebuild an unfitted copy.
"""

from __future__ import annotations

import inspect
from typing import Any, Self

from mining.errors import InputError

__all__ = ["Params"]


class Params:
    """scikit-learn's parameter protocol from the keyword-only ``__init__`` signature."""

    @classmethod
    def param_names(cls) -> list[str]:
        """The constructor's parameter names, in order."""
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters and their values (``deep`` is accepted, unused)."""
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters; unknown names raise :class:`InputError`."""
        known = self.get_params()
        for name, value in params.items():
            if name not in known:
                raise InputError(f"{type(self).__name__} has no parameter {name!r}; "
                                 f"known: {', '.join(sorted(known))}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        given = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({given})"
