"""How a toolbox names the tensors of an EncNet, and the renaming to this project's names.

A :class:`Layout` is a list of prefix renames (first match wins), applied to every key of the source
state_dict; what no rule matches is an unexpected key. The inverse renames name the source key that a
missing tensor should have come from. ``negated`` keys change sign on the way in (the Encoding layer's
smoothing factors: both toolboxes store scale = −s_k and compute softmax(scale·‖r‖²), this project stores
s_k > 0 and computes softmax(−s_k‖r‖²), eq. 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import Tensor


@dataclass(frozen=True)
class Layout:
    """One toolbox's EncNet checkpoint layout.

    Attributes:
        name: the ``--source`` value.
        signature: key prefixes every EncNet checkpoint of this toolbox has (to recognise a wrong ``--source``).
        renames: (source prefix, this project's prefix) pairs, most specific first.
        negated: this project's keys whose values are negated.
        defaults: architecture facts the weights do not show (output stride, ``align_corners``, loss weights).
        reference: where the layout comes from (recorded in the converted checkpoint).
    """

    name: str
    signature: tuple[str, ...]
    renames: tuple[tuple[str, str], ...]
    negated: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)
    reference: str = ""

    def to_ours(self, key: str) -> str | None:
        """This project's name of source key ``key``, or None when no rule covers it."""
        for old, new in self.renames:
            if key.startswith(old):
                return new + key[len(old):]
        return None

    def to_source(self, key: str) -> str:
        """The source key that this project's ``key`` is read from (for error messages)."""
        for old, new in self.renames:
            if key.startswith(new):
                return old + key[len(new):]
        return f"(no {self.name} key for {key})"

    def matches(self, keys: list[str]) -> bool:
        """Whether ``keys`` carry every signature prefix of this layout."""
        return all(any(k.startswith(prefix) for k in keys) for prefix in self.signature)

    def rename(self, state: dict[str, Tensor]) -> tuple[dict[str, Tensor], dict[str, str], list[str]]:
        """Source state_dict → (state under this project's names, our key → source key, unmatched source keys).

        ``negated`` values are negated here.
        """
        renamed: dict[str, Tensor] = {}
        origin: dict[str, str] = {}
        unmatched: list[str] = []
        for key, value in state.items():
            ours = self.to_ours(key)
            if ours is None:
                unmatched.append(key)
                continue
            renamed[ours] = -value if ours in self.negated else value
            origin[ours] = key
        return renamed, origin, unmatched
