"""Streamlit presentation helpers shared by app.py and the pages.

Importing this package, as every page does through one of its modules, leaves Streamlit's legacy ``pages/`` mode on a
fresh server's first script run (``ui.navigation.leave_legacy_navigation``)."""

from ui.navigation import leave_legacy_navigation

leave_legacy_navigation()
