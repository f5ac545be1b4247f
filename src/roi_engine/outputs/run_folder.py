"""A run folder: the saved cube, its manifest, the tables and the reports, whole or clearly not.

``run`` builds the folder under a hidden temporary name beside ``--out`` and moves it into place in one
step, so a killed or failed run never leaves a folder that looks complete; the manifest
(``run.json``) is written last, and ``report`` and ``sensitivity`` refuse a folder without one.

Contents: ``results.nc`` (the labelled cube, netCDF), ``run.json`` (scenario and input hashes, seed,
draws, sampling, package version, date, files), the tidy CSV tables, ``report.xlsx``, ``report.html`` and
``charts/*.png``; sensitivity results add ``sensitivity_<method>.csv``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from roi_engine.atomic import atomic_output, atomic_write_text
from roi_engine.errors import InputError
from roi_engine.outputs.background import background
from roi_engine.results.cube import CUBE_FILE, Results
from roi_engine.results.qaly_results import NICE_LOWER, at_qaly_value, nhs_cost_per_qaly
from roi_engine.results.summary import metric_unit

MANIFEST = "run.json"
DEPRIVATION_FILES = ("deprivation.csv", "deprivation_by_sector.csv", "deprivation_indices.csv",
                     "deprivation_ede_profile.csv")
TABLE_FILES = ("summary.csv", "headline.csv", "by_sector.csv", "yearly.csv", "cumulative_net.csv",
               "payback_by_year.csv", "outcomes.csv", "draws.csv", "parameters_used.csv", "run_info.txt",
               "at_qaly_value_20k.csv", "nhs_cost_per_qaly.csv", *DEPRIVATION_FILES)
REPORT_FILES = ("cost_sharing.csv", "cumulative_net_by_sector.csv", "report.xlsx", "report.html")
RESULT_FILES = (CUBE_FILE, MANIFEST, *TABLE_FILES, *REPORT_FILES, "charts")


# --- the manifest --------------------------------------------------------------------------------


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_files(scenario) -> list[Path]:
    """Every file a scenario's numbers come from: the scenario, its parameter tables, its programmes."""
    files = {Path(scenario.path).resolve()}
    files |= {Path(p.file).resolve() for p in scenario.registry.values() if p.file}
    files |= {Path(p).resolve() for p in scenario.library.paths.values()}
    return sorted(files)


def identity(scenario) -> dict:
    """What makes two runs the same run: input hashes, seed, draws, sampling."""
    spec = scenario.spec
    inputs = input_files(scenario)
    return {
        "scenario_sha256": file_hash(scenario.path),
        "inputs_sha256": hashlib.sha256("".join(file_hash(p) for p in inputs).encode()).hexdigest(),
        "seed": spec.seed, "draws": spec.draws, "sampling": spec.sampling, "horizon": spec.horizon,
        "perspective": spec.perspective,
    }


def manifest(scenario, files: list[str]) -> dict:
    from importlib.metadata import version

    return {
        "scenario": str(Path(scenario.path).resolve()), "scenario_name": scenario.spec.name,
        **identity(scenario),
        "inputs": [str(p) for p in input_files(scenario)],
        "package_version": version("roi-engine"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": sorted(files),
    }


def read_manifest(folder: Path) -> dict:
    """The manifest of a complete run folder, or one clear error."""
    path = folder / MANIFEST
    if not folder.is_dir():
        raise InputError("no such run folder", file=folder, hint="give the --out folder of a 'run'")
    if not path.is_file() or not (folder / CUBE_FILE).is_file():
        raise InputError("not a complete run folder (no run.json or results.nc)", file=folder,
                         hint="run 'roi-engine run SCENARIO --out FOLDER' again; an interrupted run "
                              "leaves no manifest")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError("the run manifest cannot be read", file=path,
                         hint="run the scenario again into a new folder") from None


def check_same_run(folder: Path, scenario) -> dict:
    """Refuse unless ``folder`` holds a run of ``scenario`` with the same inputs, seed and draws."""
    saved = read_manifest(folder)
    mine = identity(scenario)
    different = [k for k in ("scenario_sha256", "inputs_sha256", "seed", "draws", "sampling", "horizon",
                             "perspective") if saved.get(k) != mine[k]]
    if different:
        raise InputError(f"this folder holds another run ({', '.join(different)} differ)", file=folder,
                         hint="give --out a new folder, or the same --draws and --seed as that run")
    return saved


# --- where outputs may go ------------------------------------------------------------------------


def check_output_folder(out_dir: Path, scenario, overwrite: bool) -> None:
    """``out_dir`` may not be, contain or lie inside an input folder; another run needs --overwrite."""
    out = out_dir.resolve()
    files = input_files(scenario)
    for path in files:  # replacing the folder would delete an input
        if path.is_relative_to(out):
            raise InputError(f"the output folder holds an input file ({path.name})", file=out_dir,
                             hint="choose an --out folder that holds none of the run's inputs")
    scenario_file = Path(scenario.path).resolve()
    folders = {p.parent for p in files if p != scenario_file and p.suffix.lower() in (".csv", ".toml")}
    for inputs in sorted(folders):  # parameters/ and interventions/ hold inputs only
        if out.is_relative_to(inputs):
            raise InputError(f"the output folder lies inside the input folder {inputs}", file=out_dir,
                             hint="choose an --out folder outside the parameter and programme folders")
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("the output path is a file, not a folder", file=out_dir,
                         hint="choose another --out folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        ours = [name for name in RESULT_FILES if (out_dir / name).exists()]
        what = "another run's outputs" if ours else "other files"
        raise InputError(f"the output folder already holds {what}", file=out_dir,
                         hint="give --overwrite to replace it, or choose another --out folder")
    if out_dir.is_dir() and overwrite and any(out_dir.iterdir()):
        strangers = [p.name for p in out_dir.iterdir()
                     if p.name not in RESULT_FILES and not p.name.startswith("sensitivity_")]
        if strangers:
            raise InputError(f"the output folder holds files that are not run outputs ({strangers[0]})",
                             file=out_dir, hint="choose another --out folder; --overwrite replaces only "
                                                "a run folder")


@contextmanager
def staged_folder(out_dir: Path):
    """A hidden temporary folder beside ``out_dir``, moved into its place when the block ends well.

    On an error (or a kill) the temporary folder is removed (or left hidden) and ``out_dir`` is as
    it was: the old run whole, or nothing.
    """
    parent = out_dir.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=parent))
            os.replace(out_dir, old / "run")
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# --- writing ---------------------------------------------------------------------------------------


def write_tables(directory: Path, results: Results) -> list[Path]:
    """The tidy CSV tables and ``run_info.txt``; every table states its basis in its columns."""
    tables = {
        "summary.csv": results.tidy(),
        "headline.csv": results.headline().reset_index(),
        "by_sector.csv": pd.concat({e: results.by_sector(e) for e in results.entities},
                                   names=["entity"]).reset_index(),
        "yearly.csv": results.yearly(),
        "cumulative_net.csv": pd.concat([results.summary.cumulative_net_band(a, b)
                                         for a in ("all", "public") for b in ("perspective", "cash")]),
        "payback_by_year.csv": results.payback_by_year(),
        "outcomes.csv": results.outcomes(),
        "parameters_used.csv": (results.parameters if results.parameters is not None
                                else pd.DataFrame(columns=["name"])),
    }
    written = [atomic_write_text(directory / name, frame.to_csv(index=False))
               for name, frame in tables.items()]
    written.append(write_draws_csv(directory / "draws.csv", results))
    written.append(atomic_write_text(directory / "at_qaly_value_20k.csv",
                                     at_qaly_value(results, NICE_LOWER).reset_index().to_csv(index=False)))
    per_qaly = nhs_cost_per_qaly(results)
    if not per_qaly.empty:
        written.append(atomic_write_text(directory / "nhs_cost_per_qaly.csv",
                                         per_qaly.reset_index().to_csv(index=False)))
    written += write_deprivation_tables(directory, results)
    written.append(atomic_write_text(directory / "run_info.txt", "\n".join(results.info.lines()) + "\n"))
    return written


def write_deprivation_tables(directory: Path, results: Results) -> list[Path]:
    """The results by deprivation quintile, when the area is covered (none otherwise)."""
    from roi_engine.analyses.deprivation import deprivation_results

    d = deprivation_results(results)
    if d is None:
        return []
    tables = dict(zip(DEPRIVATION_FILES, (d.quintiles, d.by_sector, d.indices, d.ede_profile), strict=True))
    return [atomic_write_text(directory / name, frame.to_csv(index=False)) for name, frame in tables.items()
            if len(frame)]  # no Atkinson profile without baseline health by quintile


def draw_csv_format(unit: str) -> str:
    """How ``draws.csv`` writes a column of this unit: money to the penny, payback years as whole
    years, anything else (ratios) to 10 significant figures. ``results.nc`` holds every draw unrounded."""
    if unit == "GBP":
        return "%.2f"
    if unit.startswith("year"):
        return "%d"
    return "%.10g"


def write_draws_csv(path: Path, results: Results) -> Path:
    """``draws.csv``: one row per draw and entity, written block by block (bounded memory)."""
    import csv
    import io

    summary = results.summary
    formats = {c: draw_csv_format(metric_unit(c)) for c in summary.DRAW_COLUMNS}
    quoted = io.StringIO()
    csv.writer(quoted, lineterminator="\n").writerows([[e] for e in results.entities])
    entities = quoted.getvalue().splitlines()  # as csv quotes them (a name with a comma, say)
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(["draw", "entity", *summary.DRAW_COLUMNS]) + "\n")
        for draws, arrays in summary.draw_arrays():
            columns = [_csv_text(np.repeat(draws, len(entities)).astype(float), "%d"),
                       entities * len(draws)]
            columns += [_csv_text(arrays[c].ravel(), f) for c, f in formats.items()]
            handle.writelines(",".join(row) + "\n" for row in zip(*columns, strict=True))
    return path


def _csv_text(values: np.ndarray, fmt: str) -> list[str]:
    """``values`` as text in one C-level ``%`` call (float ``repr`` is three times slower); infinities
    written ``inf`` / ``-inf`` and NaN empty, as pandas reads them back."""
    finite = np.isfinite(values)
    text = ((fmt + "\n") * len(values) % tuple(np.where(finite, values, 0.0).tolist())).split("\n")[:-1]
    if finite.all():
        return text
    out = np.array(text, dtype=object)
    out[np.isnan(values)] = ""
    out[np.isposinf(values)] = "inf"
    out[np.isneginf(values)] = "-inf"
    return out.tolist()


def write_reports(directory: Path, results: Results, sensitivity=()) -> list[Path]:
    """Cost-sharing tables, the results workbook, the HTML report and its charts, from ``results``."""
    return [*write_sharing_and_workbook(directory, results, sensitivity),
            *write_page(directory, results, sensitivity)]


def write_sharing_and_workbook(directory: Path, results: Results, sensitivity=()) -> list[Path]:
    """``cost_sharing.csv``, ``cumulative_net_by_sector.csv`` and the results workbook."""
    from roi_engine.analyses.sharing import cost_sharing, cumulative_net_by_sector
    from roi_engine.outputs.workbook import WORKBOOK_FILE, write_results_workbook

    sharing = cost_sharing(results, results.sharing_rule)
    return [
        atomic_write_text(directory / "cost_sharing.csv", sharing.table.reset_index().to_csv(index=False)),
        atomic_write_text(directory / "cumulative_net_by_sector.csv",
                          cumulative_net_by_sector(results).to_csv()),
        write_results_workbook(directory / WORKBOOK_FILE, results, sharing, sensitivity=sensitivity),
    ]


def write_page(directory: Path, results: Results, sensitivity=()) -> list[Path]:
    """The HTML report and its charts."""
    from roi_engine.analyses.sharing import cost_sharing
    from roi_engine.outputs.report import write_report

    html_path, charts = write_report(directory, results, cost_sharing(results, results.sharing_rule),
                                     sensitivity=sensitivity)
    return [html_path, *charts]


def write_run(out_dir: Path, scenario, results: Results, *, overwrite: bool = False,
              step=lambda name: None) -> list[Path]:
    """Write a whole run folder (cube, tables, reports, manifest last) and move it into place."""
    check_output_folder(out_dir, scenario, overwrite)
    try:
        with staged_folder(out_dir) as tmp:
            _ = results.summary  # computed once, before the reports' process forks, for both
            with background(lambda: write_page(tmp, results)) as page:  # on the other core, if any
                written = [results.save(tmp)]
                step("tables")
                written += write_tables(tmp, results)
                step("reports")
                written += write_sharing_and_workbook(tmp, results)
                written += page.result()
            names = [str(p.relative_to(tmp)) for p in written]
            written.append(atomic_write_text(tmp / MANIFEST, json.dumps(manifest(scenario, names), indent=2)
                                             + "\n"))
            names.append(MANIFEST)
    except OSError as exc:
        raise InputError(f"cannot write results ({exc.strerror})", file=out_dir) from None
    return [out_dir / name for name in names]


def rerender(folder: Path) -> list[Path]:
    """Re-render the reports of a saved run from its cube (no model run); returns what was written."""
    from roi_engine.outputs.sensitivity_sections import collect_sections

    read_manifest(folder)
    try:
        results = Results.load(folder)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"the saved results cannot be read ({exc})", file=folder / CUBE_FILE,
                         hint="run the scenario again") from None
    try:
        return write_reports(folder, results, collect_sections(folder))
    except OSError as exc:
        raise InputError(f"cannot write the reports ({exc.strerror})", file=folder) from None


__all__ = ["write_run", "rerender", "check_same_run", "read_manifest", "check_output_folder", "identity",
           "MANIFEST", "RESULT_FILES"]
