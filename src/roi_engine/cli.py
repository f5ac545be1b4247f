"""The ``roi-engine`` command line: parse, call the library, format. Nothing else lives here.

Bad input (an :class:`~roi_engine.errors.InputError`) prints one line on stderr and exits with code 2,
never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from tqdm import tqdm

from roi_engine.atomic import atomic_write_text
from roi_engine.errors import InputError
from roi_engine.outputs.formatting import format_areas, format_interventions, format_summary

EXIT_BAD_INPUT = 2
RESULT_FILES = ("summary.csv", "headline.csv", "by_sector.csv", "yearly.csv", "cumulative_net.csv",
                "outcomes.csv", "draws.csv", "run_info.txt", "cost_sharing.csv",
                "cumulative_net_by_sector.csv", "report.xlsx", "report.html",
                "charts/who_pays_who_gains.png", "charts/cumulative_net_cash_flow.png",
                "charts/benefit_per_pound_distribution.png")


class _Group(click.Group):
    """Turns InputError (and unreadable paths) into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            click.echo(f"roi-engine: error: {exc.render()}", err=True)
            ctx.exit(EXIT_BAD_INPUT)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="roi-engine")
def main() -> None:
    """Return on investment of mental-health prevention programmes, by sector, with uncertainty."""


draws_option = click.option("--draws", type=click.IntRange(min=1), default=None,
                            help="Monte Carlo draws (default: the scenario's).")
seed_option = click.option("--seed", type=click.IntRange(min=0), default=None,
                           help="Random seed (default: the scenario's). Same seed, same numbers.")
out_option = click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                          default=None, help="Folder for the results (default: results/<scenario name>).")
params_option = click.option(
    "--params", "params_source", type=click.Path(path_type=Path), default=None,
    help="Parameters from this workbook (.xlsx, see 'params export') or folder of CSV tables.")
library_option = click.option(
    "--library", "library_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
    show_default=True, help="Folder holding interventions/ (for a scenario given as a workbook).")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@draws_option
@seed_option
@out_option
@params_option
@library_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def run(scenario: Path, draws: int | None, seed: int | None, out_dir: Path | None,
        params_source: Path | None, library_dir: Path, quiet: bool) -> None:
    """Run SCENARIO (a TOML file, or a parameter workbook with its Scenario sheet) and write results.

    \b
    Examples:
        roi-engine run scenarios/default.toml --draws 20000 --seed 1 --out results/bham
        roi-engine run scenarios/default.toml --params my_params.xlsx
        roi-engine run my_params.xlsx --library .
    """
    from roi_engine.results import run as run_model

    loaded = _load(scenario, params_source, library_dir).with_settings(draws=draws, seed=seed)
    out_dir = out_dir or Path("results") / scenario.stem
    _refuse_to_overwrite_inputs(loaded, out_dir)
    total = loaded.spec.draws
    show = not quiet and total > loaded.spec.chunk_size
    with tqdm(total=total, unit="draw", disable=not show, file=sys.stderr, leave=False) as bar:
        results = run_model(loaded, progress=bar.update)
    from roi_engine.analyses.sharing import cost_sharing
    from roi_engine.outputs.formatting import format_cost_sharing

    sharing = cost_sharing(results, loaded.sharing)
    try:
        written = results.write_csv(out_dir)
        written += _write_reports(out_dir, loaded, results, sharing)
    except OSError as exc:
        raise InputError(f"cannot write results ({exc.strerror})", file=out_dir) from None
    click.echo(format_summary(results))
    click.echo("")
    click.echo(format_cost_sharing(sharing))
    click.echo(f"\nResults written to {out_dir}/ ({len(written)} files: "
               f"{', '.join(str(Path(p).relative_to(out_dir)) for p in written)})")
    click.echo(f"Open {out_dir / 'report.html'} in a browser, or {out_dir / 'report.xlsx'} in Excel.")


def _write_reports(out_dir: Path, loaded, results, sharing) -> list[Path]:
    """Cost-sharing tables, the results workbook and the HTML report (with any sensitivity results
    already in ``out_dir``); each file written to a temporary name and moved into place."""
    from roi_engine.analyses.sharing import cumulative_net_by_sector
    from roi_engine.outputs.report import intervention_names, write_report
    from roi_engine.outputs.sensitivity_sections import collect_sections
    from roi_engine.outputs.workbook import WORKBOOK_FILE, parameters_used, write_results_workbook

    used, names = parameters_used(loaded), intervention_names(loaded)
    sections = collect_sections(out_dir)
    written = [
        atomic_write_text(out_dir / "cost_sharing.csv", sharing.table.reset_index().to_csv(index=False)),
        atomic_write_text(out_dir / "cumulative_net_by_sector.csv",
                          cumulative_net_by_sector(results).to_csv()),
        write_results_workbook(out_dir / WORKBOOK_FILE, results, sharing, used,
                               intervention_names=names, sensitivity=sections),
    ]
    html_path, charts = write_report(out_dir, results, sharing, used, intervention_names=names,
                                     sensitivity=sections)
    return [*written, html_path, *charts]


def _load(scenario: Path, params_source: Path | None, library_dir: Path):
    """A scenario from a TOML or a workbook, with parameters from CSV tables or a workbook."""
    from roi_engine.inputs.excel import is_workbook, load_scenario_with_workbook, load_workbook_scenario
    from roi_engine.inputs.scenario import load_scenario

    if is_workbook(scenario):
        if params_source is not None:
            raise InputError("a workbook scenario carries its own parameters; drop --params",
                             file=scenario)
        return load_workbook_scenario(scenario, interventions_dir=library_dir / "interventions")
    if params_source is not None and is_workbook(params_source):
        return load_scenario_with_workbook(scenario, params_source)
    return load_scenario(scenario, parameters_dir=params_source)


def _refuse_to_overwrite_inputs(scenario, out_dir: Path, names=RESULT_FILES) -> None:
    inputs = {scenario.path.resolve()}
    inputs |= {Path(p.file).resolve() for p in scenario.registry.values()}
    inputs |= {p.resolve() for p in scenario.library.paths.values()}
    for name in names:
        target = (out_dir / name).resolve()
        if target in inputs:
            raise InputError("refusing to write results over an input file", file=target,
                             hint="choose another --out folder")


SENSITIVITY_METHODS = ("tornado", "switching", "sobol", "morris", "delta", "evppi")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--method", type=click.Choice(SENSITIVITY_METHODS), default="tornado", show_default=True)
@click.option("--output", "output_text", default=None,
              help="npv, benefit_per_pound or net:<sector>, optionally @<intervention> "
                   "(default: benefit_per_pound for tornado and switching, npv otherwise).")
@click.option("--n", "n_base", type=click.IntRange(min=8), default=1024, show_default=True,
              help="Sobol base sample size (a power of 2) or Morris trajectories.")
@draws_option
@seed_option
@out_option
@params_option
@library_option
def sensitivity(scenario: Path, method: str, output_text: str | None, n_base: int,
                draws: int | None, seed: int | None, out_dir: Path | None,
                params_source: Path | None, library_dir: Path) -> None:
    """Which assumptions the answer hangs on, and what better evidence would be worth.

    \b
    Examples:
        roi-engine sensitivity scenarios/default.toml --method tornado
        roi-engine sensitivity scenarios/default.toml --method sobol --n 1024 --output npv
        roi-engine sensitivity scenarios/default.toml --method evppi --draws 20000
    """
    from roi_engine.outputs.sensitivity_report import run_sensitivity

    loaded = _load(scenario, params_source, library_dir).with_settings(draws=draws, seed=seed)
    out_dir = out_dir or Path("results") / scenario.stem
    _refuse_to_overwrite_inputs(loaded, out_dir, (f"sensitivity_{method}.csv",))
    text, table = run_sensitivity(loaded, method, output_text=output_text, n_base=n_base,
                                  chart_dir=out_dir / "charts" if method == "tornado" else None)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = atomic_write_text(out_dir / f"sensitivity_{method}.csv", table.to_csv(index=False))
    except OSError as exc:
        raise InputError(f"cannot write results ({exc.strerror})", file=out_dir) from None
    click.echo(text)
    click.echo(f"\nTable written to {path}")
    if (out_dir / "report.xlsx").exists() or (out_dir / "report.html").exists():
        from roi_engine.analyses.sharing import cost_sharing
        from roi_engine.results import run as run_model

        results = run_model(loaded)  # same scenario, settings and seed: the same numbers as `run`
        _write_reports(out_dir, loaded, results, cost_sharing(results, loaded.sharing))
        click.echo(f"Added to {out_dir / 'report.xlsx'} (sheet 'Sensitivity') and "
                   f"{out_dir / 'report.html'} (section 'Which assumptions matter').")


@main.group()
def params() -> None:
    """Take every parameter into an Excel workbook, and check one before a run."""


@params.command("export")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The workbook to write (.xlsx).")
@click.option("--scenario", "scenario_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Fill the Scenario sheet from this scenario.")
@click.option("--params", "params_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder of CSV parameter tables (default: the scenario's, or ./parameters).")
@click.option("--force", is_flag=True, help="Replace the workbook if it exists.")
def params_export(out_path: Path, scenario_path: Path | None, params_dir: Path | None,
                  force: bool) -> None:
    """Write the parameter workbook: README, Scenario and one sheet per parameter table.

    \b
    Example:
        roi-engine params export --out birmingham.xlsx --scenario scenarios/default.toml
    """
    from roi_engine.inputs.excel import export_workbook
    from roi_engine.inputs.scenario import load_scenario

    scenario = load_scenario(scenario_path, parameters_dir=params_dir) if scenario_path else None
    if params_dir is None:
        params_dir = (scenario_path.parent / scenario.spec.parameters_dir) if scenario else Path("parameters")
    path = export_workbook(out_path, params_dir, scenario, overwrite=force)
    click.echo(f"Workbook written to {path}. Edit the yellow cells, then: roi-engine params check {path}")


@params.command("check")
@click.argument("workbook", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--library", "library_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True, help="Folder holding interventions/.")
def params_check(workbook: Path, library_dir: Path) -> None:
    """Check a parameter workbook cell by cell; print a summary, or the first problem and exit 2."""
    from roi_engine.inputs.excel import check_workbook

    click.echo(check_workbook(workbook, interventions_dir=library_dir / "interventions"))


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@params_option
@library_option
def check(scenario: Path, params_source: Path | None, library_dir: Path) -> None:
    """Read and check SCENARIO (TOML or workbook) and everything it refers to, without running it."""
    loaded = _load(scenario, params_source, library_dir)
    click.echo(f"{scenario}: OK ({len(loaded.interventions)} interventions, horizon {loaded.horizon}, "
               f"{len(loaded.registry)} parameters)")


@main.command()
@click.argument("query")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
def areas(query: str, limit: int) -> None:
    """Find English areas by name or ONS code (e.g. 'birmingham', 'E08000025')."""
    from roi_engine.inputs.population import search_areas

    found = search_areas(query, limit=limit)
    if not found:
        raise InputError(f"no area matches '{query}'",
                         hint="try part of a name, e.g. 'manchester', or a code like E08000025")
    click.echo(format_areas(found))


@main.command()
@click.option("--library", "library_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True,
              help="Folder holding interventions/ and parameters/.")
def interventions(library_dir: Path) -> None:
    """List the intervention library: life stage, target ages, cost per participant, price year."""
    from roi_engine.inputs.interventions import InterventionLibrary
    from roi_engine.inputs.parameters import SECTORS_FILE, ParameterRegistry
    from roi_engine.inputs.sectors import SectorTable

    params = library_dir / "parameters"
    registry = ParameterRegistry.from_dir(params)
    library = InterventionLibrary.from_dir(library_dir / "interventions", registry,
                                           SectorTable.from_csv(params / SECTORS_FILE))
    click.echo(format_interventions(library, registry))


@main.command()
@click.option("--library", "library_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True,
              help="Folder holding interventions/ and parameters/.")
@draws_option
def validation(library_dir: Path, draws: int | None) -> None:
    """Our benefit per £1 against the published LSE/PHE 2017 (and ESSENCE) headline figures."""
    from roi_engine.analyses.validation import markdown, validation_table

    click.echo(markdown(validation_table(library_dir, draws=draws or 2000)))


if __name__ == "__main__":  # pragma: no cover
    main()
