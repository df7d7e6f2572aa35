"""Apache 2.4 with mod_php under mpm_prefork, and mod_deflate compressing event streams.

mod_deflate is switched on for text/event-stream on purpose: a stock Apache with it on would
buffer and gzip the stream, so the emitter has to opt out (`no-gzip`) and the tests prove it did.
"""
from .phpini import PHP_VERSION, scan_dir_env, write_php_ini
from .procs import Service, free_port
from .stack import WWW, Stack, make_tmp

MODULES = "/usr/lib/apache2/modules"
WORKERS = 3


def server_head(tmp, port: int, mpm: str) -> str:
    """What every Apache of these stacks shares: where it listens, runs and logs, its MPM and
    the modules both need."""
    return f"""\
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {tmp / 'apache.pid'}
DefaultRuntimeDir {tmp}
Mutex file:{tmp} default
ErrorLog {tmp / 'apache-error.log'}
LogLevel warn
User www-data
Group www-data

LoadModule {mpm}_module {MODULES}/mod_{mpm}.so
LoadModule authz_core_module {MODULES}/mod_authz_core.so
LoadModule mime_module {MODULES}/mod_mime.so
LoadModule dir_module {MODULES}/mod_dir.so
LoadModule filter_module {MODULES}/mod_filter.so
LoadModule deflate_module {MODULES}/mod_deflate.so
"""


def start(name: str = "apache", ini: dict | None = None) -> Stack:
    tmp = make_tmp(name)
    port = free_port()
    write_php_ini(tmp, ini)
    conf = tmp / "apache2.conf"
    conf.write_text(server_head(tmp, port, "mpm_prefork") + f"""\
LoadModule php_module {MODULES}/libphp{PHP_VERSION}.so

StartServers {WORKERS}
MinSpareServers {WORKERS}
MaxSpareServers {WORKERS}
MaxRequestWorkers {WORKERS}
ServerLimit {WORKERS}

LogFormat "%h \\"%r\\" %>s %B %Dus" timed
CustomLog {tmp / 'apache-access.log'} timed
TypesConfig /etc/mime.types
PHPIniDir {tmp}

DocumentRoot {WWW}
DirectoryIndex index.html
<Directory {WWW}>
    Require all granted
</Directory>
<FilesMatch "\\.php$">
    SetHandler application/x-httpd-php
</FilesMatch>
AddOutputFilterByType DEFLATE text/html text/plain text/event-stream
""")
    server = Service("apache2", ["apache2", "-f", conf, "-DFOREGROUND"], tmp,
                     env=scan_dir_env(tmp, "apache2"))
    stack = Stack(name=name, port=port, tmp=tmp, services=[server], workers=WORKERS,
                  zlib=bool(ini and ini.get("zlib.output_compression") == "On"), compresses_html=True)
    return stack.launch((server, ("127.0.0.1", port)))
