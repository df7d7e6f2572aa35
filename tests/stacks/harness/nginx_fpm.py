"""nginx in front of php-fpm over FastCGI, set up as Debian's snippets/fastcgi-php.conf does.

nginx keeps its default proxy buffering on: the emitter's `X-Accel-Buffering: no` header is
what must turn it off. With `tls=True` it listens with TLS and HTTP/2 (self-signed cert).
The benchmarks (bench/lib/benchlib.py) start the same stack, sized for thousands of streams
(`nginx_workers`, `worker_connections`, `backlog`, `rlimit_nofile`), with `quiet_logs` (no access
log, warnings and worse only), their servers' argv wrapped (`wrap`: a priority, a CPU set), or
another FastCGI server in php-fpm's place (`upstream`).
"""
import subprocess
from pathlib import Path

from . import fpm
from .procs import Service, free_port
from .stack import WWW, Stack, make_tmp


def self_signed_cert(tmp: Path) -> tuple:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def nginx_conf(tmp: Path, port: int, sock: Path, tls: bool, fastcgi_read_timeout: str,
               root: Path, front_controller: bool, fastcgi_params: dict, worker_connections: int = 256,
               sndbuf: int = 0, nginx_workers: int = 1, backlog: int = 0, quiet_logs: bool = False,
               rlimit_nofile: int = 0) -> Path:
    if tls:
        cert, key = self_signed_cert(tmp)
        listen = f"listen 127.0.0.1:{port} ssl http2;\n        ssl_certificate {cert};\n" \
                 f"        ssl_certificate_key {key};"
    else:
        # `sndbuf`: a small send buffer toward clients, for tests of clients that stop reading.
        listen = f"listen 127.0.0.1:{port}{f' sndbuf={sndbuf}' if sndbuf else ''}" \
                 f"{f' backlog={backlog}' if backlog else ''}{' reuseport' if nginx_workers > 1 else ''};"
    # A framework's front controller gets every path that is not a file, as its docs show.
    front = "location / { try_files $uri /index.php$is_args$args; }" if front_controller else ""
    params = "\n            ".join(f"fastcgi_param {k} {v};" for k, v in fastcgi_params.items())
    conf = tmp / "nginx.conf"
    conf.write_text(f"""\
daemon off;
master_process on;
worker_processes {nginx_workers};
{f"worker_rlimit_nofile {rlimit_nofile};" if rlimit_nofile else ""}
user root;
pid {tmp / 'nginx.pid'};
error_log {tmp / 'nginx-error.log'} {'warn' if quiet_logs else 'info'};
events {{ worker_connections {worker_connections}; }}
http {{
    include /etc/nginx/mime.types;
    access_log {'off' if quiet_logs else tmp / 'nginx-access.log'};
    client_body_temp_path {tmp / 'client_body'};
    fastcgi_temp_path {tmp / 'fastcgi_temp'};
    proxy_temp_path {tmp / 'proxy_temp'};
    uwsgi_temp_path {tmp / 'uwsgi_temp'};
    scgi_temp_path {tmp / 'scgi_temp'};
    # As Debian's nginx.conf: gzip for text/html only, so it never touches event streams.
    gzip on;
    server {{
        {listen}
        server_name localhost;
        root {root};
        index index.html;
        {front}        location ~ \\.php$ {{
            # Debian's snippets/fastcgi-php.conf, with its include made absolute.
            fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
            try_files $fastcgi_script_name =404;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            include /etc/nginx/fastcgi.conf;
            fastcgi_pass unix:{sock};
            # An idle stream must write (heartbeat) more often than this; see FINDINGS.md
            fastcgi_read_timeout {fastcgi_read_timeout};
            {params}
        }}
    }}
}}
""")
    return conf


def start(name: str = "nginx-fpm", ini: dict | None = None, tls: bool = False,
          fastcgi_read_timeout: str = "60s", request_terminate_timeout: int = 0,
          root: Path = WWW, front_controller: bool = False, fastcgi_params: dict | None = None,
          children: int = fpm.CHILDREN, pool_extra: str = "", extension: bool = True,
          worker_connections: int = 256, sndbuf: int = 0, fpm_global: str = "", nginx_workers: int = 1,
          backlog: int = 0, quiet_logs: bool = False, rlimit_nofile: int = 0, wrap=None, upstream=None) -> Stack:
    """`wrap(argv)`: the argv each server is started with; `upstream(socket)`: the argv of a
    FastCGI server to start in php-fpm's place, on the same socket."""
    tmp = make_tmp(name)
    port = free_port()
    fpm_svc, sock = fpm.service(tmp, ini, request_terminate_timeout, children, pool_extra, extension,
                                fpm_global)
    wrap = wrap or (lambda argv: argv)
    if upstream:
        fpm_svc = Service("upstream", upstream(sock), tmp)
    fpm_svc.argv = [str(a) for a in wrap(fpm_svc.argv)]
    stack = Stack(name=name, port=port, tmp=tmp, services=[fpm_svc], scheme="https" if tls else "http",
                  http2=tls, workers=children, ends_response_at_close=True,
                  zlib=bool(ini and ini.get("zlib.output_compression") == "On"), compresses_html=True)
    try:
        conf = nginx_conf(tmp, port, sock, tls, fastcgi_read_timeout, root, front_controller,
                          {k: str(v).format(tmp=tmp) for k, v in (fastcgi_params or {}).items()},
                          worker_connections, sndbuf, nginx_workers, backlog, quiet_logs, rlimit_nofile)
    except BaseException:
        stack.stop()
        raise
    nginx = Service("nginx", wrap(["nginx", "-e", tmp / "nginx-error.log", "-c", conf]), tmp)
    return stack.launch((fpm_svc, sock), (nginx, ("127.0.0.1", port)))
