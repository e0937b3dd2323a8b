"""Commented scenario templates for people who are not modellers.

``sibsim new --template child-welfare FILE.toml`` copies one of the TOML files beside this
module to ``FILE.toml``: a complete SIB scenario in which a council officer edits numbers, not
structure. Every number has a comment above it saying what it means in plain language and where
its default comes from ("Source: ..." for a published figure, e.g. Sitra's 2017 estimate of
EUR 130,000 a year for a child placed in care, or "Assumption: ..." where there is none).

Examples
--------
>>> from sibsim.templates import template_names, write_template
>>> template_names()
('child-welfare', 'elderly-care', 'employment', 'wellbeing-at-work', 'youth-justice')
>>> import tempfile, pathlib, sibsim
>>> path = pathlib.Path(tempfile.mkdtemp()) / "my-deal.toml"
>>> write_template("child-welfare", path).name
'my-deal.toml'
>>> sibsim.load_scenario(path).start_year
2027
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

__all__ = ["TemplateError", "describe_templates", "template_names", "template_text",
           "write_template"]


#: How a template's header names its own file; the written file's name replaces it.
RUN_HINT = "THIS-FILE.toml --draws 2000   (THIS-FILE: the name you gave it)"


class TemplateError(ValueError):
    """An unknown template, or an output file that cannot be written."""


def _root():
    return resources.files("sibsim") / "templates"


def template_names() -> tuple[str, ...]:
    """The names of the templates, sorted (the TOML files' stems)."""
    return tuple(sorted(Path(str(p)).stem for p in _root().iterdir()
                        if str(p).endswith(".toml")))


def template_text(name: str) -> str:
    """The text of template ``name``, comments included.

    Raises :class:`TemplateError` naming the templates when ``name`` is not one of them."""
    if name not in template_names():
        raise TemplateError(f"--template: got {name!r}; allowed: "
                            + ", ".join(template_names()))
    return (_root() / f"{name}.toml").read_text(encoding="utf-8")


def describe_templates() -> str:
    """One line per template: its name and its description (the ``description`` key, without
    the leading "Template: ")."""
    rows = []
    for name in template_names():
        desc = str(tomllib.loads(template_text(name)).get("description", ""))
        rows.append((name, desc.removeprefix("Template: ")))
    width = max(len(n) for n, _ in rows)
    return "\n".join(f"{n:<{width}}  {d}" for n, d in rows)


def write_template(name: str, path: str | Path, *, force: bool = False) -> Path:
    """Write template ``name`` to ``path`` (a ``.toml`` file) and return the path.

    The scenario's ``name`` key becomes the file's stem (and the header's "Run it" line names
    the file), so that ``sibsim run`` writes its
    results to ``results/<stem>.nc`` and two files made from one template do not collide. An
    existing file is kept unless ``force`` is true.
    """
    text = template_text(name)
    path = Path(path)
    if path.suffix.lower() != ".toml":
        raise TemplateError(f"FILE: got {str(path)!r}; allowed: a file name ending in .toml")
    if path.exists() and not path.is_file():
        raise TemplateError(f"FILE: {path} exists and is not a regular file; refusing to write "
                            "on it")
    if path.exists() and not force:
        raise TemplateError(f"FILE: {path} exists; refusing to overwrite it (use --force to "
                            "replace it)")
    stem = path.stem.replace("\\", "").replace('"', "")
    text = re.sub(r'(?m)^name = "[^"]*"', lambda _: f'name = "{stem}"', text, count=1)
    text = text.replace(RUN_HINT, f"{path.name} --draws 2000")
    from sibsim.dataset.io import atomic_output

    try:
        with atomic_output(path) as tmp:  # no half-written file, whatever stops the write
            Path(tmp).write_text(text, encoding="utf-8")
    except OSError as err:
        raise TemplateError(f"FILE: cannot write {path}: {err.strerror or err}") from err
    return path
