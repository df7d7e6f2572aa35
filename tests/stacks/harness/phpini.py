"""php.ini files for the stacks: Debian's production defaults plus the extension, nothing else.

Production matters: its `output_buffering = 4096` is what makes naive SSE code batch events.
Later lines win in php.ini, so variants are appended after the production text.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

# The PHP under test is the `php` on PATH (8.2 on the machine, 8.4 inside scripts/php-root.sh's
# root); Debian's paths and binaries carry its major.minor version.
PHP_VERSION = subprocess.run(["php", "-n", "-r", 'echo PHP_MAJOR_VERSION, ".", PHP_MINOR_VERSION;'],
                             capture_output=True, text=True, check=True).stdout
PRODUCTION_INI = Path(f"/usr/lib/php/{PHP_VERSION}/php.ini-production")
SYSTEM_CONF_D = Path(f"/etc/php/{PHP_VERSION}")
LOADS_SSE = re.compile(r"""^\s*extension\s*=\s*["']?(?:[^\n"']*/)?(?:lib)?sse(?:\.so)?["']?\s*$""", re.MULTILINE)
REPO = Path(__file__).resolve().parents[3]


def installed_version(autoload: str, constant: str) -> str:
    """A framework's version `constant` as the PHP under test finds it through its Debian
    package's `autoload` file ('' when it finds none)."""
    code = f'if (stream_resolve_include_path("{autoload}")) {{ require "{autoload}"; echo {constant}; }}'
    return subprocess.run(["php", "-n", "-r", code], capture_output=True, text=True, check=False).stdout.strip()


def extension_path() -> Path:
    return Path(os.environ.get("SSE_EXT") or REPO / "target/release/libsse.so").resolve()


def load_line() -> str:
    """How the implementation under test is loaded.

    A `.php` path is loaded with auto_prepend_file instead: that lets this suite be pointed at a
    plain-PHP implementation of the same API, which is how the harness itself was checked.
    """
    ext = extension_path()
    if ext.suffix == ".php":
        return f"auto_prepend_file = {ext}"
    return f"extension = {ext}"


def write_php_ini(directory: Path, extra: dict | None = None, extension: bool = True) -> Path:
    """Writes directory/php.ini and returns its path. PHP's own log goes to directory/php_errors.log.

    `extension=False` leaves the implementation out, as a PHP that was never told to load it.
    """
    lines = [
        PRODUCTION_INI.read_text(),
        "; --- ext-sse test stack ---",
        load_line() if extension else "; the extension is not loaded",
        f"error_log = {directory / 'php_errors.log'}",
        # Each stack is a machine of its own: its Redis relay in its own directory, as each
        # machine has its own /dev/shm (not one directory that every stack of the run shares).
        f"sse.relay_dir = {directory / 'relay'}",
    ]
    lines += [f"{key} = {value}" for key, value in (extra or {}).items()]
    path = directory / "php.ini"
    path.write_text("\n".join(lines) + "\n")
    return path


def scan_dir_env(directory: Path, sapi: str) -> dict:
    """The environment that gives PHP Debian's conf.d for `sapi` (cli, fpm, apache2) minus any
    system-wide install of this extension, so the build under test is the only one loaded.
    """
    conf_d = directory / "conf.d"
    conf_d.mkdir()
    for ini in sorted((SYSTEM_CONF_D / sapi / "conf.d").glob("*.ini")):
        if not LOADS_SSE.search(ini.read_text(errors="replace")):
            shutil.copyfile(ini, conf_d / ini.name)
    return {"PHP_INI_SCAN_DIR": str(conf_d)}
