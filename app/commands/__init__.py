"""The sub-commands of ``paceboard``, one module per command group; app/cli.py assembles them.

Imports of the database stack (SQLAlchemy, through app.db, app.models, app.migrate and the
services) and of the web server sit inside the commands that use them: at module top they add
about a second to every ``paceboard --help`` and every command that never opens the database.
"""
