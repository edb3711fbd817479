"""Sub-commands of ``paceboard`` kept out of app/cli.py: users and display links."""
