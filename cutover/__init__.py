"""The cutover domain: signals, rollback triggers, waves, the cutover clock and action plans.

Pure Python: nothing here imports Textual or performs I/O, so the dashboard, the headless
commands and the tests all share one engine.
"""
