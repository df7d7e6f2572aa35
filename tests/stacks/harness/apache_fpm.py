"""Apache 2.4 (mpm_event) in front of php-fpm through mod_proxy_fcgi, as Debian's
conf-available/php8.x-fpm.conf sets it up, with mod_deflate on for Debian's default types.

Unlike mod_php, PHP cannot reach Apache's environment here (no apache_setenv()), so nothing
the emitter sends keeps mod_deflate off a stream: `deflate_event_stream=True` shows what
happens when an admin's DEFLATE list includes text/event-stream (test_deployment.py).
"""
from . import fpm
from .apache import MODULES, server_head
from .procs import Service, free_port
from .stack import WWW, Stack, make_tmp



# Debian's mods-available/deflate.conf.
DEBIAN_DEFLATE_TYPES = ("text/html text/plain text/xml text/css text/javascript application/x-javascript "
                        "application/javascript application/ecmascript application/rss+xml "
                        "application/wasm application/xml")


def start(name: str = "apache-fpm", ini: dict | None = None, deflate_event_stream: bool = False,
          flushpackets: bool = True) -> Stack:
    tmp = make_tmp(name)
    port = free_port()
    fpm_svc, sock = fpm.service(tmp, ini)
    # mod_proxy_fcgi collects the backend's output before passing it on unless told to flush.
    flush = f'<Proxy "unix:{sock}|fcgi://localhost">\n    ProxySet flushpackets=on\n</Proxy>' if flushpackets else ""
    conf = tmp / "apache2.conf"
    conf.write_text(server_head(tmp, port, "mpm_event") + f"""\
LoadModule proxy_module {MODULES}/mod_proxy.so
LoadModule proxy_fcgi_module {MODULES}/mod_proxy_fcgi.so

LogFormat "%h \\"%r\\" %>s %B %Dus" timed
CustomLog {tmp / 'apache-access.log'} timed
TypesConfig /etc/mime.types

DocumentRoot {WWW}
DirectoryIndex index.html
<Directory {WWW}>
    Require all granted
</Directory>
<FilesMatch ".+\\.php$">
    SetHandler "proxy:unix:{sock}|fcgi://localhost"
</FilesMatch>
{flush}
AddOutputFilterByType DEFLATE {DEBIAN_DEFLATE_TYPES}{" text/event-stream" if deflate_event_stream else ""}
""")
    stack = Stack(name=name, port=port, tmp=tmp, services=[fpm_svc], workers=fpm.CHILDREN,
                  ends_response_at_close=True,
                  # Apache keeps the FastCGI connection until its own write to the client fails.
                  sees_hangup_without_write=False, heartbeats_to_notice=1, compresses_html=True,
                  zlib=bool(ini and ini.get("zlib.output_compression") == "On"))
    apache = Service("apache2", ["apache2", "-f", conf, "-DFOREGROUND"], tmp)
    return stack.launch((fpm_svc, sock), (apache, ("127.0.0.1", port)))
