"""The ``roi-engine`` command line: parse, call the library, format. Nothing else lives here.

Bad input (an :class:`~roi_engine.errors.InputError`) prints one line on stderr and exits with code 2,
never a traceback.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click
from tqdm import tqdm

from roi_engine.atomic import atomic_write_text
from roi_engine.errors import InputError
from roi_engine.outputs.formatting import format_areas, format_interventions, format_summary

EXIT_BAD_INPUT = 2
tqdm.monitor_interval = 0  # no monitor thread: a run's reports fork from a one-thread process

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
    warnings.showwarning = _one_line_warning


_show_warning = warnings.showwarning


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A scenario warning as one line on stderr (``roi-engine: warning: ...``); others as usual."""
    from roi_engine.inputs.scenario import ScenarioWarning

    if issubclass(category, ScenarioWarning):
        click.echo(f"roi-engine: warning: {message}", err=True)
    else:
        _show_warning(message, category, filename, lineno, file, line)


draws_option = click.option("--draws", type=click.IntRange(min=1), default=None,
                            help="Monte Carlo draws (default: the scenario's).")
seed_option = click.option("--seed", type=click.IntRange(min=0), default=None,
                           help="Random seed (default: the scenario's). Same seed, same numbers.")
OUT_SUFFIX = {"run": "", "sensitivity": "-sensitivity", "optimise": "-optimise", "national": "-national"}
"""Each command's default folder: ``results/<scenario name><suffix>``."""


def out_option(command: str):
    """``--out``, its help naming the command's own default folder."""
    return click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help=f"Folder for the results (default: results/<scenario name>"
                             f"{OUT_SUFFIX[command]}).")


def default_out(scenario: Path, command: str) -> Path:
    return Path("results") / f"{scenario.stem}{OUT_SUFFIX[command]}"
params_option = click.option(
    "--params", "params_source", type=click.Path(path_type=Path), default=None,
    help="Parameters from this workbook (.xlsx, see 'params export') or folder of CSV tables.")
library_option = click.option(
    "--library", "library_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Your own library folder, holding interventions/ and parameters/ (default: the scenario's "
         "own folders; for a workbook, its folder or the working folder when they hold interventions/; "
         "else the library shipped with roi-engine).")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@draws_option
@seed_option
@out_option("run")
@params_option
@library_option
@click.option("--overwrite", is_flag=True, help="Replace an earlier run's folder given as --out.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def run(scenario: Path, draws: int | None, seed: int | None, out_dir: Path | None,
        params_source: Path | None, library_dir: Path | None, overwrite: bool, quiet: bool) -> None:
    """Run SCENARIO (a TOML file, a parameter workbook with its Scenario sheet, or the name of a
    shipped scenario such as 'default') and write results.

    \b
    Examples:
        roi-engine run default --draws 2000
        roi-engine run scenarios/default.toml --draws 20000 --seed 1 --out results/bham
        roi-engine run scenarios/default.toml --params my_params.xlsx
        roi-engine run my_params.xlsx --library .
    """
    from roi_engine.analyses.sharing import cost_sharing
    from roi_engine.outputs.formatting import format_cost_sharing
    from roi_engine.outputs.run_folder import check_output_folder, write_run
    from roi_engine.results import run as run_model

    loaded = _load(scenario, params_source, library_dir).with_settings(draws=draws, seed=seed)
    out_dir = out_dir or default_out(scenario, "run")
    check_output_folder(out_dir, loaded, overwrite)
    _refuse_what_would_not_fit(loaded)
    total = loaded.spec.draws
    extra = max(total // 5, 1)  # tables and reports, each about a fifth of the model's time
    show = not quiet and sys.stderr.isatty()
    with tqdm(total=total + 2 * extra, unit="draw", disable=not show, file=sys.stderr, leave=False,
              bar_format="{l_bar}{bar}| {percentage:3.0f}% {elapsed}<{remaining}") as bar:
        results = run_model(loaded, progress=bar.update)
        written = write_run(out_dir, loaded, results, overwrite=overwrite,
                            step=lambda name: bar.update(extra))
    click.echo(_library_line(loaded))
    click.echo(format_summary(results))
    click.echo("")
    click.echo(format_cost_sharing(cost_sharing(results, results.sharing_rule)))
    click.echo(f"\nResults written to {out_dir}/ ({len(written)} files: "
               f"{', '.join(str(p.relative_to(out_dir)) for p in written)})")
    click.echo(f"Open {out_dir / 'report.html'} in a browser, or {out_dir / 'report.xlsx'} in Excel. "
               f"Re-render them later with: roi-engine report {out_dir}")


def _refuse_what_would_not_fit(scenario) -> None:
    """One clear refusal, before any work, for a run that would not fit in this machine's memory or
    in the scratch folder its per-draw results are paged to."""
    import shutil

    from roi_engine.model.draw_store import scratch_folder
    from roi_engine.model.evaluation import Model
    from roi_engine.results.cube import available_memory_bytes, estimated_peak_bytes, estimated_scratch_bytes

    model, draws = Model(scenario), scenario.spec.draws
    need, have = estimated_peak_bytes(model, draws), available_memory_bytes()
    if have is not None and need > 0.8 * have:
        raise InputError(f"{draws:,} draws would need about {need / 2**30:.1f} GiB of memory; "
                         f"{have / 2**30:.1f} GiB is available", where="--draws",
                         hint="use fewer draws (10,000 to 50,000 give stable means and intervals)")
    folder = scratch_folder()
    disk, free = estimated_scratch_bytes(model, draws), None
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        pass
    if free is not None and disk > 0.9 * free:
        raise InputError(f"{draws:,} draws would need about {disk / 2**30:.1f} GiB of scratch space in "
                         f"{folder}; {free / 2**30:.1f} GiB is free", where="--draws",
                         hint="use fewer draws, or set ROI_ENGINE_SCRATCH to a folder with more space")


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
def report(run_dir: Path) -> None:
    """Re-render the HTML report, the results workbook and the charts of a saved run (no model run).

    \b
    Example:
        roi-engine report results/default
    """
    from roi_engine.outputs.run_folder import rerender

    written = rerender(run_dir)
    click.echo(f"Re-rendered {len(written)} files in {run_dir}/ from {run_dir / 'results.nc'}.")


def _load(scenario: Path, params_source: Path | None, library_dir: Path | None):
    """A scenario from a TOML, a workbook or a shipped scenario's name, with parameters from CSV
    tables or a workbook, and programmes from ``library_dir`` or as :func:`find_library` says."""
    from roi_engine.inputs.excel import is_workbook, load_scenario_with_workbook, load_workbook_scenario
    from roi_engine.inputs.library import find_library, resolve_scenario
    from roi_engine.inputs.scenario import load_scenario

    scenario = resolve_scenario(scenario)
    if is_workbook(scenario):
        if params_source is not None:
            raise InputError("a workbook scenario carries its own parameters; drop --params",
                             file=scenario)
        library = find_library(library_dir, scenario.parent, Path.cwd())
        return load_workbook_scenario(scenario, interventions_dir=library.interventions)
    if params_source is not None and is_workbook(params_source):
        return load_scenario_with_workbook(scenario, params_source)
    if library_dir is None:
        return load_scenario(scenario, parameters_dir=params_source)
    library = find_library(library_dir)
    return load_scenario(scenario, parameters_dir=params_source or library.parameters,
                         interventions_dir=library.interventions)


def _library_line(loaded) -> str:
    """``Library:      <folder> (where it came from)``, aligned with the settings block below it."""
    from roi_engine.inputs.library import library_of

    folder = next(iter(loaded.library.paths.values())).parent
    return f"{'Library:':<14}{library_of(folder).describe()}"


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
@out_option("sensitivity")
@params_option
@library_option
def sensitivity(scenario: Path, method: str, output_text: str | None, n_base: int,
                draws: int | None, seed: int | None, out_dir: Path | None,
                params_source: Path | None, library_dir: Path | None) -> None:
    """Which assumptions the answer hangs on, and what better evidence would be worth.

    \b
    Examples:
        roi-engine sensitivity scenarios/default.toml --method tornado
        roi-engine sensitivity scenarios/default.toml --method sobol --n 1024 --output npv
        roi-engine sensitivity scenarios/default.toml --method evppi --draws 20000
    """
    from roi_engine.outputs.run_folder import MANIFEST, check_output_folder, check_same_run, rerender
    from roi_engine.outputs.sensitivity_report import run_sensitivity

    loaded = _load(scenario, params_source, library_dir).with_settings(draws=draws, seed=seed)
    out_dir = out_dir or default_out(scenario, "sensitivity")
    into_run = (out_dir / MANIFEST).exists()
    if into_run:
        check_same_run(out_dir, loaded)  # refuses a folder holding another run
    elif out_dir.is_dir() and any(p for p in out_dir.iterdir()
                                  if not p.name.startswith(("sensitivity_", "charts"))):
        check_output_folder(out_dir, loaded, overwrite=False)
    else:
        check_output_folder(out_dir, loaded, overwrite=True)
    click.echo(_library_line(loaded))
    text, table = run_sensitivity(loaded, method, output_text=output_text, n_base=n_base,
                                  chart_dir=out_dir / "charts" if method == "tornado" else None)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = atomic_write_text(out_dir / f"sensitivity_{method}.csv", table.to_csv(index=False))
    except OSError as exc:
        raise InputError(f"cannot write results ({exc.strerror})", file=out_dir) from None
    click.echo(text)
    click.echo(f"\nTable written to {path}")
    if into_run:
        rerender(out_dir)  # the saved run's own numbers, with this section added
        click.echo(f"Added to {out_dir / 'report.xlsx'} (sheet 'Sensitivity') and "
                   f"{out_dir / 'report.html'} (section 'Which assumptions matter').")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--budget", "budgets", multiple=True, metavar="PAYER=GBP",
              help="A cap on the PV of a payer's expected costs over the horizon (a sector, 'public' or "
                   "'all'), e.g. --budget local_authority=2e6. Repeat for several payers.")
@click.option("--yearly-budget", "yearly_budgets", multiple=True, metavar="PAYER=GBP",
              help="A cap on a payer's expected undiscounted costs in each year, e.g. nhs=1e6.")
@click.option("--levels", "levels_text", default="0.25,0.5,0.75,1", show_default=True,
              help="Scale levels: multiples of each programme's reach in the scenario.")
@click.option("--levels-for", "levels_for", multiple=True, metavar="ID=L1,L2",
              help="Other levels for one programme, e.g. debt_advice=0.5,1,2.")
@click.option("--perspective", default=None,
              help="societal, economic, public_sector, or cash:SECTOR (default: the scenario's).")
@click.option("--alpha", type=float, default=None,
              help="Chance constraint: P(a payer's PV outlay exceeds its --budget) <= alpha.")
@click.option("--cash-return", "cash_returns", multiple=True, metavar="PAYER:YEARS=BETA",
              help="Chance constraint: P(the payer's cash gains repay its outlay within YEARS) >= BETA, "
                   "e.g. nhs:10=0.5.")
@click.option("--equity", type=float, default=None, metavar="RATIO",
              help="The most deprived fifth's share of the expected health gain is at least RATIO times "
                   "its share of residents (1: at least its population share).")
@click.option("--chance-draws", type=click.IntRange(min=10), default=500, show_default=True,
              help="Draws used for the chance constraints (sample-average approximation).")
@click.option("--must-fund", multiple=True, metavar="ID", help="A programme that must be funded.")
@click.option("--exclusive", multiple=True, metavar="ID,ID",
              help="Programmes of which at most one is funded.")
@click.option("--requires", multiple=True, metavar="ID:ID",
              help="A:B means A is funded only if B is.")
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True,
              help="Best additive portfolios re-evaluated exactly with overlap.")
@click.option("--per-draw", type=click.IntRange(min=1), default=300, show_default=True,
              help="Draws solved one by one for P(in optimal portfolio) and the EVPI.")
@click.option("--frontier-points", type=click.IntRange(min=2), default=21, show_default=True)
@click.option("--run-chosen", is_flag=True,
              help="Also run the chosen portfolio (optimise_chosen.toml) and write its full results "
                   "(report, workbook, tables) into OUT/chosen.")
@draws_option
@seed_option
@out_option("optimise")
@params_option
@library_option
def optimise(scenario: Path, budgets, yearly_budgets, levels_text, levels_for, perspective, alpha,
             cash_returns, equity, chance_draws, must_fund, exclusive, requires, top, per_draw,
             frontier_points, run_chosen, draws, seed, out_dir, params_source, library_dir) -> None:
    """Choose which programmes to fund, and at which scale, to maximise expected net benefit within
    budgets (docs/optimise.md).

    \b
    Examples:
        roi-engine optimise scenarios/default.toml --budget local_authority=5e6 --budget nhs=10e6
        roi-engine optimise default --budget public=15e6 --alpha 0.1 --must-fund kiva_anti_bullying
    """
    from roi_engine.analyses.optimise import Constraints, parse_budget, parse_cash_return, parse_levels
    from roi_engine.analyses.optimise import optimise as run_optimise
    from roi_engine.outputs.optimise_report import CHOSEN_SCENARIO, format_optimisation, write_optimisation

    levels = parse_levels(levels_text)
    by_programme = {}
    for text in levels_for:
        pid, sep, rest = text.partition("=")
        if not sep or not pid.strip():
            raise InputError(f"'{text}' is not ID=LEVELS", where="--levels-for",
                             hint="e.g. debt_advice=0.5,1,2")
        by_programme[pid.strip()] = parse_levels(rest, "--levels-for")
    pairs = []
    for text in requires:
        a, sep, b = text.partition(":")
        if not sep or not a.strip() or not b.strip():
            raise InputError(f"'{text}' is not A:B", where="--requires",
                             hint="e.g. debt_advice:workplace_wellbeing (A only if B)")
        pairs.append((a.strip(), b.strip()))
    constraints = Constraints(
        budgets=tuple(parse_budget(t) for t in budgets)
        + tuple(parse_budget(t, yearly=True, where="--yearly-budget") for t in yearly_budgets),
        alpha=alpha, must_fund=tuple(must_fund),
        exclusive=tuple(tuple(p.strip() for p in t.split(",") if p.strip()) for t in exclusive),
        requires=tuple(pairs), cash_returns=tuple(parse_cash_return(t) for t in cash_returns),
        equity=equity, chance_draws=chance_draws)
    loaded = _load(scenario, params_source, library_dir).with_settings(draws=draws, seed=seed)
    out_dir = out_dir or default_out(scenario, "optimise")
    result = run_optimise(loaded, constraints, levels=levels, levels_by_programme=by_programme,
                          perspective=perspective, top=top, per_draw=per_draw,
                          frontier_points=frontier_points)
    written = write_optimisation(out_dir, result)
    click.echo(_library_line(loaded))
    click.echo(format_optimisation(result))
    click.echo(f"\nTables written to {out_dir}/ ({', '.join(p.name for p in written)})")
    chosen = out_dir / CHOSEN_SCENARIO
    if run_chosen:
        if chosen not in written:
            raise InputError("the chosen portfolio cannot be written as a scenario (it funds nothing, "
                             "or the parameters come from a workbook)", where="--run-chosen")
        from roi_engine.inputs.scenario import load_scenario
        from roi_engine.outputs.run_folder import write_run
        from roi_engine.results import run as run_model

        portfolio = load_scenario(chosen)
        full = run_model(portfolio)
        files = write_run(out_dir / "chosen", portfolio, full, overwrite=True)
        click.echo("\nFull results of the chosen portfolio (its own run, same seed and draws; with fewer "
                   "programmes it samples fewer parameters, so its means differ from the optimiser's "
                   "by sampling noise):")
        click.echo(format_summary(full))
        click.echo(f"\nWritten to {out_dir / 'chosen'}/ ({len(files)} files)")
    elif chosen in written:
        click.echo(f"Full results of the chosen portfolio: roi-engine run {chosen} (or --run-chosen)")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--level", default="lower", show_default=True,
              help="lower (the 296 lower-tier authorities), upper (153 upper-tier) or region (9).")
@click.option("--areas", "areas_text", default=None, metavar="LIST",
              help="Only these areas (codes or names, comma-separated) instead of a whole level.")
@click.option("--no-local", is_flag=True,
              help="National parameters in every area (population scaling only).")
@click.option("--rank-by", "rank_by", default=None, metavar="KEY",
              help="Metric that orders the areas, e.g. npv:societal, net_cash:nhs (default: benefit per £1 "
                   "under the scenario's perspective).")
@click.option("--workbooks", is_flag=True, help="Also write each area's results workbook (a full run "
              "per area: slow for a whole level).")
@click.option("--workbooks-for", "workbooks_for", default=None, metavar="LIST",
              help="Write the results workbooks of these areas only (codes or names, comma-separated).")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Run the tasks on this Dask scheduler ('config': the address in Dask's configuration); "
                   "needs pip install 'roi-engine[dask]'. Default: here.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Run the tasks on a Dask cluster of this many processes on this machine; needs pip "
                   "install 'roi-engine[dask]'. Same numbers as here; faster only with cores to spare "
                   "(docs/national.md).")
@click.option("--area-block", type=click.IntRange(min=1), default=None, help="Areas per task.")
@click.option("--draw-block", type=click.IntRange(min=1), default=None, help="Draws per task.")
@draws_option
@seed_option
@out_option("national")
@params_option
@library_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def national(scenario: Path, level: str, areas_text: str | None, no_local: bool, rank_by: str | None,
             workbooks: bool, workbooks_for: str | None, scheduler: str | None, workers: int | None,
             area_block: int | None,
             draw_block: int | None, draws: int | None, seed: int | None, out_dir: Path | None,
             params_source: Path | None, library_dir: Path | None, quiet: bool) -> None:
    """Run SCENARIO for every area of a level (its population and local parameters, the same draws
    everywhere) and rank the areas (docs/national.md).

    \b
    Examples:
        roi-engine national scenarios/default.toml
        roi-engine national default --level upper --rank-by npv:societal --draws 2000
        roi-engine national default --workbooks-for Birmingham,Manchester
        roi-engine national default --workers 2
        roi-engine national default --scheduler tcp://10.0.0.5:8786
    """
    from roi_engine.analyses.national import check_metric_key, connect, local_cluster
    from roi_engine.analyses.national import national as run_national
    from roi_engine.inputs.area_inputs import areas_of_level, parse_area_list
    from roi_engine.outputs.national_report import (
        default_rank_key,
        format_national,
        write_area_workbooks,
        write_national,
    )

    chosen = parse_area_list(areas_text) if areas_text is not None else None
    candidates = chosen if chosen is not None else areas_of_level(level)  # bad input: before any work
    wanted = parse_area_list(workbooks_for, "--workbooks-for") if workbooks_for is not None else None
    outside = [a for a in wanted or () if a.code not in {c.code for c in candidates}]
    if outside:
        raise InputError(f"{outside[0]} is not one of the areas of this national run",
                         where="--workbooks-for",
                         hint="give areas of the level run (or list them with --areas)")
    loaded = _load(scenario, params_source, library_dir).with_settings(draws=draws, seed=seed)
    if rank_by is not None:
        check_metric_key(loaded, rank_by)
    out_dir = out_dir or default_out(scenario, "national")
    if scheduler and workers:
        raise InputError("--scheduler and --workers both choose where the tasks run", where="--workers",
                         hint="give one: --workers N for this machine, --scheduler for a cluster")
    client = connect(scheduler) if scheduler else local_cluster(workers) if workers else None
    show = not quiet and sys.stderr.isatty()
    try:
        with tqdm(total=(len(candidates) + (chosen is None)) * loaded.spec.draws, unit="row",
                  disable=not show,
                  file=sys.stderr, leave=False) as bar:
            results = run_national(loaded, level=level, areas=chosen, local=not no_local, client=client,
                                   area_block=area_block, draw_block=draw_block, progress=bar.update)
    finally:
        if client is not None:
            client.close()
            if workers:
                client.cluster.close()
    key = rank_by or default_rank_key(results)
    results.metric(key)
    written = write_national(out_dir, results, key)
    click.echo(_library_line(loaded))
    click.echo(format_national(results, key))
    if workbooks or wanted:
        areas = wanted if wanted is not None else list(results.areas)
        written += write_area_workbooks(out_dir, results, areas)
    click.echo(f"\nResults written to {out_dir}/ ({len(written)} files: "
               f"{', '.join(str(p.relative_to(out_dir)) for p in written[:6])}"
               f"{', ...' if len(written) > 6 else ''})")


@main.group()
def params() -> None:
    """Take every parameter into an Excel workbook, and check one before a run."""


@params.command("export")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The workbook to write (.xlsx).")
@click.option("--scenario", "scenario_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Fill the Scenario sheet from this scenario (a file, or a shipped "
                                 "scenario's name such as 'default').")
@click.option("--params", "params_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder of CSV parameter tables (default: the scenario's, else "
                                 "./parameters, else the library shipped with roi-engine).")
@click.option("--force", is_flag=True, help="Replace the workbook if it exists.")
def params_export(out_path: Path, scenario_path: Path | None, params_dir: Path | None,
                  force: bool) -> None:
    """Write the parameter workbook: README, Scenario and one sheet per parameter table.

    \b
    Example:
        roi-engine params export --out birmingham.xlsx --scenario scenarios/default.toml
    """
    from roi_engine.inputs.excel import export_workbook
    from roi_engine.inputs.library import find_library, resolve_scenario
    from roi_engine.inputs.scenario import load_scenario

    scenario = None
    if scenario_path is not None:
        scenario = load_scenario(resolve_scenario(scenario_path), parameters_dir=params_dir)
    if params_dir is None:
        params_dir = (Path(next(iter(scenario.registry.values())).file).parent.resolve() if scenario
                      else find_library(None, Path.cwd()).parameters)
    click.echo(f"Parameters from {params_dir}")
    path = export_workbook(out_path, params_dir, scenario, overwrite=force)
    click.echo(f"Workbook written to {path}. Edit the yellow cells, then: roi-engine params check {path}")


@params.command("check")
@click.argument("workbook", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--library", "library_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder holding interventions/ (default: the workbook's folder or the "
                                 "working folder when they hold one, else the shipped library).")
def params_check(workbook: Path, library_dir: Path | None) -> None:
    """Check a parameter workbook cell by cell; print a summary, or the first problem and exit 2."""
    from roi_engine.inputs.excel import check_workbook
    from roi_engine.inputs.library import find_library

    library = find_library(library_dir, workbook.parent, Path.cwd())
    click.echo(check_workbook(workbook, interventions_dir=library.interventions))


@main.command()
@click.argument("area")
@click.option("--programmes", default=None,
              help="Intervention ids, comma-separated (default: the default portfolio); "
                   "`roi-engine interventions` lists them.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The scenario file to write (.toml).")
@click.option("--library", "library_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Your own library folder (default: the working folder when it holds interventions/, "
                   "else the shipped library).")
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
def init(area: str, programmes: str | None, out_path: Path, library_dir: Path | None, force: bool) -> None:
    """Write a scenario for AREA (a name or ONS code), every setting commented.

    \b
    Examples:
        roi-engine init manchester --out manchester.toml
        roi-engine init E08000003 --programmes kiva_anti_bullying,debt_advice --out mcr.toml
    """
    from roi_engine.inputs.library import find_library
    from roi_engine.inputs.population import find_area, search_areas
    from roi_engine.inputs.scenario_template import scenario_text, write_scenario

    try:
        found = find_area(area)
    except InputError as exc:
        matches = search_areas(area, limit=6)
        if len(matches) != 1 or area.strip().lower() not in matches[0].name.lower():
            names = ", ".join(str(a) for a in matches[:5])
            raise InputError(exc.message, where="AREA",
                             hint=f"did you mean {names}? (`roi-engine areas {area}` lists them)" if names
                             else exc.hint) from None
        found = matches[0]
    chosen = [p.strip() for p in programmes.split(",") if p.strip()] if programmes else None
    library = find_library(library_dir, Path.cwd())
    path = write_scenario(out_path, scenario_text(found, library, chosen), overwrite=force)
    click.echo(f"Scenario for {found} written to {path}. Edit it, then: roi-engine run {path}")


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
    from roi_engine.inputs.boundaries import retired_code
    from roi_engine.inputs.population import search_areas

    found = search_areas(query, limit=limit)
    retired = retired_code(query)
    if not found and retired is not None:  # an old boundary code: name what replaced it
        raise InputError(retired.message())
    if not found:
        raise InputError(f"no area matches '{query}'",
                         hint="try part of a name, e.g. 'manchester', or a code like E08000025")
    click.echo(format_areas(found))


@main.command()
@click.option("--library", "library_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder holding interventions/ and parameters/ (default: the working "
                                 "folder when it holds them, else the shipped library).")
def interventions(library_dir: Path | None) -> None:
    """List the intervention library: life stage, target ages, cost per participant, price year."""
    from roi_engine.inputs.interventions import InterventionLibrary
    from roi_engine.inputs.library import find_library
    from roi_engine.inputs.parameters import SECTORS_FILE, ParameterRegistry
    from roi_engine.inputs.sectors import SectorTable

    found = find_library(library_dir, Path.cwd())
    params = found.parameters
    registry = ParameterRegistry.from_dir(params)
    library = InterventionLibrary.from_dir(found.interventions, registry,
                                           SectorTable.from_csv(params / SECTORS_FILE))
    click.echo(format_interventions(library, registry))


@main.command()
@click.option("--library", "library_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder holding interventions/ and parameters/ (default: the working "
                                 "folder when it holds them, else the shipped library).")
@draws_option
def validation(library_dir: Path | None, draws: int | None) -> None:
    """Our benefit per £1 against the published LSE/PHE 2017 (and ESSENCE) and 2011 DH headline figures."""
    from roi_engine.analyses.validation import markdown, validation_table
    from roi_engine.inputs.library import find_library

    root = find_library(library_dir, Path.cwd()).root
    click.echo(markdown(validation_table(root, draws=draws or 2000)))
    from roi_engine.analyses.validation_2011 import markdown_2011, validation_table_2011

    click.echo("")
    click.echo(markdown_2011(validation_table_2011(root, draws=draws or 2000)))




@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The workbook to write (default: results/<scenario name>/audit.xlsx).")
@params_option
@library_option
def audit(scenario: Path, out_path: Path | None, params_source: Path | None, library_dir: Path) -> None:
    """Write the base case as live Excel formulas an auditor can trace (docs/audit.md).

    \b
    Example:
        roi-engine audit scenarios/default.toml --out audit.xlsx
    """
    from roi_engine.outputs.audit import write_audit_workbook

    loaded = _load(scenario, params_source, library_dir)
    out_path = out_path or Path("results") / scenario.stem / "audit.xlsx"
    if out_path.suffix.lower() != ".xlsx":
        raise InputError("the audit workbook must be an .xlsx file", file=out_path,
                         hint="give --out a name ending in .xlsx")
    from roi_engine.outputs.run_folder import input_files

    if out_path.resolve() in input_files(loaded):
        raise InputError("refusing to write the audit workbook over an input file", file=out_path,
                         hint="choose another --out")
    try:
        path = write_audit_workbook(out_path, loaded)
    except OSError as exc:
        raise InputError(f"cannot write the audit workbook ({exc.strerror})", file=out_path) from None
    click.echo(f"Audit workbook written to {path}")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path), default="default")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback lets other machines reach the workspace.")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8765, show_default=True,
              help="Port to listen on (0: any free port).")
def serve(scenario: Path, host: str, port: int) -> None:
    """Start the commissioner's workspace in the browser, from SCENARIO (a TOML, a parameter workbook with
    its Scenario sheet, or a shipped scenario's name; default: 'default').

    \b
    Examples:
        roi-engine serve
        roi-engine serve scenarios/manchester.toml --port 8080
    """
    try:
        from roi_engine.workspace.app import create_app
        from roi_engine.workspace.server import free_port, is_loopback, url_of
        from roi_engine.workspace.server import serve as run_server
    except ImportError as exc:
        raise InputError(f"the workspace needs the 'web' extra ({exc.name} is not installed)",
                         where="serve", hint="pip install 'roi-engine[web]'") from None
    loopback = is_loopback(host)
    app = create_app(scenario, allowed_hosts=["127.0.0.1", "localhost", "[::1]", "::1"] if loopback else None)
    if not loopback:
        click.echo(f"roi-engine: warning: listening on {host}: other machines on the network can open the "
                   "workspace and run models on this computer; it has no log-in. Use the default "
                   "127.0.0.1 unless you mean it.", err=True)
    port = port or free_port(host if ":" not in host else "::1")
    click.echo(f"Workspace for '{app.state.workspace.base.spec.name}' at {url_of(host, port)} "
               "(Ctrl+C stops it)")
    run_server(app, host, port)


if __name__ == "__main__":  # pragma: no cover
    main()
