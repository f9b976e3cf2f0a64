"""Sources: one module per backend, each delivering typed updates to the control room.

No module here imports Textual; the app runs each source in a worker and hands it a
`deliver` callback.
"""
