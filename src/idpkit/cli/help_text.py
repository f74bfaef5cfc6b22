"""How ``--help`` looks: plain words at 80 columns, no type labels a reader has to decode.

Why a module of its own: Typer 0.29 prints ``<bool>`` beside every flag and ``<str>`` beside every
text option, which takes a third of an 80-column terminal and says nothing the option's own help
does not; the rest of the help is the commands' docstrings, which must not carry reST markup
(tests/test_cli_help.py walks every command's help at 80 columns).
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperOption

_QUIET_TYPES = ("<bool>", "<str>", "<int range>", "<float range>")  # a range shows as [0<=x<=4]


def quiet_type_labels() -> None:
    """Show an option's type only where it tells the reader something (ranges, paths, numbers);
    flags, free text and choices (their help lists the values) get none. Idempotent."""
    if getattr(TyperOption.display_type_rich, "_idpkit", False):
        return
    original = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if getattr(self, "is_bool_flag", False):
            return None
        shown = original(self, ctx)
        if shown in _QUIET_TYPES:
            return None
        if getattr(getattr(self, "type_descriptor", None), "is_choice", False):
            # the option's help lists its values (tests/test_cli_help.py checks it): one
            # unbreakable "<table|csv|hxl|json>" squeezed the option names until Rich cut them
            return None
        return shown

    display_type_rich._idpkit = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
    plain_argument = TyperArgument.display_type_rich

    def argument_type_rich(self: TyperArgument, ctx: Any) -> str | None:
        shown = plain_argument(self, ctx)
        return None if shown in _QUIET_TYPES else shown

    TyperArgument.display_type_rich = argument_type_rich  # type: ignore[method-assign]
