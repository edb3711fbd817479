"""How the command modules hang together: the root assembles them, they never import it back,
and a command's help does not load the database stack."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import app.commands
from tests.conftest import ROOT

COMMAND_MODULES = sorted(
    f"app.commands.{m.name}" for m in pkgutil.iter_modules(app.commands.__path__)
)


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


def test_no_command_module_imports_the_root_command():
    imports = "\n".join(f"import {m}" for m in COMMAND_MODULES)
    assert "app.cli" not in loaded_after(imports)


def test_help_lists_the_commands_without_loading_the_database_stack():
    code = (
        "import sys\nsys.argv = ['paceboard', '--help']\nfrom app.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    loaded = loaded_after(code)
    assert "app.commands.imports" in loaded
    assert not {"sqlalchemy", "sqlmodel", "uvicorn", "app.main"} & loaded
