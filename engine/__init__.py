"""The headless engine, never importing streamlit, in parts from the bottom up: ``home`` (its files on disk), ``tasks``
(what a run is trained on), ``theory`` (AutoSGM in closed form), ``runs`` (specs, the runner, results),
``worker_main`` (a worker process's first code), ``jobs`` (background work), ``sweeps`` (studies and claims),
``figures`` (Plotly figures and exports) and ``cli`` (``python -m engine``). Each part imports only the ones before
it; import the part you need, e.g. ``from engine.runs import ComparisonSpec, run_comparison``."""
