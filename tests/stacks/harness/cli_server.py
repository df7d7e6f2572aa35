"""PHP's built-in web server (`php -S`), single worker as by default, production php.ini."""
from .phpini import scan_dir_env, write_php_ini
from .procs import Service, free_port
from .stack import WWW, Stack, make_tmp


def start(name: str = "cli", ini: dict | None = None) -> Stack:
    tmp = make_tmp(name)
    port = free_port()
    php_ini = write_php_ini(tmp, ini)
    server = Service("php-cli-server", ["php", "-c", php_ini, "-S", f"127.0.0.1:{port}", "-t", WWW], tmp,
                     env=scan_dir_env(tmp, "cli"))
    zlib = bool(ini and ini.get("zlib.output_compression") == "On")
    stack = Stack(name=name, port=port, tmp=tmp, services=[server], workers=1, zlib=zlib,
                  compresses_html=zlib)
    return stack.launch((server, ("127.0.0.1", port)))
