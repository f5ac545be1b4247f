"""Readable names: every shipped parameter has a label, and board-facing outputs show labels, not codes.

Codes (``cc_qaly_gain_per_participant_year``) stay where a user edits a file (the CSV tables, the
parameter workbook's ``name`` column, the sensitivity CSVs); the report, the results workbook, the
tornado chart and the terminal tables name a parameter by its ``label``.
"""

from __future__ import annotations

import csv
import re
from html.parser import HTMLParser

import openpyxl
import pytest
from click.testing import CliRunner

from roi_engine.cli import main
from roi_engine.inputs.excel import export_workbook
from roi_engine.inputs.library import shipped_library
from roi_engine.inputs.parameters import ParameterRegistry
from roi_engine.outputs.sensitivity_sections import collect_sections

CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")  # a lower_snake_case code such as toy_qaly_loss


def shipped_registry() -> ParameterRegistry:
    return ParameterRegistry.from_dir(shipped_library().parameters)


def test_every_shipped_parameter_has_its_own_label():
    registry = shipped_registry()
    assert len(registry) > 150
    missing = [name for name, p in registry.items() if not p.label.strip()]
    assert not missing, f"parameters without a label: {missing}"
    for name, p in registry.items():
        assert p.label != name and not CODE.fullmatch(p.label), (name, p.label)
        assert len(p.label) <= 100, (name, len(p.label))
    labels = [p.label for p in registry.values()]
    duplicated = sorted({x for x in labels if labels.count(x) > 1})
    assert not duplicated, f"labels used by more than one parameter: {duplicated}"


def test_the_parameter_workbook_carries_the_labels_and_reads_them_back(tmp_path):
    from roi_engine.inputs.excel import read_workbook

    library = shipped_library()
    path = export_workbook(tmp_path / "params.xlsx", library.parameters)
    book = openpyxl.load_workbook(path)
    ws = book["debt_advice"]
    headings = [c.value for c in ws[1]]
    name, label = headings.index("name") + 1, headings.index("label") + 1
    rows = {ws.cell(r, name).value: ws.cell(r, label).value for r in range(2, ws.max_row + 1)
            if ws.cell(r, name).value}
    assert rows["debt_cost_per_client"] == "Debt advice: cost per client advised"
    # a label is the user's to change: edited in the workbook, it is what the run reads
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, name).value == "debt_cost_per_client")
    ws.cell(row, label, "Cost of one debt-advice case")
    book.save(path)
    inputs = read_workbook(path)
    assert inputs.registry["debt_cost_per_client"].label == "Cost of one debt-advice case"


# --- the sensitivity section: labels in the table, the chart and the terminal ----------------------


def labelled_toy(toy_copy):
    """The toy library with a label column added to its parameter table (as a user would)."""
    table = toy_copy / "parameters" / "toy.csv"
    with table.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], [r for r in rows[1:] if r]
    labels = {r[0]: f"Toy input number {i}" for i, r in enumerate(body, start=1)}
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*header, "label"])
        for r in body:
            writer.writerow([*r, *[""] * (len(header) - len(r)), labels[r[0]]])
    return labels


class Sections(HTMLParser):
    """Text, headings and table captions inside the report's sensitivity section."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.inside = 0
        self.current: str | None = None
        self.text: list[str] = []
        self.headings: list[str] = []
        self.captions: list[str] = []
        self.row_heads: dict[str, list[str]] = {}
        self.table: str | None = None
        self.in_row_head = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and attrs.get("id") == "sensitivity":
            self.inside = 1
        elif tag == "section" and self.inside:
            self.inside += 1
        if not self.inside:
            return
        if tag in ("h2", "h3", "caption"):
            self.current = tag
            (self.headings if tag != "caption" else self.captions).append("")
        if tag == "table":
            self.table = attrs.get("id")
            self.row_heads[self.table] = []
        if tag == "th" and attrs.get("scope") == "row":
            self.in_row_head = True
            self.row_heads[self.table].append("")

    def handle_endtag(self, tag):
        if tag == "section" and self.inside:
            self.inside -= 1
        if tag in ("h2", "h3", "caption"):
            self.current = None
        if tag == "th":
            self.in_row_head = False

    def handle_data(self, data):
        if not self.inside:
            return
        self.text.append(data)
        if self.current == "caption":
            self.captions[-1] += data
        elif self.current:
            self.headings[-1] += data
        if self.in_row_head:
            self.row_heads[self.table][-1] += data


@pytest.fixture(scope="module")
def sensitivity_run(tmp_path_factory):
    from conftest import copy_toy

    toy = copy_toy(tmp_path_factory.mktemp("labels") / "toy")
    labels = labelled_toy(toy)
    out = toy.parent / "run"
    scenario = toy / "scenarios" / "toy.toml"
    runner = CliRunner()
    result = runner.invoke(main, ["run", str(scenario), "--draws", "200", "--out", str(out)])
    assert result.exit_code == 0, result.output
    terminal = {}
    for method, extra in (("tornado", []), ("sobol", ["--n", "16"])):
        result = runner.invoke(main, ["sensitivity", str(scenario), "--method", method, "--draws", "200",
                                      "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        terminal[method] = result.output
    return out, labels, terminal


def test_sensitivity_csv_keeps_the_code_beside_the_label(sensitivity_run):
    out, labels, _ = sensitivity_run
    with (out / "sensitivity_tornado.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(r["label"] == labels[r["parameter"]] for r in rows)


def test_terminal_tables_name_parameters_by_label(sensitivity_run):
    _, labels, terminal = sensitivity_run
    for method, text in terminal.items():
        table = text.split("parameter", 1)[1]
        assert "Toy input number" in table, method
        assert not [code for code in labels if re.search(rf"^{code}\b", table, re.M)], method


def test_report_sensitivity_section_shows_labels_without_raw_columns_or_repeated_headings(sensitivity_run):
    out, labels, _ = sensitivity_run
    page = Sections()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    text = " ".join(page.text)
    assert page.headings[0] == "Which assumptions matter"
    titles = page.headings[1:]
    assert titles == ["One-way sensitivity (tornado)", "Global sensitivity: Sobol indices"]
    assert not set(titles) & set(page.captions), (titles, page.captions)  # a heading said once
    assert len(set(page.headings)) == len(page.headings)
    for table in ("sensitivity-tornado", "sensitivity-sobol"):
        heads = page.row_heads[table]
        assert heads and set(heads) <= set(labels.values()), heads
    assert "_conf" not in text and "S1_conf" not in text
    assert not [code for code in labels if code in text], "a parameter code on the board's page"
    assert "±" in text  # the Sobol intervals, written the readable way


def test_results_workbook_sensitivity_sheet_shows_labels(sensitivity_run):
    out, labels, _ = sensitivity_run
    ws = openpyxl.load_workbook(out / "report.xlsx")["Sensitivity"]
    cells = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    assert "Toy input number 1" in cells or any(c.startswith("Toy input number") for c in cells)
    assert not [c for c in cells if "_conf" in c]
    assert not [code for code in labels if code in cells]
    sections = collect_sections(out)
    tornado = next(s for s in sections if s.method == "tornado")
    board = tornado.board_table(text=False)
    assert list(board["Parameter"]) == [labels[c] for c in tornado.table["parameter"].head(len(board))]


def test_tornado_chart_is_drawn_with_labels(sensitivity_run, monkeypatch):
    """The chart's tick labels are the parameters' labels (checked on the figure before it is saved)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from roi_engine.analyses.scalar_outputs import Output
    from roi_engine.outputs.sensitivity_report import tornado_chart

    out, labels, _ = sensitivity_run
    tornado = next(s for s in collect_sections(out) if s.method == "tornado")
    seen = []
    original = Figure.savefig

    def spy(self, *args, **kwargs):
        seen.extend(t.get_text() for ax in self.axes for t in ax.get_yticklabels())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    tornado_chart(tornado.table, Output("benefit_per_pound", "portfolio"), out / "t.png")
    assert seen and set(seen) <= set(labels.values()), seen
