"""Print and screen layout of the results workbook's sheets: what a board pack needs from a spreadsheet.

:func:`set_print_layout` gives a sheet its page setup (A4 landscape, fit to one page wide, as many pages
tall as it takes, sensible margins), print titles (the table's heading rows repeat on every printed
page), a footer naming the sheet and the page, and frozen panes (the heading rows and the first
column(s) stay on screen while scrolling). :func:`axis_limits` sizes a chart's value axis to its data,
and :func:`plain_chart` removes what makes a small native chart unreadable (data labels over the bars,
an overlapping legend, category labels drawn over negative bars).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from openpyxl.chart.label import DataLabelList
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RegularTextRun
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break, RowBreak
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

PAPER_A4 = 9  # openpyxl's paperSize code for A4 (ECMA-376)
MARGINS = PageMargins(left=0.5, right=0.5, top=0.6, bottom=0.6, header=0.3, footer=0.3)
"""Inches: narrow side margins (a wide table gets the width), room for the footer."""
FOOTER = "&A, page &P of &N"
"""The sheet's name and the page: a printed page that falls out of the pack still says where it came from."""


def set_print_layout(ws: Worksheet, *, title_rows: tuple[int, int] | None, freeze: str | None,
                     break_before: Iterable[int] = ()) -> None:
    """Page setup, print titles, footer, frozen panes and manual page breaks for one sheet.

    Parameters
    ----------
    ws : Worksheet
    title_rows : (first, last) or None
        Rows repeated at the top of every printed page (a table's heading rows).
    freeze : str or None
        The top-left cell of the scrolling pane (``"B18"`` keeps rows 1-17 and column A on screen).
    break_before : iterable of int
        Rows that start a new printed page (a chart block that must not be cut).
    """
    setup = ws.page_setup
    setup.orientation = "landscape"
    setup.paperSize = PAPER_A4
    setup.fitToWidth = 1
    setup.fitToHeight = 0  # as many pages tall as it takes
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_margins = MARGINS
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = FOOTER
    ws.oddFooter.center.size = 8
    if title_rows is not None:
        ws.print_title_rows = f"{title_rows[0]}:{title_rows[1]}"
    if freeze is not None:
        ws.freeze_panes = freeze
    breaks = sorted(set(break_before))
    if breaks:
        ws.row_breaks = RowBreak()
        for row in breaks:
            ws.row_breaks.append(Break(id=row - 1))  # the break falls after row id


def axis_limits(values: Iterable[float], *, include_zero: bool = True, step: bool = False) -> tuple:
    """A value axis that fits the data: ``(low, high)`` (and the ``step`` between ticks when asked), the
    data's range (and zero) widened to a round step, about six steps in all.

    Non-finite and non-numeric values are ignored; with no finite value the axis is 0 to 1.
    """
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(float(v))]
    if not finite:
        return (0.0, 1.0, 0.2) if step else (0.0, 1.0)
    low, high = min(finite), max(finite)
    if include_zero:
        low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        pad = abs(high) or 1.0
        low, high = low - pad, high + pad
    size = _round_step((high - low) / 6)
    limits = (math.floor(low / size) * size, math.ceil(high / size) * size)
    return (*limits, size) if step else limits


def _round_step(raw: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten, at least ``raw``."""
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power  # pragma: no cover - the loop always returns


MILLIONS = '£#,##0,,"m";-£#,##0,,"m";£0'
"""Value-axis number format: pounds in millions (short tick labels that need no rotation)."""


def _text(size: int, bold: bool = False) -> RichText:
    props = CharacterProperties(sz=size, b=bold)
    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=props), endParaRPr=props)])


def chart_title(text: str, size: int = 1100) -> Title:
    """A chart title in ``size`` hundredths of a point (the default is 18 pt: too big for a half-page
    chart), not overlapping the plot."""
    props = CharacterProperties(sz=size, b=True)
    paragraph = Paragraph(pPr=ParagraphProperties(defRPr=props), r=[RegularTextRun(rPr=props, t=text)])
    return Title(tx=Text(rich=RichText(p=[paragraph])), overlay=False)


def plain_chart(chart, *, values: Iterable[float], bar: bool = False, title: str | None = None) -> None:
    """No data labels, the legend under the plot, axes shown, 9-point tick labels and the value axis
    sized to ``values`` in round steps (pounds in millions); for a bar chart, category labels at the low
    end so that they never sit on a negative bar."""
    if title is not None:
        chart.title = chart_title(title)
    chart.dataLabels = None
    for series in chart.series:
        series.dLbls = DataLabelList(showVal=False, showSerName=False, showCatName=False,
                                     showLegendKey=False, showPercent=False)
    chart.legend.position = "b"
    chart.legend.overlay = False
    for axis in (chart.x_axis, chart.y_axis):
        axis.delete = False  # openpyxl 3.1 writes <c:delete val="1"/> unless told, hiding the axes
    for axis in (chart.x_axis, chart.y_axis):
        axis.txPr = _text(900)
        if axis.title is not None:
            axis.title = chart_title(axis.title.tx.rich.p[0].r[0].t, 900)
    low, high, step = axis_limits(values, step=True)
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = low, high
    chart.y_axis.majorUnit = step
    chart.y_axis.number_format = MILLIONS
    if bar:
        chart.x_axis.tickLblPos = "low"
        chart.gapWidth = 60


__all__ = ["set_print_layout", "axis_limits", "plain_chart", "chart_title", "FOOTER", "PAPER_A4", "MILLIONS"]
