"""The web room: the Starlette app people use (review page, live feed, admin, REST API).

Other rooms never import it; the composition root (``reviewpulse.webserve``) builds the
app with ``web.app.create_app`` and serves it.
"""
