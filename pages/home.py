"""Home: what Optiscope is, a guided path through the lessons and every page (each with a picture of what it shows),
and every registered optimizer, once, with its hyperparameters."""

import streamlit as st

from engine.lessons import load_lessons
from optimizers import REGISTRY
from ui.cards import optimizer_cards, picture_card
from ui.navigation import PAGE_GUIDE, PAGES

st.title("Optiscope")
st.markdown("An interactive optimizer-dynamics explorer: pick optimizers and their hyperparameters, and watch what "
            "they do inside. Comparisons are honest: the same initial weights, the same batches, several seeds.")

st.header("Start with a lesson")
st.caption("Each lesson is a few steps: read, predict, then run it. Your answers stay in the link.")
lessons = load_lessons()
for row in range(0, len(lessons), 3):
    for column, lesson in zip(st.columns(3), lessons[row:row + 3], strict=False):
        with column:
            picture_card("pages/lessons.py", lesson.title, ":material/school:", lesson.summary,
                         picture=f"lesson_{lesson.key}", query_params={"lesson": lesson.key})

st.header("The explorer, page by page")
st.caption("In the order they build on each other; every page's settings live in its link.")
guide = [(file, title, icon) for file, title, icon, _ in PAGES if file in PAGE_GUIDE]
for row in range(0, len(guide), 4):
    for column, (file, title, icon) in zip(st.columns(4), guide[row:row + 4], strict=False):
        with column:
            picture_card(f"pages/{file}", title, icon, PAGE_GUIDE[file], picture=file.removesuffix(".py"))

st.header("Research optimizers")
st.caption("What the explorer exists to show: each with its one-line description and, folded, its hyperparameters.")
optimizer_cards([info for info in REGISTRY.values() if info.research])

st.header("Baselines")
st.caption("From torch.optim and torch.optim.lr_scheduler as they are, never re-implemented.")
optimizer_cards([info for info in REGISTRY.values() if not info.research])
