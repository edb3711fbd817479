"""A command's help does not load the database stack (tests/test_architecture.py holds the
command modules to the map: the root assembles them, they never import it back)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def test_help_lists_the_commands_without_loading_the_database_stack():
    code = (
        "import sys\nsys.argv = ['paceboard', '--help']\nfrom app.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    loaded = loaded_after(code)
    assert "app.commands.imports" in loaded
    assert not {"sqlalchemy", "sqlmodel", "uvicorn", "app.main"} & loaded
