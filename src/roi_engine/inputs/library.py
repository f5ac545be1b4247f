"""Where the programme library is: a user's own folder, or the one shipped with roi-engine.

A *library* is a folder holding ``interventions/`` (programme TOMLs), ``parameters/`` (the parameter
tables and ``sectors.csv``) and usually ``scenarios/``. The repository's folders of those names are
the single source: the wheel maps them into the package as ``roi_engine/library/`` at build time
(``force-include`` in ``pyproject.toml``), so an installed roi-engine runs from any folder. In an
editable install (``pip install -e .``) there is no ``roi_engine/library/`` and the repository's
folders are read directly.

A user's folder always wins over the shipped library: ``--library FOLDER``, or (for a scenario file)
the folders its ``interventions_dir`` and ``parameters_dir`` name, which default to the ones beside
its ``scenarios/`` folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from roi_engine.errors import InputError

INTERVENTIONS = "interventions"
PARAMETERS = "parameters"
SCENARIOS = "scenarios"
SCENARIO_SUFFIX = ".toml"

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
_SHIPPED = _PACKAGE_DIR / "library"  # present in a wheel (force-include)
_REPOSITORY = _PACKAGE_DIR.parents[1]  # src/roi_engine -> the checkout, for an editable install


@dataclass(frozen=True)
class Library:
    """A programme library folder and where it came from.

    Attributes
    ----------
    root : Path
        The folder holding ``interventions/``, ``parameters/`` and ``scenarios/``.
    shipped : bool
        True for the library that comes with roi-engine (in the wheel, or the repository's folders in
        an editable install); False for a user's own folder.
    """

    root: Path
    shipped: bool

    @property
    def interventions(self) -> Path:
        return self.root / INTERVENTIONS

    @property
    def parameters(self) -> Path:
        return self.root / PARAMETERS

    @property
    def scenarios(self) -> Path:
        return self.root / SCENARIOS

    def describe(self) -> str:
        """One line for the terminal, e.g. ``/x/roi_engine/library (shipped with roi-engine 0.1.0)``."""
        if not self.shipped:
            return f"{self.root} (your library folder)"
        if self.root == _REPOSITORY.resolve():
            return f"{self.root} (roi-engine's own library, read from its source folders)"
        try:
            version = metadata.version("roi-engine")
        except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
            version = "unknown version"
        return f"{self.root} (shipped with roi-engine {version})"


def is_library(folder: str | Path) -> bool:
    """True when ``folder`` holds an ``interventions/`` folder."""
    return (Path(folder) / INTERVENTIONS).is_dir()


def shipped_library() -> Library:
    """The library that comes with roi-engine.

    Raises
    ------
    InputError
        If neither the packaged copy nor the repository's folders are present (a broken install).
    """
    for root in (_SHIPPED, _REPOSITORY):
        if is_library(root) and (root / PARAMETERS).is_dir():
            return Library(root.resolve(), shipped=True)
    raise InputError("the programme library shipped with roi-engine is missing", file=_SHIPPED,
                     hint="reinstall roi-engine, or give your own folder with --library")


def find_library(explicit: str | Path | None = None, *near: str | Path | None) -> Library:
    """The library to use: ``explicit`` if given, else the first of ``near`` holding a library, else
    the shipped one.

    Parameters
    ----------
    explicit : str or Path, optional
        A folder the user named (``--library``); it must hold ``interventions/``.
    *near : str or Path, optional
        Folders to try in order (e.g. the folder of the input file, the working folder).

    Raises
    ------
    InputError
        If ``explicit`` is given but holds no ``interventions/`` folder.
    """
    if explicit is not None:
        folder = Path(explicit)
        if not is_library(folder):
            raise InputError("no interventions/ folder here", file=folder,
                             hint="--library names a folder holding interventions/ and parameters/")
        return Library(folder.resolve(), shipped=_is_shipped(folder))
    for folder in near:
        if folder is not None and is_library(folder):
            return Library(Path(folder).resolve(), shipped=_is_shipped(Path(folder)))
    return shipped_library()


def library_of(interventions_dir: str | Path) -> Library:
    """The library an ``interventions/`` folder belongs to (for saying which one a run used)."""
    root = Path(interventions_dir).resolve().parent
    return Library(root, shipped=_is_shipped(root))


def shipped_scenarios() -> dict[str, Path]:
    """The shipped scenarios by name (file stem), e.g. ``{"default": .../scenarios/default.toml}``."""
    folder = shipped_library().scenarios
    return {p.stem: p for p in sorted(folder.glob(f"*{SCENARIO_SUFFIX}"))}


def resolve_scenario(given: str | Path) -> Path:
    """A scenario file as given, or a shipped scenario named by ``given``.

    ``given`` is used as it is when the file exists. Otherwise ``default``, ``default.toml`` and
    ``scenarios/default.toml`` all name the shipped ``scenarios/default.toml``, so the commands in the
    README work from any folder.

    Raises
    ------
    InputError
        If the file does not exist and no shipped scenario has that name (for a bare name, the hint
        lists the shipped ones).
    """
    path = Path(given)
    if path.exists():
        return path
    parts = path.parts
    shipped = shipped_scenarios()
    plain = len(parts) == 1 or (len(parts) == 2 and parts[0] == SCENARIOS)
    stem = path.stem if path.suffix in ("", SCENARIO_SUFFIX) else None
    if not plain:
        raise InputError("file not found", file=path)
    if stem in shipped:
        return shipped[stem]
    raise InputError("file not found", file=path,
                     hint=f"give a scenario file, or the name of a shipped scenario: {', '.join(shipped)}")


def _is_shipped(folder: Path) -> bool:
    resolved = folder.resolve()
    return any(resolved == root.resolve() for root in (_SHIPPED, _REPOSITORY))
