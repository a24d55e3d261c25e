"""`qa serve`: the FastAPI app, its routes, the shared ASR worker, the console and the review workbench.

The server owns sockets, admission control, the ASR thread and the console hub; each live call is
a `live.session.LiveSession` that knows nothing of the network.

May import everything below it: `live`, `rules`, `report`, `store`, …; nothing imports it but `cli`.
"""
