"""Write docs/api.md: the public API of sibsim, read from the installed package.

Run from the repository root (or anywhere: paths are relative to this file)::

    python docs/gen_api.py            # writes docs/api.md
    python docs/gen_api.py --check    # exit 1 if docs/api.md is out of date

For each public module it lists the public classes, functions and constants (the module's
``__all__`` when it has one, otherwise the names it defines without a leading underscore), with
their signatures and the first paragraph of their docstrings; for a class, also its public
methods and properties. An object re-exported by several modules is described once, in the
listed module whose name is the longest prefix of the module that defines it; the other modules
point to it. The output is deterministic (no dates), so it can be checked in CI.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType

#: Modules documented, in order.
MODULES = (
    "sibsim",
    "sibsim.spec",
    "sibsim.dataset",
    "sibsim.engine",
    "sibsim.scenario_file",
    "sibsim.templates",
    "sibsim.money.evaluation",
    "sibsim.money.money_metric",
    "sibsim.money.pricing",
    "sibsim.money.contract",
    "sibsim.money.results",
    "sibsim.money.capital",
    "sibsim.money.cashflows",
    "sibsim.money.municipality",
    "sibsim.money.sib",
    "sibsim.money.irr",
    "sibsim.analysis.metrics",
    "sibsim.analysis.summary",
    "sibsim.analysis.breakeven",
    "sibsim.analysis.budget",
    "sibsim.analysis.design",
    "sibsim.analysis.sensitivity",
    "sibsim.analysis.evaluation_design",
    "sibsim.analysis.voi",
    "sibsim.council",
    "sibsim.report",
    "sibsim.distributed",
    "sibsim.store",
    "sibsim.programme",
    "sibsim.portfolio",
    "sibsim.plots",
)

OUT = Path(__file__).resolve().parent / "api.md"
MAX_DEFAULT = 60  # longest default value shown in a signature


# --------------------------------------------------------------------------- text helpers
def rst_to_md(text: str) -> str:
    """Turn the reST of a docstring into Markdown code spans."""
    text = re.sub(r":(?:class|func|meth|mod|attr|data|obj|exc):`~?([^`]+)`",
                  lambda m: f"`{m.group(1).split('.')[-1] if '~' in m.group(0) else m.group(1)}`",
                  text)
    return text.replace("``", "`")


def first_paragraph(obj: object) -> str:
    """The first paragraph of ``obj``'s docstring (inherited if it has none), on one line."""
    doc = obj.__doc__ if isinstance(obj, ModuleType) else inspect.getdoc(obj)
    if not doc:
        return ""
    doc = inspect.cleandoc(doc)
    if (inspect.isclass(obj) and dataclasses.is_dataclass(obj) and "\n" not in doc.strip()
            and doc.startswith(f"{obj.__name__}(") and doc.rstrip().endswith(")")):
        return ""  # the signature dataclasses write when there is no docstring
    para = doc.strip().split("\n\n", 1)[0]
    return rst_to_md(" ".join(line.strip() for line in para.splitlines()))


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= MAX_DEFAULT else text[: MAX_DEFAULT - 3] + "..."


def constant(value: object) -> str:
    """A constant's value, or the keys of a long mapping."""
    text = repr(value)
    if len(text) <= 100:
        return f"`{text}`"
    if isinstance(value, dict):
        return f"a `dict` with keys {', '.join(f'`{k}`' for k in value)}"
    return f"`{text[:97]}...`"


def _annotation(ann: object) -> str:
    if isinstance(ann, str):
        return ann  # postponed annotations are kept as written in the source
    if isinstance(ann, type):
        return ann.__name__
    return repr(ann).replace("typing.", "")


def signature(obj: object, *, method: bool = False) -> str:
    """``(params) -> return`` as written in the source, long default values shortened.

    ``method=True`` leaves out ``self`` / ``cls``; a class shows its constructor's parameters.
    """
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    parts = []
    star_done = False
    params = list(sig.parameters.values())
    if method and params and params[0].name in ("self", "cls"):
        params = params[1:]
    for p in params:
        if p.kind is p.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        if p.kind is p.VAR_POSITIONAL:
            star_done = True
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        text = prefix + p.name
        if p.annotation is not p.empty:
            text += f": {_annotation(p.annotation)}"
        if p.default is not p.empty:
            text += (" = " if p.annotation is not p.empty else "=") + _short(p.default)
        parts.append(text)
        if p.kind is p.POSITIONAL_ONLY and (p is params[-1] or params[params.index(p) + 1].kind
                                            is not p.POSITIONAL_ONLY):
            parts.append("/")
    out = "(" + ", ".join(parts) + ")"
    if not inspect.isclass(obj) and sig.return_annotation is not sig.empty:
        out += f" -> {_annotation(sig.return_annotation)}"
    return out


# --------------------------------------------------------------------------- introspection
def public_names(mod: ModuleType) -> list[str]:
    names = getattr(mod, "__all__", None)
    if names is not None:
        return [n for n in names if not n.startswith("__")]
    out = []
    for name, obj in vars(mod).items():
        if name.startswith("_") or isinstance(obj, ModuleType):
            continue
        if inspect.isclass(obj) or inspect.isfunction(obj):
            if getattr(obj, "__module__", None) == mod.__name__:
                out.append(name)
        elif name.isupper():
            out.append(name)
    return out


def home(obj: object, name: str, current: str) -> str:
    """The listed module in which ``obj`` is described in full.

    That is the listed module with the longest name that is, or contains, the module defining
    ``obj`` and that exports ``name``; ``current`` if there is none (constants included).
    """
    defined = getattr(obj, "__module__", None)
    if not (inspect.isclass(obj) or inspect.isroutine(obj)) or not defined:
        return current
    best = current
    for m in MODULES:
        if (defined == m or defined.startswith(m + ".")) and len(m) > len(best):
            if name in public_names(importlib.import_module(m)):
                best = m
    return best


def anchor(module: str) -> str:
    return module.replace(".", "")


def members(cls: type) -> list[tuple[str, object]]:
    """Public methods and properties defined by ``cls`` itself."""
    out = []
    for name, obj in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(obj, (staticmethod, classmethod)):
            out.append((name, obj.__func__))
        elif inspect.isfunction(obj) or isinstance(obj, property):
            out.append((name, obj))
    return out


# --------------------------------------------------------------------------- rendering
def render_class(name: str, cls: type) -> list[str]:
    import enum

    plain = issubclass(cls, (enum.Enum, BaseException)) or getattr(cls, "_is_protocol", False)
    lines = [f"#### class `{name}{'' if plain else signature(cls)}`", ""]
    doc = first_paragraph(cls)
    if doc:
        lines += [doc, ""]
    if issubclass(cls, Exception):
        lines += [f"An exception (subclass of `{cls.__mro__[1].__name__}`).", ""]
    if inspect.isclass(cls) and issubclass(cls, int) and hasattr(cls, "__members__"):
        codes = ", ".join(f"`{k}` = {int(v)}" for k, v in cls.__members__.items())
        lines += [f"Members: {codes}.", ""]
        return lines
    for mname, obj in members(cls):
        if isinstance(obj, property):
            text = first_paragraph(obj.fget) if obj.fget else ""
            lines.append(f"- property `{mname}`" + (f": {text}" if text else ""))
        else:
            text = first_paragraph(obj)
            kind = "classmethod " if isinstance(vars(cls)[mname], classmethod) else (
                "staticmethod " if isinstance(vars(cls)[mname], staticmethod) else "")
            sig = signature(obj, method=not kind.startswith("static"))
            lines.append(f"- {kind}`{mname}{sig}`" + (f": {text}" if text else ""))
    if lines[-1] != "":
        lines.append("")
    return lines


def render_module(modname: str) -> list[str]:
    mod = importlib.import_module(modname)
    lines = [f"## `{modname}`", ""]
    doc = first_paragraph(mod)
    if doc:
        lines += [doc, ""]
    refs, consts = [], []
    body: list[str] = []
    for name in public_names(mod):
        obj = getattr(mod, name)
        where = home(obj, name, modname)
        if where != modname:
            refs.append(f"[`{name}`](#{anchor(where)})")
            continue
        if inspect.isclass(obj):
            body += render_class(name, obj)
        elif inspect.isroutine(obj):
            body += [f"#### `{name}{signature(obj)}`", ""]
            text = first_paragraph(obj)
            if text:
                body += [text, ""]
        else:
            consts.append(f"- `{name}`: {constant(obj)}")
    if refs:
        lines += ["Also exported here (described in their own module): " + ", ".join(refs) + ".",
                  ""]
    if consts:
        lines += ["Constants:", "", *consts, ""]
    return lines + body


def render() -> str:
    import sibsim

    lines = [
        "# API reference",
        "",
        "<!-- Generated by docs/gen_api.py from the installed package; do not edit by hand. -->",
        "",
        f"sibsim {sibsim.__version__}. Generated by `python docs/gen_api.py` from the "
        "docstrings: for each public module, its public classes, functions and constants, with "
        "signatures and the first paragraph of each docstring (read the docstrings, e.g. "
        "`help(sibsim.simulate)`, for parameters and examples). The user guides are "
        "[index.md](index.md), [engine.md](engine.md), [scenario-format.md](scenario-format.md), "
        "[analysis.md](analysis.md), [money.md](money.md), [irr.md](irr.md) and "
        "[conventions.md](conventions.md).",
        "",
        "Modules:",
        "",
    ]
    lines += [f"- [`{m}`](#{anchor(m)})" for m in MODULES]
    lines.append("")
    for m in MODULES:
        lines += render_module(m)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write docs/api.md from sibsim's docstrings.")
    p.add_argument("--check", action="store_true",
                   help="do not write; exit 1 if docs/api.md differs from what would be written")
    p.add_argument("--out", type=Path, default=OUT, help=f"output file (default: {OUT})")
    args = p.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run python docs/gen_api.py", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
