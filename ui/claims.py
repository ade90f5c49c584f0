"""The seed claims' views, for the Sweeps page and any page that shows a claim: the verdict table of the shipped
results, a reproduction's tables and figure, and a claim's section with its run controls and progress bar.

Tables are ``st.table``: static, their text wraps, so they fit a 390 px phone as well as a desktop (the command
line's text tables stay in ``engine.sweeps.claims.format_table``). Jobs run in ``engine.sweeps.background``; a
claim's section polls its own fragment while a reproduction of it runs.
"""

from __future__ import annotations

import streamlit as st

from engine.figures import SWEEP_CAPTIONS, claims_figure, verdicts_figure
from engine.sweeps import background as sweep_jobs
from engine.sweeps import claims, shipped_result, verdict_rows
from ui.figures import figure_with_caption
from ui.jobs import stop_polling
from ui.text import duration, escape_markdown


def verdict_table(known: dict[str, claims.Claim]) -> None:
    """The seed claims' shipped results at a glance (``verdicts_figure``), then as a static table that wraps its text,
    so it fits a phone (``verdict_rows``)."""
    shipped = {key: result.reproduction for key in known if (result := shipped_result(key)) is not None}
    figure_with_caption(verdicts_figure(known, shipped), SWEEP_CAPTIONS["verdicts"], key="sweeps.verdicts")
    st.table(verdict_rows(known), hide_index=True)
    st.caption("Each row compares two optimizers on one metric: the write-up's number (from one run) and ours (the "
               "mean ± 95% confidence interval over the seeds). The verdict is Welch's t-test at p < 0.05: the claim "
               "**holds**, is **contradicted**, or the two are **not distinguishable** with that many seeds. The "
               "clean metric never chooses an epoch by looking at the test set.")
    missing = [claim.source for key, claim in known.items() if shipped_result(key) is None]
    if missing:
        st.caption(escape_markdown(f"No shipped result yet for {', '.join(missing)}: their rows show the "
                                   "write-up's numbers only, never ours. Run a claim below to compute it here."))
    links = " · ".join(f"[{claim.source}](#claim-{key})" for key, claim in known.items())
    st.markdown(f"Open a claim to see its figure or re-run it: {links}")


def reproduction_result(claim: claims.Claim, result: claims.Reproduction, key: str) -> None:
    """A reproduction's tables (per mode; per comparison and metric) and its figure."""
    st.table(claims.mode_rows(claim, result), hide_index=True)
    st.table(claims.comparison_rows(result), hide_index=True)
    figure_with_caption(claims_figure(claim, result), SWEEP_CAPTIONS["claims"], key=key)


def _reproduction_text(state: str, quick: bool, progress: claims.ReproductionProgress | None) -> str:
    head = f"{state.capitalize()} ({'quick' if quick else 'full'})"
    if progress is None:
        return f"{head} · starting…"
    counts = f"{progress.done:,} of {progress.total:,} {progress.unit}" if progress.total else "starting"
    return f"{head} · stage {progress.stage} of 2, {progress.text} · {counts} · ETA {duration(progress.eta_seconds)}"


def claim_view(key: str, claim: claims.Claim, live: bool) -> None:
    """Run (quick or full) and stop buttons, the job's progress bar and the last saved result of claim ``key``."""
    if live and not (sweep_jobs.reproduction_running(key, True) or sweep_jobs.reproduction_running(key, False)):
        stop_polling()
    quick = st.session_state.setdefault(f"sweeps.claim.{key}.budget", "quick") == "quick"
    left, middle, right = st.columns([2, 1, 2], vertical_alignment="bottom")
    left.radio("budget", ("quick", "full"), key=f"sweeps.claim.{key}.budget", horizontal=True,
               help=f"quick: {claims.QUICK['trials']} trials of {claims.QUICK['tune_epochs']} epoch per mode, a "
               f"{claims.SMOKE_TEST} that gives no verdict; full: {claim.sweep.trials} trials of {claim.sweep.epochs} "
               f"epochs per mode, then {claim.epochs} epochs per seed, as the claim did (minutes to hours).")
    seeds = middle.number_input("seeds", 2, 100, 2 if quick else 10, key=f"sweeps.claim.{key}.seeds.{quick}")
    running = sweep_jobs.reproduction_running(key, quick)
    with right:
        if running:
            if st.button("Stop", icon=":material/stop:", key=f"sweeps.claim.{key}.stop", width="stretch",
                         help="Stops the reproduction within seconds; nothing is saved, the last saved result "
                         "stays."):
                sweep_jobs.stop_reproduction(key, quick)
                st.rerun()
        elif st.button("Run reproduction", icon=":material/play_arrow:", key=f"sweeps.claim.{key}.run",
                       width="stretch", type="primary"):
            try:
                sweep_jobs.start_reproduction(key, quick=quick, seeds=int(seeds))
            except ValueError as error:
                st.error(str(error), icon=":material/error:")
            else:
                st.rerun()
    state = sweep_jobs.reproduction_state(key, quick)
    if state is not None and state.running:
        progress = sweep_jobs.reproduction_progress(key, quick)
        st.progress(progress.fraction if progress else 0.0, text=_reproduction_text(state.state, quick, progress))
    elif state is not None and state.state == "failed":
        st.error(f"The reproduction failed: {state.error}", icon=":material/error:")
    result = claims.load_result(key, quick)
    if result is None:
        st.caption(f"No {'quick' if quick else 'full'} reproduction saved here yet: "
                   + ("its result appears here when it ends." if running else "press Run reproduction."))
        return
    st.markdown(f"**Your last {'quick' if quick else 'full'} reproduction** over seeds "
                f"{result.seeds[0]}..{result.seeds[-1]} (tuning {result.seconds['tuning']:.0f} s, evaluation "
                f"{result.seconds['evaluation']:.0f} s)" + (f": a {claims.SMOKE_TEST}, no verdict." if quick else ""))
    reproduction_result(claim.quick() if quick else claim, result, f"sweeps.claim.{key}.figure")


def claim_section(key: str, claim: claims.Claim, poll_seconds: float) -> None:
    """Claim ``key``: what it says and where from, its metrics, its shipped result, and its reproduction here
    (``claim_view``, polled every ``poll_seconds`` while one runs)."""
    metric, clean = claims.METRICS[claim.metric], claims.METRICS[claim.clean_metric]
    st.subheader(claim.title, anchor=f"claim-{key}")
    st.caption(escape_markdown(f"From {claim.source}. The write-up's metric: {metric.description}; the clean "
                               f"metric: {clean.description}."))
    st.markdown(escape_markdown(claim.statement))
    shipped = shipped_result(key)
    if shipped is None:
        st.caption("No shipped result for this claim yet.")
    else:
        versions = ", ".join(f"{name} {version}" for name, version in shipped.provenance.versions.items())
        st.markdown(f"**The shipped result**, computed {shipped.provenance.date}")
        st.caption(escape_markdown(f"Regenerate it with {shipped.provenance.command} ({versions})."))
        reproduction_result(claim, shipped.reproduction, f"sweeps.claim.{key}.shipped")
    busy = sweep_jobs.reproduction_running(key, True) or sweep_jobs.reproduction_running(key, False)
    st.fragment(claim_view, run_every=poll_seconds if busy else None)(key, claim, busy)
