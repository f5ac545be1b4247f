"""The commissioner's workspace: ``roi-engine serve [SCENARIO]``, a local web page over the same library.

It sits at the top of the layers, beside the command line: it builds scenarios through the same
validation as the CLI (:func:`roi_engine.inputs.scenario.load_scenario_data`, the defused workbook
reader), runs them through :func:`roi_engine.results.cube.run` and shows them with the report's own
pieces (:mod:`roi_engine.outputs.report`, :mod:`roi_engine.outputs.charts`). Nothing below imports it.

Modules: :mod:`.form` (form fields to and from scenario data, TOML text), :mod:`.store` (runs, saved
variants and background jobs held in memory), :mod:`.views` (page context from a run), :mod:`.app`
(the Starlette application), :mod:`.server` (uvicorn). See ``docs/workspace.md``.
"""
