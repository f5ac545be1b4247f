"""The workspace as a Starlette application: server-rendered HTML forms, no JavaScript needed.

Routes
------
``GET /``                           the form (and the results of ``?run=TOKEN``)
``POST /run``                       run the form: ``mode=quick`` (2,000 draws, answered at once) or
                                    ``mode=full`` (the scenario's draws, a background job)
``GET /jobs/TOKEN``                 a full run's progress (``<progress>``, refreshed by ``<meta refresh>``)
``GET /runs/TOKEN/charts/KEY.png``  one chart of a run
``GET /runs/TOKEN/download/FILE``   ``report.html``, ``results.xlsx``, ``parameters.xlsx``, ``scenario.toml``
``POST /runs/TOKEN/save``           keep a run as a named variant (in memory)
``GET /compare?a=NAME&b=NAME``      two variants side by side
``POST /upload``                    an edited parameter workbook: checked cell by cell, then run

Every :class:`~roi_engine.errors.InputError` is shown in the page with where it is (for a workbook,
its cell); any other failure is a plain page saying so, with the traceback in the server's log only.
"""

from __future__ import annotations

import re
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from roi_engine.errors import InputError
from roi_engine.inputs.population import list_areas
from roi_engine.inputs.sharing_rule import RULES
from roi_engine.inputs.valuation import QALY_VALUE_PRESETS
from roi_engine.workspace.form import (
    FORM_FILE,
    PERSPECTIVES,
    QUICK_DRAWS,
    FormState,
    form_from_fields,
    form_from_scenario,
    located,
    scenario_data,
    toml_text,
)
from roi_engine.workspace.store import Run, Store, execute

TEMPLATES = Path(__file__).parent / "templates"
REPORT_CSS = Path(__file__).parent.parent / "outputs" / "templates" / "report.css"
MAX_UPLOAD_BYTES = 10 * 2**20
"""Largest request body ``/upload`` reads (a parameter workbook is tens of kilobytes)."""
UPLOAD_NAME = "upload.xlsx"
"""The one name an upload is saved under, inside its own temporary folder (never the sender's name)."""
_SAFE_NAME = re.compile(r"[^\w .()+-]")


class UploadTooLarge(Exception):
    pass


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2", "html"],
                                                                                       default=True),
                      undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["thousands"] = lambda n: f"{int(n):,}"
    return env


def shown_name(filename: str | None) -> str:
    """An uploaded file's name for display only: its last part, odd characters replaced, at most 80."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = _SAFE_NAME.sub("_", name).strip() or "the uploaded workbook"
    return name[:80]


def error_item(exc: InputError, *, data=None, file_label: str | None = None) -> dict:
    """An InputError as the page shows it: where (a form field or a workbook cell), what, what to do."""
    where = located(exc, data)
    file = None
    if file_label is not None and exc.file is not None and exc.file != FORM_FILE:
        file = file_label
    return {"file": file, "where": where or "", "message": _one_line(exc.message),
            "hint": _one_line(exc.hint or "")}


def _one_line(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)


class Workspace:
    """The starting scenario, the library it reads, and the store of runs."""

    def __init__(self, scenario_path: str | Path = "default") -> None:
        from roi_engine.inputs.excel import is_workbook, load_workbook_scenario, read_workbook
        from roi_engine.inputs.library import find_library, resolve_scenario
        from roi_engine.inputs.scenario import load_scenario
        from roi_engine.inputs.specs import read_toml

        self.path = resolve_scenario(scenario_path)
        self.store = Store()
        self.workbook_token = ""
        if is_workbook(self.path):  # as `roi-engine run BOOK.xlsx`: its Scenario sheet and parameters
            inputs = read_workbook(self.path)
            library = find_library(None, self.path.parent, Path.cwd())
            self.base = load_workbook_scenario(inputs, interventions_dir=library.interventions)
            self.data = dict(inputs.scenario_data, interventions_dir=str(library.interventions))
            self.workbook_token = self.store.add_upload(inputs, self.path.name)
        else:
            self.base = load_scenario(self.path)
            self.data = read_toml(self.path)
        self.form = form_from_scenario(self.base)
        self.areas = [str(a) for a in list_areas()]
        self.env = _environment()
        self.css = REPORT_CSS.read_text(encoding="utf-8") + (TEMPLATES / "workspace.css").read_text(
            encoding="utf-8")

    # --- building and running ------------------------------------------------------------------

    def scenario_for(self, form: FormState, base_data: dict, *, draws: int, workbook=None):
        """Validate ``form`` into a scenario through the CLI's loaders; returns (data, scenario, warnings)."""
        from roi_engine.inputs.scenario import ScenarioWarning, load_scenario_data

        try:
            data = scenario_data(form, base_data, self.base.sectors, draws=draws)
        except InputError as exc:
            raise FormError(exc, form) from None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ScenarioWarning)
            try:
                if workbook is None:
                    scenario = load_scenario_data(data, path=self.path)
                else:
                    scenario = self._with_workbook(data, workbook)
            except InputError as exc:
                raise FormError(exc, form, data) from None
        said = [str(w.message) for w in caught if issubclass(w.category, ScenarioWarning)]
        return data, scenario, said

    def _with_workbook(self, data: dict, workbook):
        """The form's scenario with an uploaded workbook's parameters (``run SCENARIO --params BOOK``)."""
        from roi_engine.inputs.excel import load_scenario_with_workbook

        folders = {"interventions_dir": str(Path(next(iter(self.base.library.paths.values()))).parent)}
        with tempfile.TemporaryDirectory(prefix="roi-engine-workspace-") as folder:
            path = Path(folder) / "scenario.toml"
            path.write_text(toml_text({**data, **folders}), encoding="utf-8")
            return load_scenario_with_workbook(path, workbook)

    def finish(self, form, data, scenario, said, workbook=None, workbook_name="", form_from_run=False,
               full_draws=None):
        def done(results, sharing, seconds, run_said):
            shown = form_from_scenario(scenario) if form_from_run else form
            if full_draws is not None:
                shown.full_draws = full_draws
            return self.store.add_run(form=shown, data=data, scenario=scenario, results=results,
                                      sharing=sharing, seconds=seconds, workbook=workbook,
                                      workbook_name=workbook_name, warnings=said + run_said)
        return done

    # --- pages -----------------------------------------------------------------------------------

    def render(self, name: str, status: int = 200, **context) -> HTMLResponse:
        context.setdefault("css", self.css)
        page = self.env.get_template(name).render(**context)
        return HTMLResponse(page, status_code=status)

    def page(self, request: Request, *, form: FormState | None = None, run: Run | None = None,
             errors=(), status: int = 200, upload_token: str = "", from_token: str = "") -> HTMLResponse:
        from roi_engine.workspace.views import page_context

        form = form or (run.form if run else self.form)
        workbook_name = ""
        if run is not None and run.workbook is not None:
            upload_token = upload_token or next(
                (t for t, (inputs, _n) in self.store.uploads.items() if inputs is run.workbook), "")
            workbook_name = run.workbook_name
        else:
            upload_token = upload_token or (self.workbook_token if run is None else "")
            found = self.store.upload(upload_token)
            workbook_name = found[1] if found else ""
        return self.render(
            "page.html.j2", status=status, form=form, run=run, result=page_context(run) if run else None,
            errors=list(errors), areas=self.areas, perspectives=PERSPECTIVES, rules=RULES,
            qaly_presets=QALY_VALUE_PRESETS, sectors=self.base.sectors.sectors, quick_draws=QUICK_DRAWS,
            variants=list(self.store.variants), upload_token=upload_token, workbook_name=workbook_name,
            from_token=from_token or (run.token if run else ""), base_name=self.base.spec.name,
            max_upload_mb=MAX_UPLOAD_BYTES // 2**20)


class FormError(Exception):
    """An InputError met while building the form's scenario, with the form as submitted."""

    def __init__(self, error: InputError, form: FormState, data=None, *, file_label=None, upload_token=""):
        super().__init__(error.render())
        self.error, self.form, self.data = error, form, data
        self.file_label, self.upload_token = file_label, upload_token


def create_app(scenario_path: str | Path = "default", *, allowed_hosts: list[str] | None = None) -> Starlette:
    """The workspace application for ``scenario_path``: a scenario TOML, a shipped scenario's name, or a
    parameter workbook with its Scenario sheet (its parameters are then used until unticked).

    ``allowed_hosts``: the ``Host`` headers answered (others get 400), so that a web page elsewhere
    cannot reach a workspace on this machine through a DNS name pointed at 127.0.0.1; ``None``
    answers any (the tests' client).
    """
    ws = Workspace(scenario_path)

    def index(request: Request) -> Response:
        token = request.query_params.get("run")
        run = ws.store.run(token) if token else None
        if token and run is None:
            return ws.page(request, errors=[{"file": None, "where": "run", "hint": "run it again",
                                             "message": "that run is no longer in this workspace's memory"}],
                           status=404)
        return ws.page(request, run=run)

    async def run_form(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        fields = await request.form(max_files=0, max_fields=2000)
        origin = ws.store.run(str(fields.get("from", ""))) or None
        template = origin.form if origin else ws.form
        form = form_from_fields(fields, fields.getlist, template)
        base_data = origin.data if origin else ws.data
        upload_token = str(fields.get("workbook", ""))
        upload = ws.store.upload(upload_token) if fields.get("use_workbook") else None
        workbook, workbook_name = (upload if upload else (None, ""))
        full = fields.get("mode") == "full"
        draws = form.full_draws if full else QUICK_DRAWS
        try:
            data, scenario, said = await run_in_threadpool(ws.scenario_for, form, base_data, draws=draws,
                                                           workbook=workbook)
        except FormError as exc:
            exc.upload_token = upload_token
            raise
        done = ws.finish(form, data, scenario, said, workbook, workbook_name)
        if full:
            job = ws.store.start_job(scenario, done)
            job.chunk = min(scenario.spec.chunk_size, scenario.spec.draws)
            return RedirectResponse(f"/jobs/{job.token}", status_code=303)
        run = done(*await run_in_threadpool(execute, scenario))
        return RedirectResponse(f"/?run={run.token}#results", status_code=303)

    def job_page(request: Request) -> Response:
        job = ws.store.job(request.path_params["token"])
        if job is None:
            raise HTTPException(404, "no such job in this workspace")
        if job.state == "done":
            return RedirectResponse(f"/?run={job.run_token}#results", status_code=303)
        error = error_item(job.error) if job.error is not None else None
        elapsed = time.perf_counter() - job.started
        return ws.render("job.html.j2", job=job, error=error, elapsed=elapsed, chunk=job.chunk,
                         status=200 if error is None else 400)

    def chart_png(request: Request) -> Response:
        from roi_engine.workspace.views import CHART_KEYS, chart

        run = _run_or_404(request)
        key = request.path_params["key"]
        if key not in CHART_KEYS:
            raise HTTPException(404, "no such chart")
        with run.lock:
            if key not in run.charts:
                run.charts[key] = chart(run.results, key)
        found = run.charts[key]
        if found is None:
            raise HTTPException(404, "this run has no such chart")
        return Response(found.png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    def download(request: Request) -> Response:
        run = _run_or_404(request)
        name = request.path_params["name"]
        makers = {"report.html": _report_html, "results.xlsx": _results_xlsx,
                  "parameters.xlsx": _parameters_xlsx, "scenario.toml": _scenario_toml}
        if name not in makers:
            raise HTTPException(404, "no such download")
        body, media = makers[name](run)
        filename = f"roi-engine-{run.scenario.area.code}-{run.results.info.draws}-draws-{name}"
        disposition = f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"
        return Response(body, media_type=media, headers={"Content-Disposition": disposition})

    async def save_variant(request: Request) -> Response:
        run = _run_or_404(request)
        fields = await request.form(max_files=0, max_fields=10)
        name = _one_line(str(fields.get("name", "")).strip())[:60] or f"Variant {len(ws.store.variants) + 1}"
        ws.store.save_variant(name, run)
        return RedirectResponse(f"/?run={run.token}#variants", status_code=303)

    def compare(request: Request) -> Response:
        from roi_engine.workspace.views import compare_rows

        a_name, b_name = request.query_params.get("a", ""), request.query_params.get("b", "")
        a, b = ws.store.variant(a_name), ws.store.variant(b_name)
        if a is None or b is None:
            missing = a_name if a is None else b_name
            raise InputError(f"no saved variant called '{missing}'", where="compare",
                             hint="save two runs as variants first, then pick them")
        return ws.render("compare.html.j2", a_name=a_name, b_name=b_name, a=a, b=b, rows=compare_rows(a, b),
                         variants=list(ws.store.variants))

    async def upload(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
            raise UploadTooLarge()
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_UPLOAD_BYTES:
                raise UploadTooLarge()
        whole = bytes(body)

        async def replay() -> dict:  # the counted body, parsed from memory; nothing has touched the disk
            return {"type": "http.request", "body": whole, "more_body": False}

        fields = await Request(request.scope, replay).form(max_files=1, max_fields=20)
        item = fields.get("workbook")
        if not isinstance(item, UploadFile):
            raise InputError("choose a workbook (.xlsx) to upload", where="upload")
        label = shown_name(item.filename)
        content = await item.read()
        await item.close()
        origin = ws.store.run(str(fields.get("from", ""))) or None
        return await run_in_threadpool(_run_upload, request, content, label, origin)

    def _run_upload(request, content: bytes, label: str, origin: Run | None) -> Response:
        from roi_engine.inputs.excel import load_workbook_scenario, read_workbook
        from roi_engine.inputs.scenario import ScenarioWarning

        form = origin.form if origin else ws.form
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ScenarioWarning)
            with tempfile.TemporaryDirectory(prefix="roi-engine-upload-") as folder:
                path = Path(folder) / UPLOAD_NAME
                path.write_bytes(content)
                try:
                    inputs = read_workbook(path)
                    if inputs.scenario_data is not None:
                        interventions = Path(next(iter(ws.base.library.paths.values()))).parent
                        scenario = load_workbook_scenario(inputs, interventions_dir=interventions)
                        data = dict(inputs.scenario_data)
                        full_draws = scenario.spec.draws
                        scenario = scenario.with_settings(draws=QUICK_DRAWS)
                        data["draws"] = QUICK_DRAWS
                    else:
                        data = None
                except InputError as exc:
                    raise FormError(exc, form, file_label=label) from None
        said = [_scrub(str(w.message), str(path), label) for w in caught
                if issubclass(w.category, ScenarioWarning)]
        token = ws.store.add_upload(inputs, label)
        if data is None:  # parameters only: the scenario on screen, with the workbook's parameters
            base_data = origin.data if origin else ws.data
            try:
                data, scenario, more = ws.scenario_for(form, base_data, draws=QUICK_DRAWS, workbook=inputs)
            except FormError as exc:
                exc.file_label, exc.upload_token = label, token
                raise
            said += more
            run = ws.finish(form, data, scenario, said, inputs, label)(*execute(scenario))
        else:
            run = ws.finish(form, data, scenario, said, inputs, label, form_from_run=True,
                            full_draws=full_draws)(*execute(scenario))
        return RedirectResponse(f"/?run={run.token}#results", status_code=303)

    def _run_or_404(request: Request) -> Run:
        run = ws.store.run(request.path_params["token"])
        if run is None:
            raise HTTPException(404, "that run is no longer in this workspace's memory")
        return run

    # --- error pages ---------------------------------------------------------------------------

    def on_form_error(request: Request, exc: FormError) -> Response:
        item = error_item(exc.error, data=exc.data, file_label=exc.file_label)
        return ws.page(request, form=exc.form, errors=[item], status=400, upload_token=exc.upload_token)

    def on_input_error(request: Request, exc: InputError) -> Response:
        return ws.page(request, errors=[error_item(exc)], status=400)

    def on_too_large(request: Request, exc: UploadTooLarge) -> Response:
        item = {"file": None, "where": "upload", "hint": "upload the parameter workbook itself (tens of KB)",
                "message": f"the upload is larger than {MAX_UPLOAD_BYTES // 2**20} MB"}
        return ws.page(request, errors=[item], status=413)

    def on_http(request: Request, exc: HTTPException) -> Response:
        title = "Not found" if exc.status_code == 404 else "Cannot do that"
        return ws.render("message.html.j2", status=exc.status_code, title=title, message=str(exc.detail))

    def on_unexpected(request: Request, exc: Exception) -> Response:
        traceback.print_exception(exc)
        return ws.render("message.html.j2", status=500, title="Something went wrong",
                         message="The workspace could not do that. Nothing was changed; the server's "
                                 "log has the details. Go back and try again.")

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/run", run_form, methods=["POST"]),
        Route("/jobs/{token}", job_page, methods=["GET"]),
        Route("/runs/{token}/charts/{key}.png", chart_png, methods=["GET"]),
        Route("/runs/{token}/download/{name}", download, methods=["GET"]),
        Route("/runs/{token}/save", save_variant, methods=["POST"]),
        Route("/compare", compare, methods=["GET"]),
        Route("/upload", upload, methods=["POST"]),
    ]
    handlers = {FormError: on_form_error, InputError: on_input_error, UploadTooLarge: on_too_large,
                HTTPException: on_http, Exception: on_unexpected}
    middleware = []
    if allowed_hosts is not None:
        from starlette.middleware import Middleware
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    app = Starlette(routes=routes, exception_handlers=handlers, middleware=middleware)
    app.state.workspace = ws
    return app


def _scrub(text: str, temp_path: str, label: str) -> str:
    """A message with the upload's temporary path replaced by the name the user knows it by."""
    return text.replace(temp_path, label)


# --- downloads -----------------------------------------------------------------------------------

def _report_html(run: Run) -> tuple[bytes, str]:
    from roi_engine.outputs.charts import build_charts
    from roi_engine.outputs.deprivation_charts import deprivation_charts
    from roi_engine.outputs.report import render_html

    charts = build_charts(run.results) + deprivation_charts(run.results)
    return render_html(run.results, run.sharing, charts).encode("utf-8"), "text/html; charset=utf-8"


def _results_xlsx(run: Run) -> tuple[bytes, str]:
    from roi_engine.outputs.workbook import write_results_workbook

    with tempfile.TemporaryDirectory(prefix="roi-engine-workspace-") as folder:
        path = write_results_workbook(Path(folder) / "results.xlsx", run.results, run.sharing)
        return path.read_bytes(), XLSX


def _parameters_xlsx(run: Run) -> tuple[bytes, str]:
    """The parameter workbook of the run on screen, as ``roi-engine params export --scenario`` writes it
    (with an uploaded workbook's parameters when the run used them)."""
    import pandas as pd

    from roi_engine.inputs.excel import export_workbook
    from roi_engine.inputs.parameters import SECTORS_FILE
    from roi_engine.inputs.sectors import COLUMNS as SECTOR_COLUMNS
    from roi_engine.workspace.form import parameters_folder

    with tempfile.TemporaryDirectory(prefix="roi-engine-workspace-") as folder:
        folder = Path(folder)
        if run.workbook is None:
            params_dir = parameters_folder(run.scenario)
        else:  # the uploaded workbook's tables, written as CSV for the exporter
            params_dir = folder / "parameters"
            params_dir.mkdir()
            inputs = run.workbook
            inputs.registry.to_frame().drop(columns="file").to_csv(params_dir / "workbook.csv", index=False)
            pd.DataFrame(
                [(s.name, s.label, "yes" if s.public_body else "no", "yes" if s.default_contributor else "no",
                  s.description) for s in inputs.sectors.sectors], columns=list(SECTOR_COLUMNS),
            ).to_csv(params_dir / SECTORS_FILE, index=False)
        path = export_workbook(folder / "parameters.xlsx", params_dir, run.scenario)
        return path.read_bytes(), XLSX


def _scenario_toml(run: Run) -> tuple[bytes, str]:
    from roi_engine.workspace.form import library_folders

    note = (f"Scenario from the roi-engine workspace: {run.results.info.draws:,} draws, seed "
            f"{run.results.info.seed}.\nRun it: roi-engine run THIS_FILE.toml")
    if run.workbook is not None:
        note += ("\nIts parameters came from an uploaded workbook: run it with --params WORKBOOK.xlsx "
                 "(the workspace's 'parameter workbook' download).")
    data = {**run.data, **library_folders(run.scenario)}
    return toml_text(data, comment=note).encode("utf-8"), "application/toml; charset=utf-8"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

__all__ = ["create_app", "Workspace", "MAX_UPLOAD_BYTES", "shown_name", "error_item"]

