"""The headless engine: runs, tasks, telemetry, theory and figures, never importing streamlit."""
